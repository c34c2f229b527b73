package dev.loupe.indexer;

import dev.loupe.indexer.journal.FileFailure;
import java.util.List;

/**
 * What a one-shot {@link Ingester#ingest} left for the paths it was given.
 *
 * @param files files under the paths the journal knows
 * @param done of those, files whose content is indexed
 * @param failed of those, files that failed
 * @param items index items of their contents, each content counted once
 * @param failures the failed files, sorted by path
 */
public record IngestSummary(int files, int done, int failed, long items, List<FileFailure> failures) {
  public IngestSummary {
    failures = List.copyOf(failures);
    if (files < 0 || done < 0 || failed < 0 || items < 0) {
      throw new IllegalArgumentException("negative count in ingest summary: files " + files + ", done " + done
          + ", failed " + failed + ", items " + items);
    }
  }
}
