package dev.loupe.indexer.journal;

import java.util.Objects;

/**
 * A file that failed, for the status listing.
 *
 * @param path the absolute path
 * @param sha its content's hash when the content failed, null when the file itself did
 * @param failure why
 */
public record FileFailure(String path, String sha, Failure failure) {
  public FileFailure {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(failure, "failure");
  }
}
