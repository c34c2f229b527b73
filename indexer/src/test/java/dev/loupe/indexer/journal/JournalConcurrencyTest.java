package dev.loupe.indexer.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many threads ingesting, syncing and compacting at once leave a journal that reopens as it was. */
class JournalConcurrencyTest {
  static final long SEED = 0x10_0e;

  @TempDir
  Path tmp;

  @Test
  void concurrent_ingests_syncs_and_compactions_keep_a_consistent_journal() throws Exception {
    Path dir = tmp.resolve("journal");
    int threads = 4, filesPerThread = 300;
    List<PathInfo> files;
    List<ContentInfo> contents;
    try (IngestJournal j = IngestJournal.open(dir, 8192);
         ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          SplittableRandom random = new SplittableRandom(SEED + thread);
          for (int i = 0; i < filesPerThread; i++) {
            Path p = tmp.resolve("w").resolve("t" + thread + "-" + i + ".pdf");
            // Threads share contents, so one thread's ingest is another's copy.
            String sha = IngestJournalTest.sha("shared " + random.nextInt(200));
            Decision d = j.hashed(p, sha, i, i);
            if (d.action() == Action.INGEST) {
              ingest(j, sha, random);
            }
            if (random.nextInt(10) == 0) {
              j.removed(p);
            }
            if (random.nextInt(50) == 0) {
              for (Work.Delete w : j.collectOrphans()) {
                j.sync();
                // A path may have taken the content back while it was being deleted.
                if (j.purged(w.sha()).isPresent()) {
                  ingest(j, w.sha(), random);
                }
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      files = j.files();
      contents = j.contents();
      JournalStatus status = j.status();
      assertEquals(files.size(), status.files());
      assertEquals(status.files(), status.done(), "every content was finished by the thread that got INGEST");
      assertEquals(contents.stream().filter(c -> c.state() == ContentState.DONE).mapToLong(ContentInfo::bound).sum(), status.items());
      for (ContentInfo c : contents) {
        for (String path : c.paths()) {
          assertEquals(c.sha(), j.path(Path.of(path)).orElseThrow().sha());
        }
      }
    }
    try (IngestJournal reopened = IngestJournal.open(dir)) {
      assertEquals(files, reopened.files());
      assertEquals(contents, reopened.contents());
    }
  }

  private static void ingest(IngestJournal j, String sha, SplittableRandom random) throws java.io.IOException {
    j.reserve(sha, 4);
    j.sync();
    j.done(sha, 1 + random.nextInt(4), "pdf");
  }
}
