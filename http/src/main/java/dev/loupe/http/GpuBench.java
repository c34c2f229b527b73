package dev.loupe.http;

import dev.loupe.gpu.DeviceBuffer;
import dev.loupe.gpu.ExactSearch;
import dev.loupe.gpu.Gpu;
import dev.loupe.gpu.GpuContext;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.flat.FlatVectorIndex;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code loupe bench gpu}: exact search over {@code N × D} fp16 vectors (default 10M × 768, the
 * scale of the NanoDB figure) on device 0 with the {@link ExactSearch} kernels:
 *
 * <ul>
 *   <li>device copy bandwidth (device-to-device, read + write bytes over time) and the bandwidth
 *       bound of one scan ({@code N · D · 2} bytes over that bandwidth);
 *   <li>single-query latency p50 / p99 (host clock, query upload to results on the host) against
 *       that bound;
 *   <li>batched throughput at {@code --batch} queries (default 1,024), and the same with PyTorch
 *       ({@code matmul} + {@code topk} on the same data, generated on the GPU by the same hash;
 *       skipped with a message when {@code python3} has no {@code torch} or no CUDA);
 *   <li>the device's top-k against the CPU exact index ({@link FlatVectorIndex}, fp16) on the
 *       first {@code --check-rows} rows, for {@code --check-queries} queries.
 * </ul>
 *
 * Vectors are a pure function of (row, component, seed) ({@link #value}), so Java and Python build
 * identical data without sharing a file. The last line printed is one JSON object. Runs from the
 * self-contained bundle of {@code scripts/gpu-bundle.sh} (its {@link #main} is the entry), which
 * carries only the JDK and Loupe's gpu-kernels, vector-store and http jars.
 */
final class GpuBench {
  static final String USAGE = "usage: loupe bench gpu [--n N] [--dim D] [--k K] [--batch B] [--queries Q] [--rounds R]"
      + " [--check-rows N] [--check-queries Q] [--seed S] [--no-torch] [--python PATH]";
  private static final long MASK = 0xFFFFFFFFL;

  record Config(long n, int dim, int k, int batch, int queries, int rounds, int checkRows, int checkQueries, long seed,
      boolean torch, String python) {
    Config {
      if (n < 1 || n > Integer.MAX_VALUE) throw new IllegalArgumentException("--n " + n + " is outside [1, " + Integer.MAX_VALUE + "]");
      if (dim < 1 || dim > IndexSpec.MAX_DIMENSION) throw new IllegalArgumentException("--dim " + dim + " is outside [1, " + IndexSpec.MAX_DIMENSION + "]");
      if (k < 1 || k > ExactSearch.MAX_K) throw new IllegalArgumentException("--k " + k + " is outside [1, " + ExactSearch.MAX_K + "]");
      if (batch < 1 || batch > 65_536) throw new IllegalArgumentException("--batch " + batch + " is outside [1, 65536]");
      if (queries < 1 || queries > 100_000) throw new IllegalArgumentException("--queries " + queries + " is outside [1, 100000]");
      if (rounds < 1 || rounds > 1000) throw new IllegalArgumentException("--rounds " + rounds + " is outside [1, 1000]");
      if (checkRows < 0 || checkQueries < 0) {
        throw new IllegalArgumentException("--check-rows " + checkRows + " and --check-queries " + checkQueries + " must not be negative");
      }
      if (seed < 0 || seed > Integer.MAX_VALUE) throw new IllegalArgumentException("--seed " + seed + " is outside [0, " + Integer.MAX_VALUE + "]");
    }
  }

  private GpuBench() {}

  /** Entry of the self-contained bundle: {@code loupe-gpu bench gpu ARGS} runs this with ARGS. */
  public static void main(String[] args) {
    System.exit(run(List.of(args), Gpu.detect(), System.out, System.err));
  }

  static int run(List<String> args, Gpu.Detection detection, PrintStream out, PrintStream err) {
    Config c;
    try {
      if (args.contains("--help") || args.contains("-h")) {
        out.println(USAGE);
        return 0;
      }
      c = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench gpu: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (!(detection instanceof Gpu.Available gpu)) {
      err.println("loupe bench gpu: no GPU to benchmark (" + detection.describe() + ")");
      return 1;
    }
    try {
      out.println(json(new Run(c, gpu, out, err).run()));
      return 0;
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
      err.println("loupe bench gpu: " + e.getMessage());
      return 1;
    }
  }

  static Config parse(List<String> args) {
    long n = 10_000_000L, seed = 42;
    int dim = 768, k = 10, batch = 1024, queries = 200, rounds = 5, checkRows = 100_000, checkQueries = 16;
    boolean torch = true;
    String python = "python3";
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--no-torch")) {
        torch = false;
        continue;
      }
      if (i + 1 >= args.size()) throw new IllegalArgumentException("option " + a + " needs a value");
      String v = args.get(++i);
      try {
        switch (a) {
          case "--n" -> n = Long.parseLong(v.replace("_", "").replace(",", ""));
          case "--dim" -> dim = Integer.parseInt(v);
          case "--k" -> k = Integer.parseInt(v);
          case "--batch" -> batch = Integer.parseInt(v);
          case "--queries" -> queries = Integer.parseInt(v);
          case "--rounds" -> rounds = Integer.parseInt(v);
          case "--check-rows" -> checkRows = Integer.parseInt(v);
          case "--check-queries" -> checkQueries = Integer.parseInt(v);
          case "--seed" -> seed = Long.parseLong(v);
          case "--python" -> python = v;
          default -> throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("option " + a + " needs a number, got '" + v + "'", e);
      }
    }
    return new Config(n, dim, k, batch, queries, rounds, checkRows, checkQueries, seed, torch, python);
  }

  /** A 32-bit integer hash (lowbias32's shape); the Python peer computes the same on int64 tensors. */
  static long hash32(long x) {
    x = ((x >>> 16) ^ x) * 0x45D9F3BL & MASK;
    x = ((x >>> 16) ^ x) * 0x45D9F3BL & MASK;
    return (x >>> 16) ^ x;
  }

  /** Component {@code i} of row {@code row}: uniform in [-1, 1), rounded to fp16 (as its bits). */
  static short value(long row, int i, long seed) {
    long r = hash32((row + seed) & MASK);
    long x = hash32((r + i * 0x9E3779B1L) & MASK);
    return Float.floatToFloat16((float) (x / 4294967296.0 * 2.0 - 1.0));
  }

  private static final class Run {
    private final Config c;
    private final Gpu.Available gpu;
    private final PrintStream out, err;
    private final Map<String, Object> result = new LinkedHashMap<>();

    Run(Config c, Gpu.Available gpu, PrintStream out, PrintStream err) {
      this.c = c;
      this.gpu = gpu;
      this.out = out;
      this.err = err;
    }

    Map<String, Object> run() throws IOException, InterruptedException {
      int n = (int) c.n(), dim = c.dim();
      long dataBytes = (long) n * dim * 2;
      out.println(gpu.describe());
      result.put("device", gpu.device().name());
      result.put("compute_capability", gpu.device().computeCapability());
      result.put("n", n);
      result.put("dim", dim);
      result.put("k", c.k());
      result.put("data_gb", dataBytes / 1e9);
      if (dataBytes + 4L * n > gpu.device().totalMemory() * 0.85) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%,d x %d fp16 (%.1f GB) does not fit in the %.1f GB of %s; pass a smaller --n",
            n, dim, dataBytes / 1e9, gpu.device().totalMemory() / 1e9, gpu.device().name()));
      }
      try (GpuContext ctx = GpuContext.open(gpu); ExactSearch search = new ExactSearch(ctx);
          DeviceBuffer data = ctx.allocate(ExactSearch.paddedRows(n) * dim * 2); DeviceBuffer norms = ctx.allocate(4L * n)) {
        result.put("kernels", search.moduleName());
        data.fill(dataBytes, data.bytes() - dataBytes, (byte) 0); // the tensor-core kernel reads the padding rows
        upload(ctx, data, norms);
        double bandwidth = copyBandwidth(ctx, data);
        double boundMs = dataBytes / bandwidth * 1e3;
        result.put("copy_bandwidth_gbs", bandwidth / 1e9);
        result.put("bound_ms", boundMs);
        out.printf(Locale.ROOT, "device copy bandwidth %.0f GB/s: one scan of %.2f GB is bound by %.2f ms%n", bandwidth / 1e9,
            dataBytes / 1e9, boundMs);

        ExactSearch.Rows rows = new ExactSearch.Rows(ExactSearch.Element.F16, data, null, norms, null, n, dim);
        float[][] queries = queries(Math.max(c.batch(), c.queries()));
        for (int w = 0; w < 3; w++) {
          search.search(rows, new float[][] {queries[w % queries.length]}, ExactSearch.Metric.DOT, null, c.k());
        }
        double[] single = new double[c.queries()];
        for (int q = 0; q < c.queries(); q++) {
          long t = System.nanoTime();
          search.search(rows, new float[][] {queries[q]}, ExactSearch.Metric.DOT, null, c.k());
          single[q] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(single);
        double p50 = single[single.length / 2], p99 = single[Math.min(single.length - 1, (int) (0.99 * single.length))];
        result.put("single_p50_ms", p50);
        result.put("single_p99_ms", p99);
        result.put("single_p50_over_bound", p50 / boundMs);
        out.printf(Locale.ROOT, "single query: p50 %.2f ms, p99 %.2f ms (%.2fx the bound)%n", p50, p99, p50 / boundMs);

        float[][] batch = Arrays.copyOf(queries, c.batch());
        double qps = 0;
        ExactSearch.Result batchResult = null;
        for (ExactSearch.Precision precision : ExactSearch.Precision.values()) {
          boolean tensor = ExactSearch.usesTensorCores(rows, batch.length, c.k(), precision);
          if (precision == ExactSearch.Precision.TENSOR_CORES && !tensor) {
            out.println("batch on the tensor cores: not applicable (needs a batch of " + ExactSearch.MMA_MIN_BATCH
                + "+ queries, k <= 32 and a dimension divisible by 16)");
            continue;
          }
          String key = tensor ? "batch_tensor" : "batch_exact";
          ExactSearch.Result r = search.search(rows, batch, ExactSearch.Metric.DOT, null, c.k(), precision); // warm-up
          double[] batchMs = new double[c.rounds()];
          for (int round = 0; round < c.rounds(); round++) {
            long t = System.nanoTime();
            r = search.search(rows, batch, ExactSearch.Metric.DOT, null, c.k(), precision);
            batchMs[round] = (System.nanoTime() - t) / 1e6;
          }
          Arrays.sort(batchMs);
          double ms = batchMs[batchMs.length / 2], q = c.batch() / (ms / 1e3);
          result.put(key + "_ms", ms);
          result.put(key + "_qps", q);
          out.printf(Locale.ROOT, "batch of %d queries, %s: %.1f ms, %.0f queries/s%n", c.batch(),
              tensor ? "fp16 queries on the tensor cores" : "fp32 queries on the CUDA cores", ms, q);
          if (q > qps) {
            qps = q;
            batchResult = r;
          }
        }
        result.put("batch", c.batch());
        result.put("batch_qps", qps);

        check(search, data, norms, queries);
        peer(qps, p50, batchResult);
      }
      return result;
    }

    /** Generates the rows on all cores, a chunk at a time, and copies each chunk to the device. */
    private void upload(GpuContext ctx, DeviceBuffer data, DeviceBuffer norms) throws InterruptedException {
      int n = (int) c.n(), dim = c.dim();
      int chunkRows = Math.max(1, (16 << 20) / (2 * dim));
      int threads = Runtime.getRuntime().availableProcessors();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long start = System.nanoTime();
      long[] copyNanos = new long[1];
      try (Arena arena = Arena.ofShared()) {
        MemorySegment hostNorms = arena.allocate(4L * n, 16);
        List<Future<?>> futures = new ArrayList<>();
        for (int from = 0; from < n; from += chunkRows) {
          int f = from, rows = Math.min(chunkRows, n - from);
          futures.add(pool.submit(() -> {
            try (Arena chunkArena = Arena.ofConfined()) {
              MemorySegment chunk = chunkArena.allocate((long) rows * dim * 2, 16);
              for (int r = 0; r < rows; r++) {
                double n2 = 0;
                for (int i = 0; i < dim; i++) {
                  short h = value(f + r, i, c.seed());
                  chunk.setAtIndex(ValueLayout.JAVA_SHORT, (long) r * dim + i, h);
                  float x = Float.float16ToFloat(h);
                  n2 += (double) x * x;
                }
                hostNorms.setAtIndex(ValueLayout.JAVA_FLOAT, f + r, (float) n2);
              }
              synchronized (copyNanos) { // one copy at a time: the buffer is not thread-safe
                long t = System.nanoTime();
                data.copyFrom(chunk, (long) f * dim * 2);
                copyNanos[0] += System.nanoTime() - t;
              }
            }
            return null;
          }));
        }
        for (Future<?> future : futures) {
          future.get();
        }
        norms.copyFrom(hostNorms, 0);
      } catch (ExecutionException e) {
        throw new IllegalStateException("generating the vectors failed: " + e.getCause(), e.getCause());
      } finally {
        pool.shutdownNow();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double h2d = c.n() * dim * 2.0 / (copyNanos[0] / 1e9);
      result.put("host_to_device_gbs", h2d / 1e9);
      out.printf(Locale.ROOT, "generated %,d x %d fp16 in %.1f s (host to device %.1f GB/s)%n", c.n(), dim, seconds, h2d / 1e9);
    }

    /** Device-to-device copy bandwidth, read plus write bytes over time, best of 5. */
    private double copyBandwidth(GpuContext ctx, DeviceBuffer data) {
      long bytes = Math.min(data.bytes() / 2, 1L << 31);
      bytes = Math.max(2, bytes & ~255L);
      double best = 0;
      try (DeviceBuffer scratch = ctx.allocate(bytes)) {
        scratch.copyFrom(data, 0, 0, bytes);
        ctx.synchronize();
        for (int r = 0; r < 5; r++) {
          long t = System.nanoTime();
          scratch.copyFrom(data, bytes, 0, bytes);
          ctx.synchronize();
          best = Math.max(best, 2.0 * bytes / ((System.nanoTime() - t) / 1e9));
        }
      }
      return best;
    }

    private float[][] queries(int count) {
      float[][] qs = new float[count][c.dim()];
      for (int q = 0; q < count; q++) {
        for (int i = 0; i < c.dim(); i++) {
          qs[q][i] = Float.float16ToFloat(value(q, i, c.seed() + 1_000_003));
        }
      }
      return qs;
    }

    /** The device's top-k on the first rows against the CPU exact index built from the same rows. */
    private void check(ExactSearch search, DeviceBuffer data, DeviceBuffer norms, float[][] queries) throws IOException {
      int rows = (int) Math.min(c.n(), c.checkRows()), count = Math.min(c.checkQueries(), queries.length);
      if (rows == 0 || count == 0) {
        result.put("check", "skipped");
        return;
      }
      int identical = 0;
      double maxScoreDiff = 0;
      try (FlatVectorIndex cpu = FlatVectorIndex.inMemory(new IndexSpec(c.dim(), Similarity.DOT_PRODUCT), Encoding.F16,
          Runtime.getRuntime().availableProcessors())) {
        Metadata meta = Metadata.of("bench", "/bench");
        for (int r = 0; r < rows; r++) {
          float[] v = new float[c.dim()];
          for (int i = 0; i < c.dim(); i++) {
            v[i] = Float.float16ToFloat(value(r, i, c.seed()));
          }
          cpu.add(Integer.toString(r), v, meta);
        }
        ExactSearch.Rows prefix = new ExactSearch.Rows(ExactSearch.Element.F16, data, null, norms, null, rows, c.dim());
        ExactSearch.Result gpuResult = search.search(prefix, Arrays.copyOf(queries, count), ExactSearch.Metric.DOT, null, c.k());
        for (int q = 0; q < count; q++) {
          List<SearchHit> hits = cpu.search(queries[q], c.k());
          boolean same = hits.size() == Math.min(c.k(), rows);
          for (int i = 0; i < hits.size() && same; i++) {
            same = Integer.parseInt(hits.get(i).id()) == gpuResult.rows()[q][i];
            maxScoreDiff = Math.max(maxScoreDiff, Math.abs(hits.get(i).score() - gpuResult.scores()[q][i]));
          }
          if (same) identical++;
        }
      }
      result.put("check_rows", rows);
      result.put("check_queries", count);
      result.put("check_identical", identical);
      result.put("check_max_score_diff", maxScoreDiff);
      out.printf(Locale.ROOT, "CPU exact index on the first %,d rows: %d of %d queries identical (ids and order), max score difference %.2g%n",
          rows, identical, count, maxScoreDiff);
    }

    /** Runs the PyTorch peer on the same data; records why when it cannot. */
    private void peer(double ourQps, double ourP50, ExactSearch.Result ours) throws IOException, InterruptedException {
      if (!c.torch()) {
        result.put("torch", "skipped: --no-torch");
        return;
      }
      Path script = Files.createTempFile("loupe-gpu-bench", ".py");
      try {
        try (InputStream in = GpuBench.class.getResourceAsStream("gpu_bench_torch.py")) {
          Files.write(script, in.readAllBytes());
        }
        int check = Math.min(4, c.batch());
        List<String> cmd = List.of(c.python(), script.toString(), "--n", Long.toString(c.n()), "--dim", Integer.toString(c.dim()),
            "--k", Integer.toString(c.k()), "--batch", Integer.toString(c.batch()), "--queries", Integer.toString(c.queries()),
            "--seed", Long.toString(c.seed()), "--query-seed", Long.toString(c.seed() + 1_000_003), "--rounds",
            Integer.toString(c.rounds()), "--check", Integer.toString(check));
        Process p;
        try {
          p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
          result.put("torch", "skipped: cannot run " + c.python() + " (" + e.getMessage() + ")");
          out.println("PyTorch peer skipped: cannot run " + c.python());
          return;
        }
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        int rc = p.waitFor();
        if (rc != 0) {
          String why = stderr.isEmpty() ? "exit " + rc : stderr.lines().reduce((a, b) -> b).orElse("");
          result.put("torch", "skipped: " + why);
          out.println("PyTorch peer skipped: " + why + (rc == 3 ? " (pip install torch with CUDA)" : ""));
          return;
        }
        String line = stdout.strip().lines().reduce((a, b) -> b).orElse("");
        double torchQps = number(line, "batch_qps"), torchP50 = number(line, "single_p50_ms");
        result.put("torch", string(line, "torch"));
        result.put("torch_batch_ms", number(line, "batch_ms"));
        result.put("torch_batch_qps", torchQps);
        result.put("torch_single_p50_ms", torchP50);
        result.put("batch_speedup_vs_torch", ourQps / torchQps);
        result.put("single_speedup_vs_torch", torchP50 / ourP50);
        result.put("torch_top1_agreement", top1Agreement(line, ours, check));
        out.printf(Locale.ROOT, "PyTorch %s matmul + topk: batch %.0f queries/s (Loupe %.2fx), single p50 %.2f ms (Loupe %.2fx)%n",
            string(line, "torch"), torchQps, ourQps / torchQps, torchP50, torchP50 / ourP50);
      } finally {
        Files.deleteIfExists(script);
      }
    }
  }

  /** Share of the first queries whose best row PyTorch and Loupe agree on (PyTorch's fp16 scores round ties). */
  private static double top1Agreement(String json, ExactSearch.Result ours, int check) {
    Matcher m = Pattern.compile("\"check_ids\":\\s*\\[(.*)\\]").matcher(json);
    if (!m.find()) return Double.NaN;
    String[] lists = m.group(1).split("\\]\\s*,\\s*\\[");
    int agree = 0;
    for (int q = 0; q < Math.min(check, lists.length); q++) {
      String first = lists[q].replace("[", "").replace("]", "").split(",")[0].strip();
      if (!first.isEmpty() && Integer.parseInt(first) == ours.rows()[q][0]) agree++;
    }
    return agree / (double) Math.max(1, Math.min(check, lists.length));
  }

  private static double number(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*([-0-9.eE+]+)").matcher(json);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private static String string(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*\"([^\"]*)\"").matcher(json);
    return m.find() ? m.group(1) : "?";
  }

  /** A flat JSON object of strings and numbers (the bundle carries no JSON library). */
  static String json(Map<String, Object> map) {
    StringBuilder sb = new StringBuilder("{");
    for (var e : map.entrySet()) {
      if (sb.length() > 1) sb.append(", ");
      sb.append('"').append(e.getKey()).append("\": ");
      Object v = e.getValue();
      if (v instanceof Number num) {
        double d = num.doubleValue();
        sb.append(Double.isFinite(d) ? (num instanceof Double || num instanceof Float ? String.format(Locale.ROOT, "%.6g", d) : num.toString()) : "null");
      } else {
        sb.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
    }
    return sb.append('}').toString();
  }
}
