package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.SessionOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe convert}, {@code loupe generate} and {@code loupe chat} through {@link Main}, in process with
 * captured streams, on the real stories260K model from {@code ../shared/testdata} (those tests are skipped where it
 * is absent), and their command-line errors.
 */
class LlmCommandTest {
  private static final Map<String, String> ENV = Map.of("HOME", "/home/ada");
  @TempDir static Path dir;
  static Path model;

  private record Result(int code, String out, String err) {
    String firstErrLine() {
      return err.lines().findFirst().orElse("");
    }
  }

  private static Result withStdin(String stdin, String... args) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, ENV, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e);
    }
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Result run(String... args) throws Exception {
    return withStdin("", args);
  }

  /** {@code ../shared/testdata/<relative>} beside the repository, or null. */
  private static Path shared(String relative) {
    String root = System.getProperty("loupe.repo.root");
    Path repo = root == null || root.isBlank() ? Path.of("").toAbsolutePath().getParent() : Path.of(root).toAbsolutePath();
    Path p = repo.resolveSibling("shared").resolve("testdata").resolve(relative).normalize();
    return Files.exists(p) ? p : null;
  }

  @BeforeAll
  static void convert() throws Exception {
    Path checkpoint = shared("models/stories260K/stories260K.bin");
    Path tokenizer = shared("models/stories260K/tok512.bin");
    if (checkpoint == null || tokenizer == null) {
      return;
    }
    Path out = dir.resolve("stories260K.gguf");
    Result r = run("convert", "llama2c", "--checkpoint", checkpoint.toString(), "--tokenizer", tokenizer.toString(), "--out",
        out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("wrote " + out + " (F32, "), r.out());
    model = out;
  }

  private static Path stories() {
    assumeTrue(model != null, "skipped: ../shared/testdata/models/stories260K is absent (the shared test data lives beside"
        + " the repository)");
    return model;
  }

  @Test
  void generate_streams_the_engines_greedy_text_to_stdout_and_statistics_to_stderr() throws Exception {
    Path gguf = stories();
    Result r = run("generate", "--model", gguf.toString(), "--prompt", "Once upon a time", "--temperature", "0",
        "--max-tokens", "40", "--threads", "1", "--kv", "f32");
    assertEquals(0, r.code(), r.err());
    String expected;
    try (Model m = Model.load(gguf, ModelOptions.threads(1))) {
      expected = new Generator(m.newSession(SessionOptions.of(512).withKvCacheType(KvCacheType.F32)), m.tokenizer())
          .generate(m.tokenizer().encode("Once upon a time", true, false), GenerationOptions.greedy(40)).text();
    }
    assertEquals(expected + System.lineSeparator(), r.out());
    assertTrue(r.err().contains("prompt tokens at") && r.err().contains("40 generated at") && r.err().contains("(max tokens)"),
        r.err());
  }

  @Test
  void generate_runs_q8_activations_by_default_and_fp32_on_request_printing_what_the_engine_generates() throws Exception {
    Path q4 = dir.resolve("stories260K-q4_0-activations.gguf");
    assertEquals(0, run("convert", "quantize", "--model", stories().toString(), "--out", q4.toString(), "--type", "q4_0").code());
    for (var mode : dev.loupe.llm.tensor.ActivationMode.values()) {
      if (mode == dev.loupe.llm.tensor.ActivationMode.GGML) continue; // a test mode, not a CLI choice
      java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("generate", "--model", q4.toString(),
          "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "30", "--threads", "1", "--kv", "f32"));
      if (mode == dev.loupe.llm.tensor.ActivationMode.FP32) args.addAll(java.util.List.of("--activations", "fp32"));
      Result r = run(args.toArray(String[]::new));
      assertEquals(0, r.code(), r.err());
      String expected;
      try (Model m = Model.load(q4, ModelOptions.threads(1).withActivationMode(mode))) {
        expected = new Generator(m.newSession(SessionOptions.of(512).withKvCacheType(KvCacheType.F32)), m.tokenizer())
            .generate(m.tokenizer().encode("Once upon a time", true, false), GenerationOptions.greedy(30)).text();
      }
      assertEquals(expected + System.lineSeparator(), r.out(), mode.toString());
    }
  }

  @Test
  void generate_with_a_quantized_draft_prints_the_same_text_and_the_acceptance_rate() throws Exception {
    Path gguf = stories();
    Path draft = dir.resolve("stories260K-q4_0.gguf");
    Result q = run("convert", "quantize", "--model", gguf.toString(), "--out", draft.toString(), "--type", "q4_0");
    assertEquals(0, q.code(), q.err());
    assertTrue(q.out().contains("31 matrices quantized, 5 kept in their type"), q.out());
    String[] common = {"generate", "--model", gguf.toString(), "--prompt", "Lily and Tom", "--temperature", "0",
        "--max-tokens", "60", "--threads", "1"};
    Result plain = run(common);
    Result speculative = run(concat(common, "--draft", draft.toString(), "--draft-tokens", "3"));
    assertEquals(0, speculative.code(), speculative.err());
    assertEquals(plain.out(), speculative.out());
    Matcher m = Pattern.compile("draft stories260K-q4_0.gguf: (\\d+) of (\\d+) draft tokens accepted \\(acceptance rate")
        .matcher(speculative.err());
    assertTrue(m.find(), speculative.err());
    assertTrue(Integer.parseInt(m.group(1)) > 0, speculative.err());
  }

  @Test
  void generate_with_a_json_schema_prints_a_document_of_the_schema_for_each_seed() throws Exception {
    Path gguf = stories();
    Path schema = dir.resolve("person.json");
    Files.writeString(schema, """
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}, "age": {"type": "integer"},
         "pet": {"enum": ["cat", "dog"]}}, "required": ["name", "age", "pet"]}
        """);
    for (int seed = 1; seed <= 4; seed++) {
      Result r = run("generate", "--model", gguf.toString(), "--prompt", "Tom is", "--json-schema", schema.toString(),
          "--seed", String.valueOf(seed), "--max-tokens", "300", "--threads", "1");
      assertEquals(0, r.code(), r.err());
      JsonNode doc = new ObjectMapper().readTree(r.out());
      assertTrue(doc.get("name").isTextual() && doc.get("age").isIntegralNumber()
          && List.of("cat", "dog").contains(doc.get("pet").asText()), r.out());
    }
  }

  @Test
  void chat_keeps_the_cache_between_turns_and_prefills_only_the_new_tokens() throws Exception {
    Path gguf = stories();
    Result r = withStdin("Hello there\nWhat did the cat do?\n/reset\nHello there\n/quit\nnever read\n", "chat", "--model",
        gguf.toString(), "--system", "You tell stories.", "--verbose", "--temperature", "0", "--max-tokens", "24",
        "--threads", "1");
    assertEquals(0, r.code(), r.err());
    List<String> answers = r.out().lines().toList();
    assertEquals(3, answers.size(), r.out());
    assertEquals(answers.get(0), answers.get(2), "after /reset the same message gets the same greedy answer");
    Matcher m = Pattern.compile("\\[prefill (\\d+) new tokens \\((\\d+) cached\\)").matcher(r.err());
    int[][] turns = new int[3][];
    for (int i = 0; i < 3; i++) {
      assertTrue(m.find(), r.err());
      turns[i] = new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }
    assertEquals(0, turns[0][1], r.err());
    assertTrue(turns[1][1] >= turns[0][0], "the follow-up reuses the first turn's tokens: " + r.err());
    assertTrue(turns[1][0] < turns[1][1], "the follow-up prefills fewer tokens than it keeps: " + r.err());
    assertEquals(0, turns[2][1], "after /reset nothing is cached: " + r.err());
    assertTrue(r.err().contains("(conversation reset)"), r.err());
  }

  @Test
  void each_command_prints_its_usage_on_help() throws Exception {
    for (String command : List.of("generate", "chat")) {
      Result r = run(command, "--help");
      assertEquals(0, r.code());
      assertTrue(r.out().startsWith("Usage: loupe " + command + " --model FILE"), r.out());
    }
    Result r = run("convert", "--help");
    assertEquals(0, r.code());
    assertTrue(r.out().startsWith("Usage: loupe convert llama2c"), r.out());
    assertTrue(run("help").out().contains("generate --model FILE --prompt TEXT"));
  }

  @Test
  void bad_flags_are_one_line_then_the_usage_with_exit_code_2() throws Exception {
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--bogus"),
        "loupe generate: unknown option '--bogus' for generate", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf"), "loupe generate: generate needs --prompt", "Usage: loupe generate");
    assertUsage(run("generate", "--prompt", "x"), "loupe generate: generate needs --model", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--temperature", "hot"),
        "loupe generate: --temperature 'hot' is not a number", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--top-p", "2"),
        "loupe generate: --top-p 2.0 must be in (0, 1] (1 keeps every token)", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--kv", "q8"),
        "loupe generate: --kv 'q8' is not f32 or f16", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--activations", "int4"),
        "loupe generate: --activations 'int4' is not fp32 or q8", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--max-tokens", "0"),
        "loupe generate: --max-tokens 0 must be at least 1", "Usage: loupe generate");
    assertUsage(run("generate", "--model", "m.gguf", "--prompt", "x", "--draft-tokens", "3"),
        "loupe generate: --draft-tokens and --draft-adaptive need --draft FILE", "Usage: loupe generate");
    assertUsage(run("chat", "--model", "m.gguf", "--prompt", "x"), "loupe chat: unknown option '--prompt' for chat",
        "Usage: loupe chat");
    assertUsage(run("chat", "--model"), "loupe chat: option --model needs a value", "Usage: loupe chat");
    assertUsage(run("convert", "gguf"), "loupe convert: unknown convert source 'gguf'; expected llama2c or quantize",
        "Usage: loupe convert");
    assertUsage(run("convert", "llama2c", "--checkpoint", "a.bin", "--out", "b.gguf"),
        "loupe convert: convert llama2c needs --tokenizer", "Usage: loupe convert");
    assertUsage(run("convert", "quantize", "--model", "a.gguf", "--out", "b.gguf", "--type", "q3"),
        "loupe convert: --type 'q3' is not one of f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k", "Usage: loupe convert");
  }

  @Test
  void missing_model_files_are_named_with_exit_code_1() throws Exception {
    Path missing = dir.resolve("no-such-model.gguf");
    Result g = run("generate", "--model", missing.toString(), "--prompt", "x");
    assertEquals(1, g.code(), g.err());
    assertEquals("loupe generate: no model file at " + missing + "; give the path of a .gguf file (loupe convert makes one)",
        g.firstErrLine());
    Result c = withStdin("", "chat", "--model", missing.toString());
    assertEquals(1, c.code());
    assertTrue(c.firstErrLine().startsWith("loupe chat: no model file at " + missing), c.err());
    Result v = run("convert", "llama2c", "--checkpoint", missing.toString(), "--tokenizer", "t.bin", "--out",
        dir.resolve("x.gguf").toString());
    assertEquals(1, v.code());
    assertEquals("loupe convert: no file at " + missing, v.firstErrLine());
    Path notGguf = dir.resolve("notes.txt");
    Files.writeString(notGguf, "not a model");
    Result bad = run("generate", "--model", notGguf.toString(), "--prompt", "x");
    assertEquals(1, bad.code());
    assertTrue(bad.firstErrLine().startsWith("loupe generate: cannot load the model " + notGguf), bad.err());
    assertEquals(1, bad.err().lines().count(), bad.err());
  }

  @Test
  void a_model_whose_weight_copies_exceed_the_direct_memory_limit_is_refused_naming_the_flag() throws Exception {
    assumeTrue(dev.loupe.llm.tensor.WeightMatrix.kernelsName().contains("512-bit"),
        "skipped: Q4_0 weights are copied off-heap (interleaved) only with 512-bit vectors, not with "
            + dev.loupe.llm.tensor.WeightMatrix.kernelsName());
    Path q4 = dir.resolve("stories260K-q4_0-direct.gguf");
    assertEquals(0, run("convert", "quantize", "--model", stories().toString(), "--out", q4.toString(), "--type", "q4_0").code());
    // a JVM of its own: the limit is a JVM flag (./loupe raises it to the machine's memory)
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:MaxDirectMemorySize=16k", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "generate", "--model", q4.toString(), "--prompt", "x", "--max-tokens", "1")
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(1, p.waitFor(), err);
    assertTrue(err.contains("loupe generate: cannot load the model " + q4 + ": no room for the "), err);
    assertTrue(err.contains("raise it with -XX:MaxDirectMemorySize"), err);
    assertTrue(err.lines().noneMatch(l -> l.startsWith("\tat ") || l.startsWith("Exception in thread")), "no stack trace: " + err);
  }

  @Test
  void a_draft_model_of_another_vocabulary_is_refused_naming_both_files() throws Exception {
    Path gguf = stories();
    Path other = dir.resolve("other-vocab.gguf");
    // The same model with one token renamed stands for a model of another family.
    try (dev.loupe.llm.gguf.GgufFile in = dev.loupe.llm.gguf.GgufFile.open(gguf)) {
      dev.loupe.llm.gguf.GgufWriter w = new dev.loupe.llm.gguf.GgufWriter();
      for (var e : in.metadata().entrySet()) {
        var type = in.valueType(e.getKey()).orElseThrow();
        if (type == dev.loupe.llm.gguf.GgufValueType.ARRAY) {
          Object value = e.getValue();
          if (e.getKey().equals("tokenizer.ggml.tokens")) {
            String[] tokens = ((String[]) value).clone();
            tokens[300] = "▁zzz";
            value = tokens;
          }
          w.putArray(e.getKey(), in.arrayElementType(e.getKey()).orElseThrow(), value);
        } else {
          w.put(e.getKey(), type, e.getValue());
        }
      }
      for (var t : in.tensors()) {
        w.addTensor(t.name(), t.type(), t.dims(), t.data());
      }
      w.write(other);
    }
    Result r = run("generate", "--model", gguf.toString(), "--prompt", "x", "--draft", other.toString());
    assertEquals(1, r.code(), r.err());
    assertTrue(r.firstErrLine().startsWith("loupe generate: the draft " + other + " names token 300 '▁zzz' where the model "
        + gguf + " has '"), r.err());
  }

  private static void assertUsage(Result r, String firstLine, String usage) {
    assertEquals(2, r.code(), r.err());
    assertEquals(firstLine, r.firstErrLine());
    assertTrue(r.err().contains(usage), r.err());
    assertEquals("", r.out());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
