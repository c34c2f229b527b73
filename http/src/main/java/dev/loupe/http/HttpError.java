package dev.loupe.http;

/**
 * A failure with its own HTTP status and a message for the client ({@link Api#error} sends it
 * as is, even for 5xx statuses such as 503 "model not installed").
 */
final class HttpError extends RuntimeException {
  private final int status;

  HttpError(int status, String message) {
    super(message);
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status " + status + " is not an error status");
    }
    this.status = status;
  }

  int status() {
    return status;
  }
}
