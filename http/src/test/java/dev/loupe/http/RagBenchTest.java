package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.bench.GeneratedClip;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe bench rag} at a tiny size (a few hundred generated items, the tiny generated CLIP
 * and llama shapes): it runs end to end and reports every figure; the figures themselves are for
 * a quiet machine, not for a test. Skipped where CLIP's tokenizer is not in the shared test data.
 */
class RagBenchTest {
  @TempDir Path tmp;

  @Test
  void a_tiny_run_reports_retrieval_first_token_split_follow_up_prefill_and_the_mid_answer_search() throws Exception {
    assumeTrue(GeneratedClip.findClipTokenizer() != null, "CLIP's tokenizer is not in ../shared/testdata; skipping bench rag");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int code = Main.run(new String[] {"bench", "rag", "--items", "300", "--queries", "5", "--warmup", "3", "--turns", "2", "--embedder", "tiny",
        "--llm", "tiny", "--source-tokens", "200", "--threads", "1", "--dir", tmp.toString(), "--seed", "11"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, text + err.toString(StandardCharsets.UTF_8));
    List<String> lines = text.lines().toList();
    JsonNode json = new ObjectMapper().readTree(lines.getLast());
    assertTrue(json.get("retrieval_ms").get("p99").asDouble() >= json.get("retrieval_ms").get("p50").asDouble(), json.toString());
    assertEquals(3, json.get("config").get("warmup").asInt());
    JsonNode turns = json.get("answer");
    assertEquals(2, turns.size());
    assertEquals(0, turns.get(0).get("cached_tokens").asInt());
    assertTrue(turns.get(1).get("cached_tokens").asInt() > turns.get(0).get("prefill_tokens").asInt() / 2, turns.toString());
    assertTrue(turns.get(1).get("prefill_tokens").asInt() < turns.get(0).get("prefill_tokens").asInt(), turns.toString());
    JsonNode mid = json.get("mid_answer_retrieval");
    assertTrue(mid.has("reprefill_whole_context_ms") || mid.has("note"), mid.toString());
  }

  @Test
  void bad_options_are_a_usage_error_naming_the_value() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"bench", "rag", "--llm", "7b"}, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--llm '7b' must be tiny, 100m or 1b"), err.toString(StandardCharsets.UTF_8));
  }
}
