package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash test: the ingester runs in a child JVM over a folder of texts, images, PDFs
 * and duplicates, is killed with SIGKILL at a seeded point (after a random commit, plus a random
 * spin into the next file, reservation or commit), and is restarted until a run finishes; then
 * every file is indexed exactly once, with no duplicate or orphan item, and the thumbnails match
 * the visual items.
 */
class IngestCrashTest {
  @TempDir
  Path tmp;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {7, 2024, 31_337})
  void every_file_is_indexed_exactly_once_after_kills(long seed) throws Exception {
    System.out.println("IngestCrashTest seed " + seed);
    SplittableRandom random = new SplittableRandom(seed);
    Path folder = Files.createDirectories(tmp.resolve("inbox")).toRealPath();
    Path data = tmp.resolve("data");
    for (int i = 0; i < 10; i++) {
      IngestFiles.text(folder.resolve("t/" + i + ".txt"), IngestFiles.words(seed + i, 40 + random.nextInt(400)));
    }
    for (int i = 0; i < 6; i++) {
      IngestFiles.image(folder.resolve("i/" + i + ".png"), "png", 32 + random.nextInt(64), 32 + random.nextInt(64), seed * 31 + i);
    }
    for (int i = 0; i < 2; i++) {
      IngestFiles.pdf(folder.resolve("p/" + i + ".pdf"), IngestFiles.words(seed - i, 80), IngestFiles.words(seed + 100 + i, 60), seed + i);
    }
    Files.copy(folder.resolve("t/0.txt"), folder.resolve("copy-of-0.txt"));
    Files.copy(folder.resolve("i/0.png"), folder.resolve("copy-of-0.png"));

    int kills = 0;
    boolean finished = false;
    for (int run = 0; run < 12 && !finished; run++) {
      boolean kill = run < 3;
      finished = runChild(folder, data, kill ? 1 + random.nextInt(5) : -1, random, seed, run);
      if (!finished) kills++;
      if (run == 0) {
        change(folder, random); // between crashes: modified, deleted, moved and copied files
      }
    }
    assertTrue(finished, "seed " + seed + ": a run finished");
    assertTrue(kills > 0, "seed " + seed + ": at least one run was killed");
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      assertEquals(0, rig.embedded(), "seed " + seed + ": nothing left to embed after the finished run");
      rig.checkExactlyOnce(folder);
      assertEquals(0, rig.journal.status().pending() + rig.journal.status().orphans() + rig.journal.status().deleting(),
          rig.journal.status().toString());
    }
  }

  /** Runs the child; kills it after commit {@code killAfter} (never when negative). True when it finished. */
  /** Modifies two text files, deletes an image, moves a PDF and copies a text file. */
  private static void change(Path folder, SplittableRandom random) throws IOException {
    for (String name : List.of("t/1.txt", "t/2.txt")) {
      Path p = folder.resolve(name);
      FileTime before = Files.getLastModifiedTime(p);
      Files.writeString(p, IngestFiles.words(random.nextLong(), 30 + random.nextInt(200)));
      Files.setLastModifiedTime(p, FileTime.fromMillis(before.toMillis() + 2_000));
    }
    Files.delete(folder.resolve("i/1.png"));
    Files.move(folder.resolve("p/0.pdf"), folder.resolve("moved.pdf"));
    Files.copy(folder.resolve("t/3.txt"), folder.resolve("copy-of-3.txt"));
  }

  private static boolean runChild(Path folder, Path data, int killAfter, SplittableRandom random, long seed, int run)
      throws IOException, InterruptedException {
    Process child = new ProcessBuilder(
            ProcessHandle.current().info().command().orElseThrow(),
            "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
            "-cp", System.getProperty("java.class.path"),
            IngestChild.class.getName(), folder.toString(), data.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    boolean finished = false;
    String recovered = "?";
    try (var out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("RECOVERED ")) {
          recovered = line.substring(10);
        }
        if (line.startsWith("END")) {
          finished = true;
          break;
        }
        if (killAfter > 0 && line.startsWith("COMMIT ") && Integer.parseInt(line.substring(7)) >= killAfter) {
          for (int spin = random.nextInt(3_000_000); spin > 0; spin--) {
            Thread.onSpinWait();
          }
          break;
        }
      }
    } finally {
      child.destroyForcibly(); // SIGKILL on Linux
      child.waitFor(60, TimeUnit.SECONDS);
    }
    System.out.println("IngestCrashTest seed " + seed + ": run " + run + " found " + recovered + " unfinished content(s) at start and "
        + (finished ? "finished" : "was killed after commit " + killAfter));
    return finished;
  }
}
