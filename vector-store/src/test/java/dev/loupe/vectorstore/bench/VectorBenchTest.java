package dev.loupe.vectorstore.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark harness on a tiny data set: its figures are produced and consistent, not fast. */
class VectorBenchTest {

  private record Output(int code, String out, String err) {}

  private static Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = VectorBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void reports_every_index_with_a_json_line_last() throws Exception {
    Output o = run("--n", "600", "--dim", "16", "--queries", "30", "--k", "5", "--threads", "2", "--ef", "10,40");
    assertEquals(0, o.code(), o.err());
    List<String> lines = o.out().lines().toList();
    String json = lines.getLast();
    assertTrue(json.startsWith("{\"benchmark\":\"vectors\""), json);
    for (String index : List.of("flat-f32", "flat-f16", "flat-i8", "hnsw", "jvector")) {
      assertTrue(json.contains("\"index\":\"" + index + "\""), index + " missing from " + json);
    }
    assertTrue(json.contains("\"ef_sweep\":[{\"ef_search\":10"), json);
    // The exact scan is the oracle of the recall figures, so it must find everything.
    Matcher flat = Pattern.compile("\"index\":\"flat-f32\".*?\"recall_at_k\":([0-9.]+)").matcher(json);
    assertTrue(flat.find(), json);
    assertEquals(1.0, Double.parseDouble(flat.group(1)));
    Matcher bandwidth = Pattern.compile("\"memory_bandwidth_gbps\":([0-9.]+)").matcher(json);
    assertTrue(bandwidth.find() && Double.parseDouble(bandwidth.group(1)) > 0, json);
    assertTrue(json.contains("\"fraction_of_memory_bandwidth\""), json);
    // fp32 also against the bandwidth read beside each stretch of queries: 7 rounds of 5 (30 queries).
    Matcher interleaved = Pattern.compile(
        "\"index\":\"flat-f32\".*?\"interleaved\":\\{\"rounds\":7,\"queries_per_round\":5,\"scan_gbps\":\\[([0-9.,]+)\\]"
            + ",\"memory_bandwidth_gbps\":\\[([0-9.,]+)\\],\"fraction_median\":([0-9.]+)").matcher(json);
    assertTrue(interleaved.find(), json);
    assertEquals(7, interleaved.group(1).split(",").length, json);
    assertEquals(7, interleaved.group(2).split(",").length, json);
    assertTrue(Double.parseDouble(interleaved.group(3)) > 0, json);
    assertEquals(1, json.split("\"interleaved\"", -1).length - 1, "fp32 only: " + json);
  }

  @Test
  void reuse_searches_the_index_a_previous_run_built(@TempDir Path dir) throws Exception {
    String[] common = {"--n", "500", "--dim", "16", "--queries", "20", "--k", "5", "--index", "hnsw", "--dir", dir.toString()};
    Output built = run(common);
    assertEquals(0, built.code(), built.err());
    assertTrue(built.out().lines().toList().getLast().contains("\"build_s\""), built.out());

    String[] again = Arrays.copyOf(common, common.length + 2);
    again[common.length] = "--reuse";
    again[common.length + 1] = "true";
    Output reused = run(again);
    assertEquals(0, reused.code(), reused.err());
    String json = reused.out().lines().toList().getLast();
    assertTrue(json.contains("\"reused\":true"), json);
    assertFalse(json.contains("\"build_s\""), json);
    assertEquals(recall(built.out().lines().toList().getLast()), recall(json));

    // A different --n is a different data set: refused rather than measured against the wrong truth.
    again[1] = "400";
    Output wrong = run(again);
    assertEquals(2, wrong.code());
    assertTrue(wrong.err().contains("holds 500 vectors, not --n 400"), wrong.err());
  }

  private static double recall(String json) {
    Matcher m = Pattern.compile("\"recall_at_k\":([0-9.]+)").matcher(json);
    assertTrue(m.find(), json);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void rejects_bad_flags_naming_them() throws Exception {
    for (String[] args : List.of(
        new String[] {"--n", "ten"},
        new String[] {"--bogus"},
        new String[] {"--index", "faiss"},
        new String[] {"--dtype", "f64"},
        new String[] {"--n", "5", "--k", "10"},
        new String[] {"--ef", "3"},
        new String[] {"--hnsw-quantized", "yes"},
        new String[] {"--hnsw-m", "0"},
        new String[] {"--reuse", "true"},
        new String[] {"--n"})) {
      Output o = run(args);
      assertEquals(2, o.code(), String.join(" ", args));
      assertTrue(o.err().contains("usage: loupe bench vectors"), o.err());
      String offending = args.length > 1 ? args[args.length - 1] : args[0];
      assertTrue(o.err().contains(offending), "'" + offending + "' not named in: " + o.err());
    }
  }
}
