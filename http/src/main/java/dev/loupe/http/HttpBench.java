package dev.loupe.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.indexer.bench.SyntheticCorpus;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * {@code loupe bench http}: drives a running Loupe server from this (second) process with search
 * requests at a fixed rate, optionally while files are copied into its watch folder, and reports
 * queries/s, latency percentiles and errors.
 *
 * <p>The load is open-loop: request {@code i} is due at {@code start + i / rate} whether or not
 * earlier ones have answered, and its latency is measured from that due time, so a stalled server
 * shows as latency rather than as a quietly lower rate (no coordinated omission). Each request runs
 * on its own virtual thread over a pool of kept-alive connections ({@link BenchClient}).
 *
 * <p>In the same run, before the searches, the same load of {@code GET /api/health} (a handler
 * that only reads counters) measures the floor of an HTTP round trip to this server on this
 * machine; the search figures are printed against it. Queries are keyword searches of one to three
 * words from {@link SyntheticCorpus}'s vocabulary (no embedding on the server, as the goal
 * excludes text embedding), or {@code similar_to} an item found by a first search, which searches
 * with the item's stored vector. The last line printed is one JSON object with every figure.
 */
final class HttpBench {
  static final String USAGE = "usage: loupe bench http [--url URL | --data DIR] [--rate Q] [--seconds S] [--warmup S]"
      + " [--query keyword|similar|mix] [--k K] [--key TOKEN] [--ingest DIR] [--seed S]";
  private static final ObjectMapper JSON = new ObjectMapper();

  record Config(URI url, Path data, double rate, double seconds, double warmup, String query, int k, String key, Path ingest, long seed) {
    Config {
      if (!(rate > 0 && rate <= 20_000)) throw new IllegalArgumentException("--rate " + rate + " is outside (0, 20000] queries/s");
      if (!(seconds > 0 && seconds <= 3_600)) throw new IllegalArgumentException("--seconds " + seconds + " is outside (0, 3600]");
      if (!(warmup >= 0 && warmup <= 600)) throw new IllegalArgumentException("--warmup " + warmup + " is outside [0, 600]");
      if (!List.of("keyword", "similar", "mix").contains(query)) {
        throw new IllegalArgumentException("--query '" + query + "' must be keyword, similar or mix");
      }
      if (k < 1 || k > 200) throw new IllegalArgumentException("--k " + k + " is outside [1, 200]");
      if (ingest != null && !Files.isDirectory(ingest)) throw new IllegalArgumentException("--ingest " + ingest + " is not a folder");
      if (url != null && !"http".equals(url.getScheme())) throw new IllegalArgumentException("--url " + url + " is not an http:// URL");
    }
  }

  private HttpBench() {}

  static int run(List<String> args, Path defaultData, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    Config c;
    try {
      c = parse(args, defaultData);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench http: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      URI url = c.url() != null ? c.url() : ServeFile.read(c.data()).map(ServeFile::url).orElseThrow(() -> new IOException(
          "no `loupe serve` runs on " + c.data() + " (no " + ServeFile.path(c.data()) + "); start one, or pass --url"));
      out.println(JSON.writeValueAsString(new Run(c, url.toString().endsWith("/") ? url : URI.create(url + "/"), out).run()));
      return 0;
    } catch (IOException e) {
      err.println("loupe bench http: " + e.getMessage());
      return 1;
    }
  }

  static Config parse(List<String> args, Path defaultData) {
    URI url = null;
    Path data = defaultData, ingest = null;
    double rate = 200, seconds = 20, warmup = 3;
    String query = "mix", key = null;
    int k = 10;
    long seed = 42;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (i + 1 >= args.size()) throw new IllegalArgumentException("flag " + flag + " needs a value");
      String value = args.get(++i);
      switch (flag) {
        case "--url" -> url = URI.create(value);
        case "--data" -> data = Path.of(value);
        case "--rate" -> rate = number(flag, value);
        case "--seconds" -> seconds = number(flag, value);
        case "--warmup" -> warmup = number(flag, value);
        case "--query" -> query = value;
        case "--k" -> k = (int) number(flag, value);
        case "--key" -> key = value;
        case "--ingest" -> ingest = Path.of(value);
        case "--seed" -> seed = (long) number(flag, value);
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    return new Config(url, data, rate, seconds, warmup, query, k, key, ingest, seed);
  }

  private static double number(String flag, String value) {
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " '" + value + "' is not a number");
    }
  }

  /** One phase's answers: latency from the due time (ns), by outcome. */
  private static final class Phase {
    final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Double> serverMs = new ConcurrentLinkedQueue<>();
    final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
    final AtomicLong sent = new AtomicLong();
    long lateStarts; // requests sent more than 1 ms after their due time (the client could not keep up)
    double seconds;

    long ok() {
      return latencies.size();
    }

    long failed() {
      return errors.values().stream().mapToLong(AtomicLong::get).sum();
    }
  }

  private record Run(Config c, URI base, PrintStream out) {

    Map<String, Object> run() throws IOException, InterruptedException {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("benchmark", "http");
      json.put("url", base.toString());
      json.put("rate", c.rate());
      json.put("seconds", c.seconds());
      json.put("query", c.query());
      json.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(), "jdk", Runtime.version().toString()));
      try (BenchClient client = new BenchClient(base, c.key(), 30_000)) {
        JsonNode health = getJson(client, "api/health");
        JsonNode before = getJson(client, "api/ingest/status");
        out.printf(Locale.ROOT, "server %s: %s items in the visual store; ingest: %s files done, %s items%n", base,
            health.at("/store/items").asText("?"), before.path("done").asText("?"), before.path("items").asText("?"));
        json.put("ingest_items_before", before.path("items").asLong());

        List<String> similarIds = c.query().equals("keyword") ? List.of() : similarIds(client);
        if (!c.query().equals("keyword") && similarIds.isEmpty()) {
          throw new IOException("no items to find similar ones to: the server's index is empty for these words; ingest a corpus first"
              + " (e.g. `./loupe ingest` of a folder written by `./loupe bench ingest --dir DIR`)");
        }
        SplittableRandom random = new SplittableRandom(c.seed());
        // Query words as a search log has them: neither the stop words at the top of the corpus's
        // Zipfian vocabulary nor its rarest words.
        List<String> words = SyntheticCorpus.words().subList(10, 2_000);
        java.util.function.IntFunction<String> searches = i -> {
          boolean similar = c.query().equals("similar") || (c.query().equals("mix") && i % 2 == 1);
          if (similar) {
            return "api/search?k=" + c.k() + "&similar_to=" + encode(similarIds.get(Math.floorMod(i * 7919, similarIds.size())));
          }
          StringBuilder q = new StringBuilder();
          for (int w = 0, n = 1 + Math.floorMod(i * 31, 3); w < n; w++) {
            q.append(w == 0 ? "" : " ").append(words.get(Math.floorMod((i * 131 + w * 17) ^ 0x5bd1, words.size())));
          }
          return "api/search?k=" + c.k() + "&mode=keyword&q=" + encode(q.toString());
        };

        if (c.warmup() > 0) {
          drive(client, i -> "api/health", c.warmup() / 2);
          drive(client, searches, c.warmup());
        }
        Phase floor = drive(client, i -> "api/health", Math.min(c.seconds(), 10));
        Map<String, Object> floorJson = report("floor: GET /api/health", floor, false);
        json.put("floor", floorJson);

        Copier copier = c.ingest() == null ? null : new Copier(c.ingest(), watchFolder(health), c.seconds());
        Phase search;
        try {
          if (copier != null) copier.start();
          search = drive(client, searches, c.seconds());
        } finally {
          if (copier != null) copier.stop();
        }
        Map<String, Object> searchJson = report("search (" + c.query() + ")" + (copier == null ? "" : ", ingesting"), search, true);
        json.put("search", searchJson);
        JsonNode after = getJson(client, "api/ingest/status");
        json.put("ingest_items_after", after.path("items").asLong());
        if (copier != null) {
          json.put("files_copied", copier.copied.get());
          json.put("ingest_files_done_during", after.path("done").asLong() - before.path("done").asLong());
          out.printf(Locale.ROOT, "ingest during the run: %d files copied in, %d files finished, %d items added%n", copier.copied.get(),
              after.path("done").asLong() - before.path("done").asLong(), after.path("items").asLong() - before.path("items").asLong());
        }
        double p99 = searchJson.get("p99_ms") instanceof Double d ? d : Double.NaN;
        double floorP99 = floorJson.get("p99_ms") instanceof Double d ? d : Double.NaN;
        json.put("search_p99_vs_floor_p99", round(p99 / floorP99));
        out.printf(Locale.ROOT, "search p99 %.2f ms = %.1fx the round-trip floor's p99 (%.2f ms); goal: p99 <= 10 ms at 200 q/s with no errors%n",
            p99, p99 / floorP99, floorP99);
      }
      return json;
    }

    /** Sends {@code rate * seconds} requests open-loop; waits for the answers (30 s at most after the last is due). */
    private Phase drive(BenchClient client, java.util.function.IntFunction<String> paths, double seconds) throws InterruptedException {
      Phase p = new Phase();
      int total = (int) Math.max(1, Math.round(c.rate() * seconds));
      long intervalNs = (long) (1e9 / c.rate());
      long start = System.nanoTime() + 20_000_000L;
      long late = 0;
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < total; i++) {
          long due = start + i * intervalNs;
          long wait;
          while ((wait = due - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
          }
          if (-wait > 1_000_000L) late++;
          String path = paths.apply(i);
          p.sent.incrementAndGet();
          pool.execute(() -> send(client, path, due, p));
        }
        pool.shutdown();
        if (!pool.awaitTermination((long) (seconds + 30), TimeUnit.SECONDS)) {
          pool.shutdownNow();
        }
      }
      p.lateStarts = late;
      p.seconds = (System.nanoTime() - start) / 1e9;
      return p;
    }

    private void send(BenchClient client, String path, long due, Phase p) {
      try {
        BenchClient.Response response = client.get(base.getRawPath() + path);
        long latency = System.nanoTime() - due;
        if (response.status() != 200) {
          p.errors.computeIfAbsent("http " + response.status(), s -> new AtomicLong()).incrementAndGet();
          return;
        }
        p.latencies.add(latency);
        if (path.startsWith("api/search")) {
          JsonNode took = JSON.readTree(response.body()).get("took_ms");
          if (took != null) p.serverMs.add(took.asDouble());
        }
      } catch (IOException e) {
        p.errors.computeIfAbsent(e.getClass().getSimpleName(), s -> new AtomicLong()).incrementAndGet();
      }
    }

    private Map<String, Object> report(String what, Phase p, boolean server) {
      long[] ns = p.latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      double p50 = percentile(ns, 0.50) / 1e6, p90 = percentile(ns, 0.90) / 1e6, p99 = percentile(ns, 0.99) / 1e6;
      double max = ns.length == 0 ? Double.NaN : ns[ns.length - 1] / 1e6;
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("sent", p.sent.get());
      r.put("ok", p.ok());
      r.put("errors", p.failed());
      Map<String, Long> kinds = new java.util.TreeMap<>();
      p.errors.forEach((kind, n) -> kinds.put(kind, n.get()));
      r.put("error_kinds", kinds);
      r.put("queries_per_s", round(p.ok() / p.seconds));
      r.put("p50_ms", round(p50));
      r.put("p90_ms", round(p90));
      r.put("p99_ms", round(p99));
      r.put("max_ms", round(max));
      r.put("late_starts", p.lateStarts);
      out.printf(Locale.ROOT, "%s: %d sent, %d ok, %d errors%s; %.1f q/s; latency p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f%s%n", what,
          p.sent.get(), p.ok(), p.failed(), kinds.isEmpty() ? "" : " " + kinds, p.ok() / p.seconds, p50, p90, p99, max,
          p.lateStarts == 0 ? "" : " (" + p.lateStarts + " requests left this process more than 1 ms late)");
      if (server) {
        double[] ms = p.serverMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        r.put("server_took_p50_ms", round(percentile(ms, 0.50)));
        r.put("server_took_p99_ms", round(percentile(ms, 0.99)));
        out.printf(Locale.ROOT, "  the server's own took_ms: p50 %.2f ms, p99 %.2f ms%n", percentile(ms, 0.50), percentile(ms, 0.99));
      }
      return r;
    }

    /** Ids to search similar to: the hits of a few keyword searches. */
    private List<String> similarIds(BenchClient client) throws IOException {
      List<String> ids = new ArrayList<>();
      for (String word : SyntheticCorpus.words().subList(0, Math.min(40, SyntheticCorpus.words().size()))) {
        for (JsonNode hit : getJson(client, "api/search?mode=keyword&k=20&q=" + encode(word)).path("hits")) {
          ids.add(hit.path("id").asText());
        }
        if (ids.size() >= 500) break;
      }
      return ids.stream().distinct().toList();
    }

    private Path watchFolder(JsonNode health) throws IOException {
      JsonNode watch = health.path("watch");
      if (!watch.isArray() || watch.isEmpty()) {
        throw new IOException("the server did not say its watch folders (GET /api/health needs a key beyond loopback: pass --key)");
      }
      return Path.of(watch.get(0).asText());
    }

    private JsonNode getJson(BenchClient client, String path) throws IOException {
      BenchClient.Response response = client.get(base.getRawPath() + path);
      if (response.status() != 200) {
        throw new IOException("GET " + base.resolve(path) + " answered " + response.status() + ": " + response.text());
      }
      return JSON.readTree(response.body());
    }
  }

  /** Copies a folder's files into the watch folder at an even pace over the run, so the server ingests while it searches. */
  private static final class Copier {
    final List<Path> files;
    final Path target;
    final double seconds;
    final AtomicLong copied = new AtomicLong();
    Thread thread;

    Copier(Path from, Path target, double seconds) throws IOException {
      try (Stream<Path> s = Files.walk(from)) {
        this.files = s.filter(Files::isRegularFile).sorted().toList();
      }
      this.target = target.resolve("bench-http-" + System.currentTimeMillis());
      this.seconds = seconds;
    }

    void start() throws IOException {
      Files.createDirectories(target);
      long pauseNs = files.isEmpty() ? 0 : (long) (seconds * 1e9 / files.size());
      thread = Thread.ofPlatform().daemon().name("bench-http-copier").start(() -> {
        for (int i = 0; i < files.size() && !Thread.currentThread().isInterrupted(); i++) {
          Path f = files.get(i);
          try {
            Path tmp = target.resolve("." + i + ".part"); // hidden while written: the watcher skips it
            Files.copy(f, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target.resolve(i + "-" + f.getFileName()), StandardCopyOption.ATOMIC_MOVE);
            copied.incrementAndGet();
          } catch (IOException e) {
            return;
          }
          LockSupport.parkNanos(pauseNs);
        }
      });
    }

    void stop() throws InterruptedException {
      thread.interrupt();
      thread.join();
    }
  }

  /** The nearest-rank percentile of sorted values; NaN for none. */
  static double percentile(long[] sorted, double q) {
    return sorted.length == 0 ? Double.NaN : sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1))];
  }

  static double percentile(double[] sorted, double q) {
    return sorted.length == 0 ? Double.NaN : sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1))];
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** Three decimals; null (JSON null) for NaN, which JSON cannot hold. */
  private static Double round(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? null : Math.round(v * 1000) / 1000.0;
  }
}
