package dev.loupe.vectorstore.bench;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.flat.FlatVectorIndex;
import dev.loupe.vectorstore.jvector.JVectorIndex;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import dev.loupe.vectorstore.opensearch.OpenSearchConnection;
import dev.loupe.vectorstore.opensearch.OpenSearchVectorIndex;
import dev.loupe.vectorstore.vectorization.VectorOps;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code ./loupe bench vectors}: builds each index over the same seeded synthetic embeddings
 * ({@link SyntheticVectors}) and prints build throughput, recall@k against the exact fp32 answer,
 * single-query latency percentiles, queries per second and memory per vector. In the same run it
 * measures the machine's memory read bandwidth with a streaming sum over a buffer far larger than
 * the caches, using the same number of threads as the flat scan, and reports each flat scan's
 * achieved bandwidth as a fraction of it. The last line printed is one JSON object with every
 * figure.
 */
public final class VectorBench {
  private static final String USAGE =
      "usage: loupe bench vectors [--n N] [--dim D] [--queries Q] [--k K]"
          + " [--index flat|hnsw|jvector|all] [--dtype f32|f16|i8|all] [--threads T]"
          + " [--similarity cosine|dot|euclidean] [--seed S] [--dir DIR] [--ef E1,E2,...]"
          + " [--hnsw-m M] [--hnsw-beam B] [--hnsw-quantized true|false] [--reuse true|false]"
          + " [--opensearch-url URL[,URL...] --opensearch-replicas R --opensearch-shards S]"
          + " (--index opensearch measures an index on that cluster next to the embedded hnsw)";

  private static final Set<String> FLAGS = Set.of(
      "--n", "--dim", "--queries", "--k", "--threads", "--index", "--dtype", "--similarity", "--seed", "--dir", "--ef",
      "--hnsw-m", "--hnsw-beam", "--hnsw-quantized", "--reuse", "--opensearch-url", "--opensearch-replicas", "--opensearch-shards");

  private VectorBench() {}

  /** Benchmark parameters; validated here so a bad flag fails before any work. */
  record Config(int n, int dim, int queries, int k, List<String> indexes, List<Encoding> dtypes,
      int threads, Similarity similarity, long seed, Path dir, List<Integer> efSweep,
      LuceneVectorIndex.Options hnsw, boolean reuse, OpenSearchConnection.Config opensearch,
      OpenSearchVectorIndex.Options opensearchOptions) {
    Config {
      if (indexes.contains("opensearch") && opensearch == null) {
        throw new IllegalArgumentException("--index opensearch needs --opensearch-url URL[,URL...]");
      }
      if (reuse && dir == null) throw new IllegalArgumentException("--reuse true needs --dir, where the indexes were built before");
      if (n < 1) throw new IllegalArgumentException("--n " + n + " must be at least 1");
      if (queries < 1) throw new IllegalArgumentException("--queries " + queries + " must be at least 1");
      new IndexSpec(dim, similarity);
      VectorIndex.checkK(k);
      if (k > n) throw new IllegalArgumentException("--k " + k + " is larger than --n " + n);
      if (threads < 1) throw new IllegalArgumentException("--threads " + threads + " must be at least 1");
      for (int ef : efSweep) {
        if (ef < k || ef > VectorIndex.MAX_K) {
          throw new IllegalArgumentException("--ef " + ef + " is outside [k=" + k + ", " + VectorIndex.MAX_K + "]");
        }
      }
    }
  }

  /** Runs the benchmark with command-line arguments (after {@code bench vectors}); returns the exit code. */
  public static int run(String[] args) throws Exception {
    return run(args, System.out, System.err);
  }

  /** Entry point for running the benchmark without the launcher. */
  public static void main(String[] args) throws Exception {
    System.exit(run(args));
  }

  public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
    Config config;
    try {
      config = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench vectors: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    Map<String, Object> json;
    try {
      json = new VectorBench.Run(config, out).run();
    } catch (IllegalArgumentException e) {
      err.println("loupe bench vectors: " + e.getMessage());
      return 2;
    }
    out.println(Json.write(json));
    return 0;
  }

  static Config parse(String[] args) {
    int n = 100_000, dim = 512, queries = 1000, k = 10, threads = Runtime.getRuntime().availableProcessors();
    String index = "all", dtype = "all";
    Similarity similarity = Similarity.COSINE;
    long seed = 42;
    Path dir = null;
    List<Integer> efSweep = List.of();
    LuceneVectorIndex.Options hnsw = LuceneVectorIndex.Options.defaults();
    boolean reuse = false;
    String opensearchUrls = null;
    int opensearchReplicas = 1, opensearchShards = 1;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        throw new IllegalArgumentException("help");
      }
      if (!FLAGS.contains(flag)) {
        throw new IllegalArgumentException("unknown flag " + flag);
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("flag " + flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--n" -> n = intValue(flag, value);
        case "--dim" -> dim = intValue(flag, value);
        case "--queries" -> queries = intValue(flag, value);
        case "--k" -> k = intValue(flag, value);
        case "--threads" -> threads = intValue(flag, value);
        case "--index" -> index = value;
        case "--dtype" -> dtype = value;
        case "--similarity" -> similarity = Similarity.parse(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--dir" -> dir = Path.of(value);
        case "--hnsw-m" -> hnsw = new LuceneVectorIndex.Options(intValue(flag, value), hnsw.beamWidth(), hnsw.scalarQuantized(), hnsw.efSearch(), hnsw.mergeWorkers());
        case "--hnsw-beam" -> hnsw = new LuceneVectorIndex.Options(hnsw.maxConn(), intValue(flag, value), hnsw.scalarQuantized(), hnsw.efSearch(), hnsw.mergeWorkers());
        case "--hnsw-quantized" -> hnsw = hnsw.withScalarQuantized(booleanValue(flag, value));
        case "--reuse" -> reuse = booleanValue(flag, value);
        case "--opensearch-url" -> opensearchUrls = value;
        case "--opensearch-replicas" -> opensearchReplicas = intValue(flag, value);
        case "--opensearch-shards" -> opensearchShards = intValue(flag, value);
        case "--ef" -> {
          List<Integer> efs = new ArrayList<>();
          for (String part : value.split(",")) {
            efs.add(intValue(flag, part.trim()));
          }
          efSweep = List.copyOf(efs);
        }
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    List<String> indexes = switch (index) {
      case "all" -> List.of("flat", "hnsw", "jvector");
      case "flat", "hnsw", "jvector" -> List.of(index);
      // The cluster's figures mean most beside the embedded Lucene HNSW of the same run.
      case "opensearch" -> List.of("hnsw", "opensearch");
      default -> throw new IllegalArgumentException("--index '" + index + "' must be flat, hnsw, jvector, opensearch or all");
    };
    OpenSearchConnection.Config opensearch = opensearchUrls == null ? null
        : OpenSearchConnection.Config.of(OpenSearchConnection.Config.parseUrls(opensearchUrls));
    // Same graph parameters as the embedded index; bulks of 1000; searches see the last commit.
    OpenSearchVectorIndex.Options opensearchOptions = OpenSearchVectorIndex.Options.defaults()
        .withShards(opensearchShards).withReplicas(opensearchReplicas)
        .withHnsw(Math.min(100, hnsw.maxConn()), hnsw.beamWidth()).withEfSearch(hnsw.efSearch())
        .withBulkActions(1000).withReadYourWrites(false);
    List<Encoding> dtypes = dtype.equals("all") ? List.of(Encoding.values()) : List.of(Encoding.parse(dtype));
    return new Config(n, dim, queries, k, indexes, dtypes, threads, similarity, seed, dir, efSweep, hnsw, reuse,
        opensearch, opensearchOptions);
  }

  private static boolean booleanValue(String flag, String value) {
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(flag + " '" + value + "' must be true or false");
    };
  }

  private static int intValue(String flag, String value) {
    try {
      return Integer.parseInt(value.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " '" + value + "' is not an integer");
    }
  }

  /** One benchmark run; holds the data set and the exact answers. */
  private static final class Run {
    private final Config c;
    private final PrintStream out;
    private final IndexSpec spec;
    private final float[][] data;
    private final List<float[]> queries = new ArrayList<>();
    private List<List<String>> truth;
    private final ExecutorService pool;

    Run(Config c, PrintStream out) {
      this.c = c;
      this.out = out;
      this.spec = new IndexSpec(c.dim(), c.similarity());
      this.pool = Executors.newFixedThreadPool(c.threads());
      SyntheticVectors gen = SyntheticVectors.forBenchmark(c.dim(), c.n(), c.seed());
      this.data = new float[c.n()][];
      parallel(c.n(), i -> data[i] = gen.vector(i));
      for (int q = 0; q < c.queries(); q++) {
        queries.add(gen.query(q));
      }
    }

    Map<String, Object> run() throws Exception {
      try {
        Map<String, Object> json = new LinkedHashMap<>();
        Map<String, Object> machine = machine();
        json.put("benchmark", "vectors");
        json.put("config", Map.of("n", c.n(), "dim", c.dim(), "queries", c.queries(), "k", c.k(),
            "threads", c.threads(), "similarity", c.similarity().name(), "seed", c.seed(),
            "hnsw", Map.of("m", c.hnsw().maxConn(), "beam_width", c.hnsw().beamWidth(),
                "scalar_quantized", c.hnsw().scalarQuantized(), "ef_search", c.hnsw().efSearch())));
        json.put("machine", machine);
        out.printf(Locale.ROOT, "machine: %s, %d cores, JDK %s, vector ops %s%n", machine.get("cpu"),
            machine.get("cores"), machine.get("jdk"), machine.get("vector_ops"));
        double bandwidthBefore = memoryBandwidth();
        out.printf(Locale.ROOT, "memory read bandwidth (streaming sum, %d threads): %.1f GB/s%n", c.threads(), bandwidthBefore / 1e9);
        out.printf(Locale.ROOT, "data: %,d x %d %s, %,d queries, k=%d, seed %d%n", c.n(), c.dim(), c.similarity(), c.queries(), c.k(), c.seed());

        long t0 = System.nanoTime();
        try (FlatVectorIndex exact = FlatVectorIndex.inMemory(spec, Encoding.F32, c.threads())) {
          addAll(exact);
          truth = new ArrayList<>();
          for (List<SearchHit> hits : exact.searchBatch(queries, c.k(), null)) {
            truth.add(hits.stream().map(SearchHit::id).toList());
          }
        }
        out.printf(Locale.ROOT, "exact fp32 answers computed in %.1f s%n", (System.nanoTime() - t0) / 1e9);

        List<Map<String, Object>> results = new ArrayList<>();
        Map<Encoding, Double> flatQps = new LinkedHashMap<>();
        for (String kind : c.indexes()) {
          if (kind.equals("flat")) {
            for (Encoding e : c.dtypes()) {
              Map<String, Object> r = measure(name(e), dir -> FlatVectorIndex.open(dir, spec, e, c.threads()));
              double bytesPerQuery = (double) c.n() * c.dim() * e.bytes;
              double achieved = bytesPerQuery / ((double) r.get("latency_mean_ms") / 1e3);
              r.put("scan_bandwidth_gbps", round(achieved / 1e9));
              flatQps.put(e, (Double) r.get("qps"));
              if (e != Encoding.F32 && flatQps.containsKey(Encoding.F32)) {
                double ratio = flatQps.get(e) / flatQps.get(Encoding.F32);
                r.put("qps_vs_f32", round(ratio));
                out.printf(Locale.ROOT, "  %.2fx the fp32 queries/s%n", ratio);
              }
              results.add(r);
            }
          } else {
            results.add(switch (kind) {
              case "hnsw" -> measure(kind, dir -> LuceneVectorIndex.open(dir, spec, c.hnsw()));
              case "jvector" -> measure(kind, dir -> JVectorIndex.open(dir, spec, JVectorIndex.Options.defaults()));
              case "opensearch" -> measure(kind, dir -> OpenSearchVectorIndex.open(c.opensearch(),
                  "loupe-bench-" + c.n() + "-" + c.dim() + "-" + c.similarity().name().toLowerCase(Locale.ROOT), spec, c.opensearchOptions()));
              default -> throw new IllegalStateException("unknown index " + kind);
            });
          }
        }
        // Measured again at the end, and the higher figure kept, so a disturbance during one
        // measurement cannot flatter the scans.
        double bandwidthAfter = memoryBandwidth();
        double bandwidth = Math.max(bandwidthBefore, bandwidthAfter);
        out.printf(Locale.ROOT, "memory read bandwidth again: %.1f GB/s; using %.1f GB/s%n", bandwidthAfter / 1e9, bandwidth / 1e9);
        json.put("memory_bandwidth_gbps", round(bandwidth / 1e9));
        json.put("memory_bandwidth_runs_gbps", List.of(round(bandwidthBefore / 1e9), round(bandwidthAfter / 1e9)));
        for (Map<String, Object> r : results) {
          if (r.get("scan_bandwidth_gbps") instanceof Double gbps) {
            r.put("fraction_of_memory_bandwidth", round(gbps * 1e9 / bandwidth));
            out.printf(Locale.ROOT, "%s: single-query scan reads %.1f GB/s = %.0f%% of the memory bandwidth%n", r.get("index"), gbps, 100 * gbps * 1e9 / bandwidth);
          }
        }
        json.put("results", results);
        return json;
      } finally {
        pool.shutdownNow();
      }
    }

    interface Opener {
      VectorIndex open(Path dir) throws IOException;
    }

    private Map<String, Object> measure(String name, Opener opener) throws Exception {
      Path dir = c.dir() == null ? Files.createTempDirectory("loupe-bench-" + name) : Files.createDirectories(c.dir().resolve(name));
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("index", name);
      out.printf(Locale.ROOT, "%s: building...%n", name);
      System.gc();
      try {
        try (VectorIndex index = opener.open(dir)) {
          double build = Double.NaN;
          if (c.reuse() && index.size() > 0) {
            // Search figures only, on the index a previous run left under --dir, so a long build
            // and the latency measurement need not share one quiet stretch of the machine.
            if (index.size() != c.n()) {
              throw new IllegalArgumentException("--reuse: " + dir + " holds " + index.size() + " vectors, not --n " + c.n());
            }
            r.put("reused", true);
            out.printf(Locale.ROOT, "%s: reusing the %,d vectors already in %s%n", name, index.size(), dir);
          } else {
            long t0 = System.nanoTime();
            addAll(index);
            index.commit();
            if (index instanceof LuceneVectorIndex lucene) {
              // A bulk load ends with a merge to one segment (one graph to walk); it counts as build time.
              lucene.forceMerge(1);
            }
            if (index instanceof OpenSearchVectorIndex cluster) {
              cluster.forceMerge(1); // the same, on every shard
            }
            build = (System.nanoTime() - t0) / 1e9;
            r.put("build_s", round(build));
            r.put("build_vectors_per_s", round(c.n() / build));
          }
          long ram = index.ramBytesUsed();
          r.put("memory_bytes", ram);
          r.put("memory_bytes_per_vector", round(ram / (double) c.n()));
          r.put("disk_bytes", diskBytes(dir));
          if (index instanceof OpenSearchVectorIndex cluster) {
            // Memory above is this client's; the vectors, graphs and copies live on the cluster.
            r.put("cluster_store_bytes", cluster.storeBytes());
            r.put("cluster", Map.of("urls", c.opensearch().urls().toString(), "index", cluster.name(),
                "shards", cluster.options().shards(), "replicas", cluster.options().replicas()));
          }
          r.putAll(timeQueries(index));
          if (name.equals(name(Encoding.F32))) {
            r.put("interleaved", interleaved(name, index, (double) c.n() * c.dim() * Encoding.F32.bytes));
          }
          String built = Double.isNaN(build) ? "reused" : String.format(Locale.ROOT, "build %.1f s (%,.0f vectors/s)", build, c.n() / build);
          out.printf(Locale.ROOT,
              "%s: %s, recall@%d %.4f, p50 %.3f ms, p99 %.3f ms, %,.0f queries/s (one client), %,.0f queries/s (all cores), %.0f bytes/vector in memory%n",
              name, built, c.k(), (double) r.get("recall_at_k"), (double) r.get("latency_p50_ms"), (double) r.get("latency_p99_ms"),
              (double) r.get("qps"), (double) r.get("throughput_qps_all_cores"), (double) r.get("memory_bytes_per_vector"));
          if (index instanceof OpenSearchVectorIndex cluster && c.dir() == null) {
            cluster.deleteIndexAndClose(); // a throwaway index, as the embedded ones' temporary folders are
          }
        }
        if (name.equals("hnsw") && !c.efSweep().isEmpty()) {
          r.put("ef_sweep", efSweep(dir, name));
        }
      } finally {
        if (c.dir() == null) {
          deleteTree(dir);
        }
      }
      return r;
    }

    /** Search breadth is an option of the opened Lucene index: reopens the built files for each value. */
    private List<Map<String, Object>> efSweep(Path dir, String name) throws Exception {
      List<Map<String, Object>> sweep = new ArrayList<>();
      for (int ef : c.efSweep()) {
        try (LuceneVectorIndex index = LuceneVectorIndex.open(dir, spec, c.hnsw().withEfSearch(ef))) {
          Map<String, Object> t = new LinkedHashMap<>();
          t.put("ef_search", ef);
          t.putAll(timeQueries(index));
          sweep.add(t);
          out.printf(Locale.ROOT, "%s ef %d: recall@%d %.4f, p50 %.3f ms, p99 %.3f ms, %,.0f queries/s (one client), %,.0f queries/s (all cores)%n",
              name, ef, c.k(), (double) t.get("recall_at_k"), (double) t.get("latency_p50_ms"), (double) t.get("latency_p99_ms"),
              (double) t.get("qps"), (double) t.get("throughput_qps_all_cores"));
        }
      }
      return sweep;
    }

    /** Recall, single-query latency and throughput of {@code index} over the query set. */
    private Map<String, Object> timeQueries(VectorIndex index) throws Exception {
      Map<String, Object> r = new LinkedHashMap<>();
      // Warm up the JIT and the caches with a first pass, then time every query on its own.
      int warmup = Math.min(c.queries(), 200);
      for (int q = 0; q < warmup; q++) {
        index.search(queries.get(q), c.k());
      }
      long[] nanos = new long[c.queries()];
      int found = 0;
      long start = System.nanoTime();
      for (int q = 0; q < c.queries(); q++) {
        long s = System.nanoTime();
        List<SearchHit> hits = index.search(queries.get(q), c.k());
        nanos[q] = System.nanoTime() - s;
        Set<String> expected = new HashSet<>(truth.get(q));
        for (SearchHit h : hits) {
          if (expected.contains(h.id())) found++;
        }
      }
      double total = (System.nanoTime() - start) / 1e9;
      Arrays.sort(nanos);
      double recall = found / (double) (c.queries() * c.k());
      r.put("recall_at_k", round(recall));
      r.put("latency_p50_ms", round(nanos[nanos.length / 2] / 1e6));
      r.put("latency_p99_ms", round(nanos[Math.min(nanos.length - 1, (int) (nanos.length * 0.99))] / 1e6));
      r.put("latency_mean_ms", round(Arrays.stream(nanos).average().orElseThrow() / 1e6));
      r.put("qps", round(c.queries() / total));

      // Throughput with every core busy: batched passes for the flat scan, concurrent clients otherwise.
      long t1 = System.nanoTime();
      if (index instanceof FlatVectorIndex) {
        index.searchBatch(queries, c.k(), null);
      } else {
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> clients = new ArrayList<>();
        for (int t = 0; t < c.threads(); t++) {
          clients.add(pool.submit(() -> {
            for (int q; (q = next.getAndIncrement()) < c.queries(); ) {
              index.search(queries.get(q), c.k());
            }
          }));
        }
        for (Future<?> f : clients) f.get();
      }
      r.put("throughput_qps_all_cores", round(c.queries() / ((System.nanoTime() - t1) / 1e9)));
      return r;
    }

    /** Adds the data set from {@code threads} threads: every index is thread-safe, and graph builds need the cores. */
    private void addAll(VectorIndex index) {
      Metadata[] types = {Metadata.of("image", "/bench/images"), Metadata.of("page", "/bench/pages")};
      parallel(c.n(), i -> index.add(Integer.toString(i), data[i], types[i & 1]));
    }

    interface IntTask {
      void run(int i) throws Exception;
    }

    private void parallel(int n, IntTask task) {
      AtomicInteger next = new AtomicInteger();
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < c.threads(); t++) {
        futures.add(pool.submit(() -> {
          for (int from; (from = next.getAndAdd(256)) < n; ) {
            for (int i = from; i < Math.min(n, from + 256); i++) {
              task.run(i);
            }
          }
          return null;
        }));
      }
      try {
        for (Future<?> f : futures) f.get();
      } catch (Exception e) {
        throw new IllegalStateException("benchmark worker failed: " + e.getMessage(), e);
      }
    }

    private static String name(Encoding e) {
      return "flat-" + e.name().toLowerCase(Locale.ROOT);
    }

    /**
     * The scan against the memory bandwidth measured right beside it: rounds of one bandwidth
     * measurement then a stretch of single-client queries, the ratio taken within each round and
     * the median reported. On a shared machine the bandwidth itself moves between readings taken
     * minutes apart (25 to 44 GB/s in one session here); a ratio within a round compares the
     * scan with what the memory gave at that moment.
     */
    private Map<String, Object> interleaved(String name, VectorIndex index, double bytesPerQuery) throws Exception {
      int rounds = 7, perRound = Math.max(5, Math.min(50, c.queries() / rounds));
      List<Double> ratios = new ArrayList<>(), scans = new ArrayList<>(), bandwidths = new ArrayList<>();
      // The index is warm: timeQueries ran every query on it just before.
      for (int round = 0; round < rounds; round++) {
        double bandwidth = memoryBandwidth(3);
        long t0 = System.nanoTime();
        for (int q = 0; q < perRound; q++) {
          index.search(queries.get((round * perRound + q) % c.queries()), c.k());
        }
        double scan = bytesPerQuery * perRound / ((System.nanoTime() - t0) / 1e9);
        bandwidths.add(round(bandwidth / 1e9));
        scans.add(round(scan / 1e9));
        ratios.add(scan / bandwidth);
      }
      List<Double> sorted = ratios.stream().sorted().toList();
      double median = sorted.get(sorted.size() / 2);
      out.printf(Locale.ROOT, "%s interleaved with bandwidth readings (%d rounds of %d queries): scan %s GB/s against %s GB/s;"
          + " median %.0f%% of the bandwidth measured beside it (range %.0f-%.0f%%)%n", name, rounds, perRound, oneDecimal(scans),
          oneDecimal(bandwidths),
          100 * median, 100 * sorted.getFirst(), 100 * sorted.getLast());
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("rounds", rounds);
      r.put("queries_per_round", perRound);
      r.put("scan_gbps", scans);
      r.put("memory_bandwidth_gbps", bandwidths);
      r.put("fraction_median", round(median));
      r.put("fraction_min", round(sorted.getFirst()));
      r.put("fraction_max", round(sorted.getLast()));
      return r;
    }

    private static String oneDecimal(List<Double> values) {
      return values.stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    }

    private double memoryBandwidth() throws Exception {
      return memoryBandwidth(6);
    }

    private double memoryBandwidth(int passes) throws Exception {
      return VectorBench.memoryBandwidth(pool, c.threads(), passes);
    }
  }

  /**
   * Read bandwidth in bytes per second of a streaming sum over a 1 GiB buffer (32x a large L3)
   * split across {@code threads} tasks of {@code pool}; the best of {@code passes - 1} passes after
   * a first that warms up. Also the bandwidth bound of {@code loupe bench llm}.
   */
  public static double memoryBandwidth(ExecutorService pool, int threads, int passes) throws Exception {
    long floats = (1L << 30) / 4;
    VectorOps ops = VectorOps.get();
    try (Arena arena = Arena.ofShared()) {
      MemorySegment buffer = arena.allocate(floats * 4, 64);
      for (long i = 0; i < floats; i += 1024) {
        buffer.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i, 1f);
      }
      double best = 0;
      float sink = 0;
      for (int pass = 0; pass < passes; pass++) {
        long t0 = System.nanoTime();
        List<Future<Float>> parts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          long from = floats * t / threads, to = floats * (t + 1) / threads;
          parts.add(pool.submit(() -> ops.sum(buffer, 4 * from, to - from)));
        }
        for (Future<Float> f : parts) sink += f.get();
        double gbps = floats * 4 / ((System.nanoTime() - t0) / 1e9);
        if (pass > 0) best = Math.max(best, gbps); // pass 0 warms up the JIT
      }
      if (sink == 42) System.out.print(""); // keeps the sums alive
      return best;
    }
  }

  private static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    String cpu = "unknown";
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      cpu = lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
    } catch (IOException | RuntimeException e) {
      // Not Linux: the CPU name stays unknown.
    }
    m.put("cpu", cpu);
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("jdk", System.getProperty("java.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    m.put("max_heap_gb", round(Runtime.getRuntime().maxMemory() / 1e9));
    m.put("vector_ops", VectorOps.get().toString());
    return m;
  }

  private static long diskBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static double round(double x) {
    return Math.round(x * 10_000) / 10_000.0;
  }
}
