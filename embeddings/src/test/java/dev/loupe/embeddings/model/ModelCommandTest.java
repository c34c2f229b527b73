package dev.loupe.embeddings.model;

import static dev.loupe.embeddings.model.Fixtures.FAST;
import static dev.loupe.embeddings.model.Fixtures.REVISION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe models}: its grammar, exit codes, output, and the progress display. */
class ModelCommandTest {

  @TempDir Path data;

  /** One run with its exit code and captured output. */
  private record Result(int code, String out, String err) {
    String firstErrLine() {
      return err.lines().findFirst().orElse("");
    }
  }

  private static Result run(ModelCatalog catalog, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = ModelCommand.run(args, o, e, catalog, FAST, false);
    }
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Result run(String... args) {
    return run(ModelCatalog.builtIn(), args);
  }

  private static void assertUsageError(Result r, String firstLine) {
    assertEquals(2, r.code(), r.err());
    assertEquals(firstLine, r.firstErrLine());
    assertTrue(r.err().contains("Usage: loupe models <command>"), r.err());
    assertEquals("", r.out());
  }

  @Test
  void bad_command_lines_are_named_and_exit_2() {
    assertUsageError(run(), "loupe models: no command given; expected list, pull, import, verify or remove");
    assertUsageError(run("--data", "/d", "fetch"), "loupe models: unknown command 'fetch'");
    assertUsageError(run("--data", "/d", "pull"), "loupe models: pull needs a model name: pull NAME");
    assertUsageError(run("--data", "/d", "import"), "loupe models: import needs a folder: import DIR");
    assertUsageError(run("--data", "/d", "remove", "a", "b"), "loupe models: unexpected argument 'b' for remove");
    assertUsageError(run("--data", "/d", "list", "--fast"), "loupe models: unknown option '--fast'");
    assertUsageError(run("list", "--data"), "loupe models: option --data needs a value");
    assertUsageError(run("--data", "/d", "pull", "x", "--name", "y"), "loupe models: option --name is for import only");
    assertUsageError(run("--data", "/d", "list", "--trust-on-first-use"),
        "loupe models: option --trust-on-first-use is for pull and import only");
    assertUsageError(run("list"), "loupe models: models needs the data folder: --data DIR");
  }

  @Test
  void help_prints_the_usage_and_exits_0() {
    Result r = run("help");

    assertEquals(0, r.code());
    assertTrue(r.out().startsWith("Usage: loupe models <command>"), r.out());
  }

  @Test
  void list_on_a_fresh_data_folder_shows_the_catalog_as_not_installed() {
    Result r = run("list", "--data", data.toString());

    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.getFirst().matches("NAME\\s+FAMILY\\s+DIM\\s+SIZE\\s+STATUS"), lines.getFirst());
    assertTrue(lines.get(1).matches("clip-vit-b32\\s+clip\\s+512\\s+155\\.8 MB\\s+not installed"), lines.get(1));
    assertTrue(lines.get(2).matches("clip-vit-l14\\s+clip\\s+768\\s+\\?\\s+not installed \\(not pinned\\)"), lines.get(2));
    assertTrue(r.out().contains("models folder: " + data.resolve("models").toAbsolutePath()), r.out());
  }

  @Test
  void pull_installs_from_the_source_and_prints_plain_progress_lines_off_a_terminal() throws Exception {
    try (FileServer server = new FileServer()) {
      Map<String, byte[]> files = Fixtures.files(3);
      Fixtures.serve(server, files, REVISION);
      ModelCatalog catalog = ModelCatalog.of(List.of(Fixtures.manifest("tiny", server.base(), files)));

      Result r = run(catalog, "pull", "tiny", "--data=" + data);

      assertEquals(0, r.code(), r.err());
      assertTrue(r.out().startsWith("installed tiny in " + data.resolve("models/tiny").toAbsolutePath()
          + " (2 files, 320.0 kB, sha256 verified)"), r.out());
      assertTrue(r.err().contains("tiny: onnx/model.onnx (300.0 kB)"), r.err());
      assertTrue(r.err().lines().anyMatch(l -> l.startsWith("tiny  [########################] 100%  320.0 kB / 320.0 kB")), r.err());
      assertFalse(r.err().contains("\r"), "no carriage returns off a terminal");

      Result verify = run(catalog, "verify", "tiny", "--data", data.toString());
      assertEquals(0, verify.code(), verify.err());
      assertTrue(verify.out().startsWith("tiny: 2 files match their sha256"), verify.out());

      Result remove = run(catalog, "remove", "tiny", "--data", data.toString());
      assertEquals(0, remove.code(), remove.err());
      assertFalse(Files.exists(data.resolve("models/tiny")));
    }
  }

  @Test
  void failures_exit_1_with_the_reason() {
    Result unknown = run("pull", "gpt", "--data", data.toString());
    assertEquals(1, unknown.code());
    assertTrue(unknown.firstErrLine().startsWith("loupe models: unknown model 'gpt'; known models: clip-vit-b32"), unknown.err());

    Result notInstalled = run("remove", "clip-vit-b32", "--data", data.toString());
    assertEquals(1, notInstalled.code());
    assertEquals("loupe models: model clip-vit-b32 is not installed in " + data.resolve("models").toAbsolutePath(),
        notInstalled.firstErrLine());

    Result verify = run("verify", "clip-vit-b32", "--data", data.toString());
    assertEquals(1, verify.code());
    assertTrue(verify.firstErrLine().contains("run ./loupe models pull clip-vit-b32"), verify.err());

    Result unpinned = run("pull", "clip-vit-l14", "--data", data.toString());
    assertEquals(1, unpinned.code());
    assertTrue(unpinned.firstErrLine().contains("--trust-on-first-use"), unpinned.err());
  }

  @Test
  void on_a_terminal_the_progress_line_is_redrawn_in_place_with_rate_and_time_left() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    AtomicLong clock = new AtomicLong();
    try (PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      ProgressBar bar = new ProgressBar(err, true, "m", clock::get);
      bar.update("a.onnx", 0, 4_000_000, 0, 4_000_000);
      clock.set(1_000_000_000L);
      bar.update("a.onnx", 1_000_000, 4_000_000, 1_000_000, 4_000_000);
      bar.finish();
    }
    String text = bytes.toString(StandardCharsets.UTF_8);

    assertTrue(text.startsWith("\rm  [------------------------]   0%"), text);
    assertTrue(text.contains("\rm  [######------------------]  25%  1.0 MB / 4.0 MB  1.0 MB/s  ETA 0:03  a.onnx"), text);
    assertTrue(text.endsWith("\n"), "finish ends the line");
  }
}
