package dev.loupe.indexer.journal;

import java.util.Objects;

/**
 * Why a file or a content failed.
 *
 * @param reason a short token to group failures by in the status ({@code corrupt},
 *     {@code encrypted}, {@code over_limit}, {@code io}...): not blank, no whitespace, at most
 *     {@value #MAX_REASON} characters
 * @param message the precise message, naming the file; longer than {@value #MAX_MESSAGE}
 *     characters is cut there with an ellipsis
 */
public record Failure(String reason, String message) {
  public static final int MAX_REASON = 64;
  public static final int MAX_MESSAGE = 2000;

  public Failure {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(message, "message");
    if (reason.isBlank() || reason.length() > MAX_REASON || reason.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("failure reason '" + reason
          + "' must be a non-blank token of at most " + MAX_REASON + " characters without whitespace");
    }
    if (message.length() > MAX_MESSAGE) {
      int cut = MAX_MESSAGE - 1;
      if (Character.isHighSurrogate(message.charAt(cut - 1))) {
        cut--;
      }
      message = message.substring(0, cut) + "…";
    }
  }
}
