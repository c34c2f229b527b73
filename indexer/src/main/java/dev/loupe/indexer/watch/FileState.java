package dev.loupe.indexer.watch;

import java.time.Instant;
import java.util.Objects;

/**
 * What the watcher compares to decide whether a file changed: its size and its modification
 * time, exactly as the file system gives them (nanoseconds on most Linux file systems).
 *
 * <p>A caller that keeps these, e.g. the ingest journal handing the watcher its known files at
 * start, must keep the instant at full precision (seconds and nanoseconds): a time rounded to
 * milliseconds never equals the file's again, so every file would be reported as changed at each
 * start.
 *
 * @param size size in bytes
 * @param modified last modification time
 */
public record FileState(long size, Instant modified) {
  public FileState {
    if (size < 0) throw new IllegalArgumentException("file size " + size + " is negative");
    Objects.requireNonNull(modified, "modified");
  }
}
