package dev.loupe.indexer;

import java.nio.file.Path;

/**
 * The crash test's child JVM: a one-shot ingest of {@code args[0]} with data in {@code args[1]},
 * printing {@code COMMIT n} after each index commit and {@code END} when done.
 */
public final class IngestChild {
  private IngestChild() {}

  public static void main(String[] args) throws Exception {
    Path folder = Path.of(args[0]), data = Path.of(args[1]);
    int[] commits = {0};
    int unfinished;
    try (var journal = dev.loupe.indexer.journal.IngestJournal.open(data.resolve("journal"))) {
      var status = journal.status();
      unfinished = status.pending() + status.deleting();
    }
    System.out.println("RECOVERED " + unfinished);
    IngestRig rig = new IngestRig(data, IngestRig.config(data).withCommitItems(4).withQueueCapacity(4),
        dev.loupe.indexer.extract.Extractors.standardList(), true);
    rig.ingester.afterCommit(() -> {
      System.out.println("COMMIT " + ++commits[0]);
      System.out.flush();
    });
    IngestSummary summary = rig.ingest(folder);
    rig.close();
    System.out.println("END " + summary.done());
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }
}
