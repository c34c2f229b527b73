package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.gpu.FakeCuda;
import dev.loupe.gpu.Gpu;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe bench gpu} end to end on the fake CUDA driver, at a tiny size. */
class GpuBenchTest {

  @Test
  void a_tiny_run_reports_bandwidth_latency_throughput_and_agreement_with_the_cpu_index() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    int code = GpuBench.run(List.of("--n", "3000", "--dim", "32", "--batch", "40", "--queries", "5", "--rounds", "2",
            "--check-rows", "1000", "--check-queries", "6", "--no-torch"), Gpu.probe(FakeCuda.library()),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    assertTrue(text.contains("single query: p50"), text);
    assertTrue(text.contains("batch of 40 queries, fp32 queries on the CUDA cores"), text);
    assertTrue(text.contains("batch of 40 queries, fp16 queries on the tensor cores"), text);
    assertTrue(text.contains("CPU exact index on the first 1,000 rows: 6 of 6 queries identical"), text);
    String json = text.strip().lines().reduce((a, b) -> b).orElseThrow();
    assertTrue(json.startsWith("{\"device\": \"Loupe fake CUDA device (CPU)\""), json);
    assertTrue(json.contains("\"check_identical\": 6"), json);
    assertTrue(json.contains("\"torch\": \"skipped: --no-torch\""), json);
  }

  @Test
  void without_a_gpu_it_says_why_and_exits_1() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = GpuBench.run(List.of(), Gpu.probe("/nonexistent/no-gpu-driver.so"), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    assertEquals(1, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("loupe bench gpu: no GPU to benchmark (CPU: /nonexistent/no-gpu-driver.so does not open"),
        err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void a_bad_option_is_named_with_the_usage() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = GpuBench.run(List.of("--k", "999"), Gpu.probe("/nonexistent/no-gpu-driver.so"), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));

    assertEquals(2, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("loupe bench gpu: --k 999 is outside [1, 256]"), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void the_vector_generator_is_the_one_the_python_peer_reimplements() {
    // Pinned from a Python transcription of gpu_bench_torch.py's hash32/values (struct 'e' is IEEE
    // half, round to nearest even like torch's fp32 -> fp16): the two sides build the same vectors.
    assertEquals(824515495L, GpuBench.hash32(1));
    assertEquals(1952335732L, GpuBench.hash32(123456789));
    assertEquals((short) 14287, GpuBench.value(0, 0, 42));
    assertEquals((short) 13298, GpuBench.value(7, 5, 42));
    assertEquals((short) 40036, GpuBench.value(9_999_999, 767, 1_000_045));
  }
}
