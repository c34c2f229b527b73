package dev.loupe.indexer.journal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded sequence of pipeline calls on a journal: files created, touched, modified, copied,
 * moved, deleted and failing, ingests reserved and finished, orphans collected and purged, with a
 * sync now and then. Each step depends only on the seed and the journal's state, so two journals
 * driven by workloads of the same seed go through the same states.
 */
final class JournalWorkload {
  private static final int PATHS = 40, CONTENTS = 24;

  private final SplittableRandom random;
  private final Path root;
  private long clock = 1_000;

  JournalWorkload(long seed, Path root) {
    this.random = new SplittableRandom(seed);
    this.root = root;
  }

  /** Runs one step; true if the step was a sync (the caller syncs: the reference journal need not). */
  boolean step(IngestJournal j) {
    int op = random.nextInt(100);
    if (op < 10) {
      return true;
    }
    clock++;
    List<ContentInfo> pending = j.contents().stream().filter(c -> c.state() == ContentState.PENDING).toList();
    List<ContentInfo> deleting = j.contents().stream().filter(c -> c.state() == ContentState.DELETING).toList();
    List<PathInfo> files = j.files();
    if (op < 35) {
      j.hashed(path(random.nextInt(PATHS)), sha(random.nextInt(CONTENTS)), random.nextInt(3), clock);
    } else if (op < 45 && !pending.isEmpty()) {
      ContentInfo c = pending.get(random.nextInt(pending.size()));
      j.reserve(c.sha(), c.bound() + random.nextInt(1, 300));
    } else if (op < 58 && !pending.isEmpty()) {
      ContentInfo c = pending.get(random.nextInt(pending.size()));
      if (random.nextInt(5) == 0) {
        j.failed(c.sha(), "corrupt", "file " + c.paths() + " is corrupt");
      } else {
        j.done(c.sha(), random.nextInt(c.bound() + 1), "pdf");
      }
    } else if (op < 66 && !files.isEmpty()) {
      j.removed(Path.of(files.get(random.nextInt(files.size())).path()));
    } else if (op < 72 && !files.isEmpty()) {
      j.moved(Path.of(files.get(random.nextInt(files.size())).path()), path(random.nextInt(PATHS)));
    } else if (op < 78) {
      j.collectOrphans();
    } else if (op < 86 && !deleting.isEmpty()) {
      j.purged(deleting.get(random.nextInt(deleting.size())).sha());
    } else if (op < 90) {
      j.unreadable(path(random.nextInt(PATHS)), 7, clock, "io", "permission denied");
    } else if (op < 94) {
      j.retry(path(random.nextInt(PATHS)));
    } else {
      j.observe(path(random.nextInt(PATHS)), 1, clock);
    }
    return false;
  }

  private Path path(int i) {
    return root.resolve("dir" + (i % 5)).resolve("file " + i + ".pdf");
  }

  static String sha(int i) {
    return IngestJournalTest.sha("content " + i);
  }

  /** The child JVM: runs the workload on the journal in {@code args[0]} and reports each sync. */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    int steps = Integer.parseInt(args[2]);
    JournalWorkload workload = new JournalWorkload(seed, Path.of("/watched"));
    IngestJournal journal = IngestJournal.open(dir, 2048); // compacts often
    for (int i = 0; i < steps; i++) {
      if (workload.step(journal)) {
        journal.sync();
        System.out.println("SYNCED " + (i + 1));
      }
    }
    journal.sync();
    System.out.println("SYNCED " + steps);
    System.out.println("END");
    Runtime.getRuntime().halt(0);
  }
}
