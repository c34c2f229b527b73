package dev.loupe.indexer.journal;

import java.util.Objects;

/**
 * What the journal knows of one file.
 *
 * @param path the absolute path, as a string
 * @param sha its content's hash (lowercase hex SHA-256), or null when the file itself failed
 *     (could not be read or hashed)
 * @param size its size in bytes when it was last hashed (or failed)
 * @param mtime its modification time at that moment, in nanoseconds since the epoch ({@link
 *     IngestJournal#mtime}); a whole number of milliseconds when recorded by a version that kept
 *     milliseconds
 * @param failure the file's own failure when {@code sha} is null, else null (a content's failure
 *     is on its {@link ContentInfo})
 */
public record PathInfo(String path, String sha, long size, long mtime, Failure failure) {
  public PathInfo {
    Objects.requireNonNull(path, "path");
    if ((sha == null) == (failure == null)) {
      throw new IllegalArgumentException("path " + path + " must have either a content hash or a failure, not "
          + (sha == null ? "neither" : "both"));
    }
  }
}
