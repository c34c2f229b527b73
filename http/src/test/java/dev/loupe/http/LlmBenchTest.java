package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe bench llm} on a tiny random-weight model: both engines run and every figure is
 * printed and lands in the JSON line. The figures themselves are not asserted (a benchmark, not a
 * timed test); that they are positive is.
 */
class LlmBenchTest {
  private record Output(int code, String out, String err) {}

  private static Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void runs_both_engines_on_a_written_random_model_and_reports_every_figure(@TempDir Path cache) throws Exception {
    Output o = run("bench", "llm", "--random", "tiny", "--quant", "q8_0", "--threads", "2", "--prompt-tokens", "8",
        "--decode-tokens", "4", "--rounds", "2", "--cache", cache.toString());

    assertEquals(0, o.code(), o.out() + o.err());
    assertTrue(Files.isRegularFile(cache.resolve("random-llama-tiny-q8_0-s1.gguf")), o.out());
    for (String line : List.of("round 1:", "round 2:", "median prefill:", "median decode:", "decode bound:", "resident memory")) {
      assertTrue(o.out().contains(line), "no '" + line + "' in\n" + o.out());
    }
    JsonNode json = new ObjectMapper().readTree(o.out().lines().toList().getLast());
    for (String series : List.of("prefill_ours_tps", "prefill_llamacpp_tps", "decode_ours_tps", "decode_llamacpp_tps", "bandwidth_gbps")) {
      assertEquals(2, json.get(series).size(), series);
      json.get(series).forEach(v -> assertTrue(v.asDouble() > 0, series + " " + json));
    }
    assertTrue(json.get("decode_ratio_median").asDouble() > 0, json.toString());
    assertTrue(json.get("rss_gb").asDouble() > 0, json.toString());
  }

  @Test
  void a_second_run_reuses_the_written_model(@TempDir Path cache) throws Exception {
    String[] args = {"bench", "llm", "--random", "tiny", "--quant", "q4_0", "--threads", "1", "--prompt-tokens", "4",
        "--decode-tokens", "2", "--rounds", "1", "--activations", "q8", "--cache", cache.toString()};
    assertTrue(run(args).out().contains("writing "));

    Output again = run(args);

    assertEquals(0, again.code(), again.out() + again.err());
    assertTrue(!again.out().contains("writing "), again.out());
    assertTrue(again.out().contains("Q8 activations"), again.out());
  }

  @Test
  void rejects_a_model_and_a_random_shape_together_and_unknown_sizes() throws Exception {
    Output both = run("bench", "llm", "--model", "x.gguf", "--random", "1b");
    assertEquals(2, both.code());
    assertTrue(both.err().contains("--model x.gguf is not a file") || both.err().contains("either --model"), both.err());

    Output size = run("bench", "llm", "--random", "7b");
    assertEquals(2, size.code());
    assertTrue(size.err().contains("unknown random model size '7b'; expected 1b, 100m or tiny"), size.err());

    Output quant = run("bench", "llm", "--random", "tiny", "--quant", "q5_1");
    assertEquals(2, quant.code());
    assertTrue(quant.err().contains("--quant 'q5_1' must be q8_0, q4_0 or q4_k"), quant.err());

    Output activations = run("bench", "llm", "--random", "tiny", "--activations", "int4");
    assertEquals(2, activations.code());
    assertTrue(activations.err().contains("--activations 'int4' must be fp32, q8 or ggml"), activations.err());
  }
}
