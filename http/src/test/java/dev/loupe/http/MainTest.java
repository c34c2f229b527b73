package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code loupe} command line: parsing, defaults, and exit code 2 with a clear line. */
class MainTest {

  private static final Map<String, String> ENV = Map.of("HOME", "/home/ada");

  /** One run of {@link Main#run} with its exit code and captured output. */
  private record Result(int code, String out, String err) {
    String firstErrLine() {
      return err.lines().findFirst().orElse("");
    }
  }

  private static Result run(String... args) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, ENV, o, e);
    }
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static void assertUsageError(Result r, String expectedFirstLine) {
    assertEquals(2, r.code(), r.err());
    assertEquals(expectedFirstLine, r.firstErrLine());
    assertTrue(r.err().contains("Usage: loupe <command>"), r.err());
    assertEquals("", r.out());
  }

  private static ServerConfig parseServe(Map<String, String> env, String... args) {
    return assertInstanceOf(Command.Serve.class, Command.parse(List.of(args), env)).config();
  }

  @Test
  void an_unknown_flag_is_named_and_exits_2() throws Exception {
    assertUsageError(run("serve", "--bogus"), "loupe: unknown option '--bogus' for serve");
  }

  @Test
  void a_port_that_is_not_a_number_is_named_and_exits_2() throws Exception {
    assertUsageError(run("serve", "--port", "abc"), "loupe: port 'abc' is not a number");
  }

  @Test
  void a_port_out_of_range_is_named_and_exits_2() throws Exception {
    assertUsageError(run("serve", "--port", "70000"), "loupe: port 70000 is outside [0, 65535]");
    assertUsageError(run("serve", "--port=-1"), "loupe: port -1 is outside [0, 65535]");
  }

  @Test
  void an_unknown_command_is_named_and_exits_2() throws Exception {
    assertUsageError(run("frobnicate"), "loupe: unknown command 'frobnicate'");
  }

  @Test
  void no_command_exits_2() throws Exception {
    assertUsageError(run(), "loupe: no command given");
  }

  @Test
  void a_flag_without_its_value_exits_2() throws Exception {
    assertUsageError(run("serve", "--port"), "loupe: option --port needs a value");
    assertUsageError(
        run("serve", "--data", "--port", "1"), "loupe: option --data needs a value");
  }

  @Test
  void a_stray_argument_to_serve_exits_2() throws Exception {
    assertUsageError(run("serve", "now"), "loupe: unexpected argument 'now' for serve");
  }

  @Test
  void a_non_loopback_host_is_refused_in_one_line_while_no_api_key_exists() throws Exception {
    Result r = run("serve", "--host", "0.0.0.0");

    assertEquals(2, r.code());
    assertTrue(r.firstErrLine().startsWith("loupe: host '0.0.0.0' is not a loopback address"), r.err());
    assertTrue(r.firstErrLine().contains("run ./loupe keys create"), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void bench_needs_the_vectors_target() throws Exception {
    assertUsageError(run("bench"), "loupe: bench needs a target: loupe bench vectors|embed|ingest|http|llm|rag|gpu");
    assertUsageError(run("bench", "graphs"), "loupe: unknown bench target 'graphs'; expected vectors, embed, ingest, http, llm, rag or gpu");
  }

  @Test
  void help_prints_usage_and_exits_0() throws Exception {
    Result r = run("help");

    assertEquals(0, r.code());
    assertTrue(r.out().startsWith("Usage: loupe <command>"), r.out());
    assertEquals("", r.err());
  }

  @Test
  void version_prints_the_project_version() throws Exception {
    Result r = run("version");

    assertEquals(0, r.code());
    assertEquals("loupe " + Version.NUMBER, r.out().strip());
    assertTrue(Version.NUMBER.startsWith("0."), Version.NUMBER);
  }

  @Test
  void serve_defaults_to_loopback_port_8080_and_the_xdg_data_folder() {
    ServerConfig config = parseServe(ENV, "serve");

    assertEquals("127.0.0.1", config.host());
    assertEquals(8080, config.port());
    assertEquals(Path.of("/home/ada/.local/share/loupe"), config.dataDir());
    assertEquals(Path.of("/home/ada/.local/share/loupe/inbox"), config.watchDirs().getFirst());
  }

  @Test
  void loupe_data_wins_over_xdg_data_home_which_wins_over_home() {
    assertEquals(
        Path.of("/srv/loupe"),
        parseServe(Map.of("LOUPE_DATA", "/srv/loupe", "XDG_DATA_HOME", "/xdg", "HOME", "/h"), "serve")
            .dataDir());
    assertEquals(
        Path.of("/xdg/loupe"),
        parseServe(Map.of("XDG_DATA_HOME", "/xdg", "HOME", "/h"), "serve").dataDir());
    assertEquals(
        Path.of("/h/.local/share/loupe"),
        parseServe(Map.of("XDG_DATA_HOME", "relative/xdg", "HOME", "/h"), "serve").dataDir());
  }

  @Test
  void serve_accepts_every_flag_in_both_spellings() {
    ServerConfig config =
        parseServe(ENV, "serve", "--data", "/d", "--watch=/w", "--port=0", "--host", "::1");

    assertEquals(new ServerConfig("::1", 0, Path.of("/d"), Path.of("/w")), config);
  }

  @Test
  void the_watch_folder_follows_an_explicit_data_folder() {
    assertEquals(Path.of("/d/inbox"), parseServe(ENV, "serve", "--data", "/d").watchDirs().getFirst());
  }

  @Test
  void models_gets_the_default_data_folder_unless_the_command_line_names_one() {
    assertEquals(
        new Command.Models(List.of("--data", "/home/ada/.local/share/loupe", "pull", "clip-vit-b32")),
        Command.parse(List.of("models", "pull", "clip-vit-b32"), ENV));
    assertEquals(
        new Command.Models(List.of("list", "--data=/d")),
        Command.parse(List.of("models", "list", "--data=/d"), ENV));
    assertEquals(
        new Command.Models(List.of("--data", "/srv/loupe", "list")),
        Command.parse(List.of("models", "list"), Map.of("LOUPE_DATA", "/srv/loupe")));
  }

  @Test
  void a_bad_models_command_line_exits_2_with_the_models_usage() throws Exception {
    Result r = run("models", "fetch");

    assertEquals(2, r.code(), r.err());
    assertEquals("loupe models: unknown command 'fetch'", r.firstErrLine());
    assertTrue(r.err().contains("Usage: loupe models <command>"), r.err());
  }

  @Test
  void models_list_reads_the_models_folder_of_the_data_folder(@TempDir Path data) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(new String[] {"models", "list"}, Map.of("LOUPE_DATA", data.toString()), o, e);
    }

    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    String listing = out.toString(StandardCharsets.UTF_8);
    assertTrue(listing.lines().anyMatch(l -> l.matches("clip-vit-b32\\s+clip\\s+512\\s+.*not installed")), listing);
    assertTrue(listing.contains("models folder: " + data.resolve("models")), listing);
  }

  @Test
  void help_lists_the_models_command() throws Exception {
    assertTrue(run("help").out().contains("models list | pull NAME | import DIR"), Command.USAGE);
  }

  @Test
  void bench_vectors_passes_the_rest_through_untouched() {
    assertEquals(
        new Command.BenchVectors(List.of("--n", "1000", "--bogus")),
        Command.parse(List.of("bench", "vectors", "--n", "1000", "--bogus"), ENV));
  }

  @Test
  void bench_embed_adds_the_default_data_folder_unless_given() {
    assertEquals(
        new Command.BenchEmbed(List.of("--model", "clip-vit-b32", "--data", "/home/ada/.local/share/loupe")),
        Command.parse(List.of("bench", "embed", "--model", "clip-vit-b32"), ENV));
    assertEquals(
        new Command.BenchEmbed(List.of("--data", "/x", "--batch", "4")),
        Command.parse(List.of("bench", "embed", "--data", "/x", "--batch", "4"), ENV));
  }

  @Test
  void bench_embed_names_a_bad_flag() throws Exception {
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    int code = Main.run(new String[] {"bench", "embed", "--batch", "zero"},
        new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
        new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(2, code);
    String message = err.toString(java.nio.charset.StandardCharsets.UTF_8);
    org.junit.jupiter.api.Assertions.assertTrue(message.contains("--batch 'zero' is not a whole number"), message);
  }

  @Test
  void serve_takes_several_watch_folders() {
    ServerConfig config = parseServe(ENV, "serve", "--data", "/d", "--watch", "/w1", "--watch", "/w2", "--watch", "/w1");
    assertEquals(List.of(Path.of("/w1"), Path.of("/w2")), config.watchDirs());
  }
}
