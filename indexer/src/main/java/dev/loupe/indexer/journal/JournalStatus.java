package dev.loupe.indexer.journal;

import java.util.Map;

/**
 * Counts for the pipeline's status, by file (path) except {@code items}, {@code contents},
 * {@code orphans} and {@code deleting}.
 *
 * @param files paths the journal knows
 * @param pending files whose content is being ingested or waits to be
 * @param done files whose content is indexed
 * @param failed files that failed, themselves or through their content
 * @param failedByReason {@code failed} split by {@link Failure#reason()}
 * @param items items indexed, each content counted once however many files have it
 * @param contents distinct contents
 * @param orphans indexed contents no file has any more, not yet retired
 * @param deleting contents whose items are being deleted
 */
public record JournalStatus(
    int files, int pending, int done, int failed, Map<String, Integer> failedByReason,
    long items, int contents, int orphans, int deleting) {
  public JournalStatus {
    failedByReason = Map.copyOf(failedByReason);
  }
}
