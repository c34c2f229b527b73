package dev.loupe.indexer;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * A snapshot of the ingest pipeline for the CLI's status line and the browser: counts by file
 * (path), except {@code items}. Read with {@link Ingester#status()} from any thread.
 *
 * @param state running, paused or stopped
 * @param seen files the journal knows (every file seen in the watched folders and not deleted since)
 * @param hashing files being hashed (one at a time, on the watcher's thread)
 * @param queued files waiting for an extraction worker
 * @param extracting files being extracted
 * @param embedding files extracted and waiting for their embeddings
 * @param writing files embedded and waiting for the index writer and its commit
 * @param pending files the journal holds as not finished (the stages above, plus files whose
 *     content is ingested under another path); the basis of the ETA
 * @param done files whose content is indexed and committed
 * @param failed files that failed, themselves or through their content
 * @param failedByReason {@code failed} split by reason ({@code corrupt}, {@code encrypted},
 *     {@code over_limit}, {@code unsupported}, {@code io}, {@code error})
 * @param items index items committed, each content counted once
 * @param filesPerSecond files finished per second over the last {@value Ingester#RATE_WINDOW_SECONDS} seconds
 * @param itemsPerSecond items committed per second over the same window
 * @param eta time to finish the pending files at that rate; null when nothing is pending or the
 *     rate is not known yet
 */
public record IngestStatus(
    State state,
    int seen,
    int hashing,
    int queued,
    int extracting,
    int embedding,
    int writing,
    int pending,
    int done,
    int failed,
    Map<String, Integer> failedByReason,
    long items,
    double filesPerSecond,
    double itemsPerSecond,
    Duration eta) {

  /** Whether the pipeline takes new files. */
  public enum State {
    /** Taking and processing files. */
    RUNNING,
    /** {@link Ingester#pause()}d: files in flight finish, no new one starts. */
    PAUSED,
    /** Closed. */
    STOPPED
  }

  public IngestStatus {
    Objects.requireNonNull(state, "state");
    failedByReason = Map.copyOf(failedByReason);
    if (seen < 0 || hashing < 0 || queued < 0 || extracting < 0 || embedding < 0 || writing < 0 || pending < 0 || done < 0 || failed < 0 || items < 0) {
      throw new IllegalArgumentException("negative count in ingest status: seen " + seen + ", hashing " + hashing + ", queued " + queued + ", extracting "
          + extracting + ", embedding " + embedding + ", writing " + writing + ", pending " + pending + ", done " + done
          + ", failed " + failed + ", items " + items);
    }
  }

  /** Whether every file seen is done or failed. */
  public boolean idle() {
    return pending == 0 && hashing == 0 && queued == 0 && extracting == 0 && embedding == 0 && writing == 0;
  }
}
