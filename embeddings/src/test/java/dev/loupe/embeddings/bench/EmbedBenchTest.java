package dev.loupe.embeddings.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedding benchmark's harness on a tiny generated model: its figures exist and add up, not that they are fast. */
class EmbedBenchTest {

  private record Output(int code, String out, String err) {}

  private static Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = EmbedBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void reports_images_and_texts_against_the_measured_matmul_rate(@TempDir Path dir) throws Exception {
    Path tokenizer = TestData.shared("tokenizers/clip-vit-b32/tokenizer.json");
    Output o = run("--shape", "tiny", "--images", "6", "--texts", "6", "--batch", "4", "--threads", "1",
        "--tokenizer", tokenizer.toString(), "--dir", dir.toString());
    assertEquals(0, o.code(), o.err());
    List<String> lines = o.out().lines().toList();
    JsonNode json = new ObjectMapper().readTree(lines.getLast());
    assertEquals("embed", json.get("benchmark").asText());
    double gflops = json.get("matmul_gflops").asDouble();
    assertTrue(gflops > 0, lines.getLast());
    for (String kind : List.of("images", "texts")) {
      JsonNode r = json.get(kind);
      assertEquals(6, r.get("count").asInt(), kind);
      double perItem = r.get("gflops_per_item").asDouble();
      assertTrue(perItem > 0, kind);
      // The fraction is what it claims to be: throughput times work over the measured rate.
      double expected = r.get("per_s_batched").asDouble() * perItem / gflops;
      assertEquals(expected, r.get("fraction_of_bound_batched").asDouble(), 0.01 + expected * 0.01, kind);
    }
    // The generated model stays in --dir and is reused by the next run.
    Output again = run("--shape", "tiny", "--images", "2", "--texts", "0", "--threads", "1", "--tokenizer", tokenizer.toString(), "--dir", dir.toString());
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("reusing the generated model"), again.out());
  }

  @Test
  void flop_counts_match_the_published_vit_b32_figure() {
    // CLIP ViT-B/32 is quoted at about 4.4 GMACs per 224x224 image, 8.8 GFLOPs.
    assertEquals(8.8, TransformerModels.visionFlops(TransformerModels.VIT_B32_VISION) / 1e9, 0.1);
  }

  @Test
  void rejects_bad_flags_naming_them() throws Exception {
    for (String[] args : List.of(
        new String[] {"--batch", "0"},
        new String[] {"--shape", "huge"},
        new String[] {"--images", "x"},
        new String[] {"--bogus"},
        new String[] {"--batch"})) {
      Output o = run(args);
      assertEquals(2, o.code(), String.join(" ", args));
      assertTrue(o.err().contains("usage: loupe bench embed"), o.err());
      String offending = args.length > 1 ? args[args.length - 1] : args[0];
      assertTrue(o.err().contains(offending), "'" + offending + "' not named in: " + o.err());
    }
  }
}
