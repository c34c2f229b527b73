package dev.loupe.indexer.journal;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A child JVM drives a journal through a seeded workload and is killed with SIGKILL at a seeded
 * moment; the reopened journal must hold exactly the state after some prefix of the workload that
 * includes every step synced before the kill.
 */
class JournalCrashTest {
  static final int STEPS = 6000;

  @TempDir
  Path tmp;

  record State(List<PathInfo> files, List<ContentInfo> contents) {
    static State of(IngestJournal j) {
      return new State(j.files(), j.contents());
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 42, 20260522, 7_777_777})
  void a_journal_killed_at_a_random_moment_reopens_with_a_prefix_holding_every_synced_change(long seed) throws Exception {
    System.out.println("JournalCrashTest seed " + seed);
    SplittableRandom random = new SplittableRandom(seed);
    int killAfter = 100 + random.nextInt(STEPS - 1500);
    Path dir = tmp.resolve("journal");
    Process child = new ProcessBuilder(
            ProcessHandle.current().info().command().orElseThrow(),
            "-cp", System.getProperty("java.class.path"),
            JournalWorkload.class.getName(), dir.toString(), Long.toString(seed), Integer.toString(STEPS))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    int lastSynced = 0;
    boolean ended = false;
    try (var out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("SYNCED ")) {
          lastSynced = Integer.parseInt(line.substring(7));
          if (lastSynced >= killAfter) {
            for (int spin = random.nextInt(3_000_000); spin > 0; spin--) {
              Thread.onSpinWait(); // let the child run into its next steps, syncs or compactions
            }
            break;
          }
        } else if (line.equals("END")) {
          ended = true;
        }
      }
    } finally {
      child.destroyForcibly();
      child.waitFor(60, TimeUnit.SECONDS);
    }
    assertTrue(lastSynced >= killAfter || ended, "seed " + seed + ": the child stopped after step " + lastSynced);

    State recovered;
    try (IngestJournal j = IngestJournal.open(dir)) {
      recovered = State.of(j);
      j.recover(); // the recovered state is one the pipeline can resume from
    }
    try (IngestJournal reference = IngestJournal.open(tmp.resolve("reference"))) {
      JournalWorkload workload = new JournalWorkload(seed, Path.of("/watched"));
      for (int step = 0; step <= STEPS; step++) {
        if (step >= lastSynced && State.of(reference).equals(recovered)) {
          System.out.println("JournalCrashTest seed " + seed + ": killed after sync of step " + lastSynced
              + ", reopened at step " + step + " with " + recovered.files().size() + " files and "
              + recovered.contents().size() + " contents");
          return;
        }
        if (step < STEPS) {
          workload.step(reference);
        }
      }
    }
    fail("seed " + seed + ": the reopened journal matches no state of the workload from step " + lastSynced + " on");
  }
}
