package dev.loupe.indexer.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The journal's protocol against a real index: a folder of files (with duplicates) is ingested by
 * {@link MiniPipeline} in a child JVM killed with SIGKILL at a seeded commit, the folder is then
 * modified, moved around, copied and pruned, a second child is killed too, and a last run must
 * leave the index holding each distinct content's items exactly once: none missing, none
 * duplicated, none orphaned.
 */
class ExactlyOnceTest {
  @TempDir
  Path tmp;

  Path folder, data;
  SplittableRandom random;
  int fileCounter;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {3, 1234, 99_991})
  void every_file_is_indexed_exactly_once_after_kills_and_changes(long seed) throws Exception {
    System.out.println("ExactlyOnceTest seed " + seed);
    random = new SplittableRandom(seed);
    folder = Files.createDirectories(tmp.resolve("watched"));
    data = tmp.resolve("data");
    for (int i = 0; i < 40; i++) {
      create();
    }
    copy(8);
    runAndKill(seed);
    change();
    runAndKill(seed);
    change();
    try (MiniPipeline last = new MiniPipeline(folder, data, () -> {})) {
      last.run();
      check(last);
    }
    try (MiniPipeline again = new MiniPipeline(folder, data, () -> {})) {
      again.run();
      assertEquals(0, again.added, "seed " + seed + ": an unchanged folder is never embedded again");
      check(again);
    }
  }

  private void runAndKill(long seed) throws Exception {
    int killAfter = 1 + random.nextInt(12);
    Process child = new ProcessBuilder(
            ProcessHandle.current().info().command().orElseThrow(),
            "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"),
            MiniPipeline.class.getName(), folder.toString(), data.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD) // the vectorization log lines
        .start();
    int commits = 0;
    try (var out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("COMMIT ") && (commits = Integer.parseInt(line.substring(7))) >= killAfter) {
          for (int spin = random.nextInt(2_000_000); spin > 0; spin--) {
            Thread.onSpinWait(); // into the next file, reservation or commit
          }
          break;
        }
      }
    } finally {
      child.destroyForcibly();
      child.waitFor(60, TimeUnit.SECONDS);
    }
    System.out.println("ExactlyOnceTest seed " + seed + ": killed after commit " + commits + " (aimed at " + killAfter + ")");
  }

  /** Modifies, deletes, moves, copies and adds a few files. */
  private void change() throws IOException {
    List<Path> files = files();
    for (int i = 0; i < 4 && !files.isEmpty(); i++) { // modified in place
      Path p = files.get(random.nextInt(files.size()));
      FileTime before = Files.getLastModifiedTime(p);
      Files.write(p, bytes());
      Files.setLastModifiedTime(p, FileTime.fromMillis(before.toMillis() + 2_000));
    }
    for (int i = 0; i < 3; i++) { // deleted
      files = files();
      Files.delete(files.get(random.nextInt(files.size())));
    }
    for (int i = 0; i < 4; i++) { // moved or renamed, time kept
      files = files();
      Path from = files.get(random.nextInt(files.size()));
      Path to = folder.resolve("moved-" + (fileCounter++) + ".bin");
      Files.move(from, to);
    }
    copy(3);
    for (int i = 0; i < 3; i++) {
      create();
    }
  }

  private void create() throws IOException {
    Path dir = Files.createDirectories(folder.resolve("d" + random.nextInt(4)));
    Files.write(dir.resolve("f" + (fileCounter++) + ".bin"), bytes());
  }

  private void copy(int n) throws IOException {
    for (int i = 0; i < n; i++) {
      List<Path> files = files();
      Path from = files.get(random.nextInt(files.size()));
      Files.copy(from, folder.resolve("copy-" + (fileCounter++) + ".bin"));
    }
  }

  private byte[] bytes() {
    byte[] b = new byte[16 + random.nextInt(48)];
    random.nextBytes(b);
    return b;
  }

  private List<Path> files() throws IOException {
    try (Stream<Path> walk = Files.walk(folder)) {
      return new ArrayList<>(walk.filter(Files::isRegularFile).sorted().toList());
    }
  }

  private void check(MiniPipeline p) throws IOException {
    Map<String, List<String>> pathsByContent = new TreeMap<>();
    for (Path f : files()) {
      pathsByContent.computeIfAbsent(MiniPipeline.sha256(f), k -> new ArrayList<>()).add(f.toString());
    }
    int expectedItems = 0;
    for (var e : pathsByContent.entrySet()) {
      String sha = e.getKey();
      int n = MiniPipeline.itemCount(sha);
      expectedItems += n;
      for (int i = 0; i < n; i++) {
        assertTrue(p.index.contains(IngestJournal.itemId(sha, i)), "item " + i + " of " + e.getValue() + " is missing");
      }
      ContentInfo info = p.journal.content(sha).orElseThrow();
      assertEquals(ContentState.DONE, info.state(), sha);
      assertEquals(n, info.bound());
      assertEquals(e.getValue(), info.paths(), "the files listed under " + sha);
    }
    assertEquals(expectedItems, p.index.size(), "items in the index (more would be duplicates or orphans)");
    JournalStatus status = p.journal.status();
    assertEquals(files().size(), status.files());
    assertEquals(files().size(), status.done());
    assertEquals(pathsByContent.size(), status.contents());
    assertEquals(0, status.pending() + status.orphans() + status.deleting() + status.failed(), status.toString());
  }
}
