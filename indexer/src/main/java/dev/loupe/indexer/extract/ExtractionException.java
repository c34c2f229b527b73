package dev.loupe.indexer.extract;

/**
 * A file that cannot be extracted. The message names the file and says precisely why; the
 * {@link Reason} lets the ingester decide (a file over a limit or encrypted is not retried until it
 * changes, like a corrupt one).
 */
public final class ExtractionException extends Exception {

  /** Why a file failed. */
  public enum Reason {
    CORRUPT,
    ENCRYPTED,
    UNSUPPORTED,
    OVER_LIMIT
  }

  private final Reason reason;

  public ExtractionException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public ExtractionException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
