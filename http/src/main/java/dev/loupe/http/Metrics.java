package dev.loupe.http;

import dev.loupe.indexer.IngestStatus;
import dev.loupe.indexer.Ingester;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * {@code GET /metrics} in the Prometheus text format (version 0.0.4): requests by route and
 * status, request latency histograms by route, the indexes' sizes and the ingest pipeline's
 * counts and rates.
 *
 * <p>Routes are labelled by the path they were declared with ({@code /api/items/{id}}), never by
 * the request's path, so a scan of random URLs cannot grow the series without bound: requests
 * that match no route count under {@code route="unmatched"}. Latency is Javalin's own measure of
 * each request, from arrival to the response's last byte handed to Jetty.
 *
 * <p>Thread-safe: counters are adders, series are created once per route, method and status.
 */
final class Metrics {
  /** Upper bounds of the latency buckets, in seconds. */
  static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private record Route(String method, String path) {}

  private record Outcome(Route route, int status) {}

  private static final class Histogram {
    final LongAdder[] buckets = new LongAdder[BUCKETS.length];
    final LongAdder count = new LongAdder();
    final DoubleAdder sum = new DoubleAdder();

    Histogram() {
      Arrays.setAll(buckets, i -> new LongAdder());
    }

    void observe(double seconds) {
      for (int i = 0; i < BUCKETS.length; i++) {
        if (seconds <= BUCKETS[i]) {
          buckets[i].increment();
          break;
        }
      }
      count.increment();
      sum.add(seconds);
    }
  }

  private final Map<Outcome, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<Route, Histogram> latency = new ConcurrentHashMap<>();
  private final Supplier<Map<String, Integer>> indexSizes;
  private final Ingester ingester;

  /**
   * @param indexSizes items per index, by index name ({@code visual}, {@code text})
   * @param ingester the running pipeline, or null
   */
  Metrics(Supplier<Map<String, Integer>> indexSizes, Ingester ingester) {
    this.indexSizes = indexSizes;
    this.ingester = ingester;
  }

  /** Records every request and serves {@code GET /metrics}. */
  void install(JavalinConfig c) {
    c.requestLogger.http(this::record);
    c.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(render()));
  }

  void record(Context ctx, Float ms) {
    Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
    Route route = new Route(ctx.method().name(), endpoint == null ? "unmatched" : endpoint.path);
    requests.computeIfAbsent(new Outcome(route, ctx.statusCode()), k -> new LongAdder()).increment();
    latency.computeIfAbsent(route, k -> new Histogram()).observe(ms / 1000.0);
  }

  String render() {
    StringBuilder out = new StringBuilder(4096);
    out.append("# HELP loupe_http_requests_total HTTP requests answered, by route and status.\n");
    out.append("# TYPE loupe_http_requests_total counter\n");
    requests.entrySet().stream()
        .sorted(Comparator.comparing((Map.Entry<Outcome, LongAdder> e) -> e.getKey().route().path())
            .thenComparing(e -> e.getKey().route().method()).thenComparingInt(e -> e.getKey().status()))
        .forEach(e -> out.append("loupe_http_requests_total{method=\"").append(e.getKey().route().method())
            .append("\",route=\"").append(escape(e.getKey().route().path())).append("\",status=\"").append(e.getKey().status())
            .append("\"} ").append(e.getValue().sum()).append('\n'));

    out.append("# HELP loupe_http_request_duration_seconds Time to answer a request, by route.\n");
    out.append("# TYPE loupe_http_request_duration_seconds histogram\n");
    latency.entrySet().stream()
        .sorted(Comparator.comparing((Map.Entry<Route, Histogram> e) -> e.getKey().path()).thenComparing(e -> e.getKey().method()))
        .forEach(e -> {
          String labels = "method=\"" + e.getKey().method() + "\",route=\"" + escape(e.getKey().path()) + "\"";
          Histogram h = e.getValue();
          long count = h.count.sum();
          long cumulative = 0;
          for (int i = 0; i < BUCKETS.length; i++) {
            cumulative += h.buckets[i].sum();
            out.append("loupe_http_request_duration_seconds_bucket{").append(labels).append(",le=\"").append(number(BUCKETS[i]))
                .append("\"} ").append(Math.min(cumulative, count)).append('\n');
          }
          out.append("loupe_http_request_duration_seconds_bucket{").append(labels).append(",le=\"+Inf\"} ").append(count).append('\n');
          out.append("loupe_http_request_duration_seconds_sum{").append(labels).append("} ").append(number(h.sum.sum())).append('\n');
          out.append("loupe_http_request_duration_seconds_count{").append(labels).append("} ").append(count).append('\n');
        });

    gauge(out, "loupe_index_items", "Items in each index.", labelled("index", indexSizes.get()));
    if (ingester != null) {
      IngestStatus s = ingester.status();
      Map<String, Number> files = new LinkedHashMap<>();
      files.put("seen", s.seen());
      files.put("pending", s.pending());
      files.put("done", s.done());
      files.put("failed", s.failed());
      gauge(out, "loupe_ingest_files", "Files the ingest journal knows, by state.", labelled("state", files));
      gauge(out, "loupe_ingest_failed_files", "Failed files by reason.", labelled("reason", s.failedByReason()));
      gauge(out, "loupe_ingest_items", "Index items committed by the ingest pipeline.", Map.of("", s.items()));
      gauge(out, "loupe_ingest_files_per_second", "Files finished per second over the last "
          + Ingester.RATE_WINDOW_SECONDS + " s.", Map.of("", s.filesPerSecond()));
      gauge(out, "loupe_ingest_items_per_second", "Items committed per second over the last "
          + Ingester.RATE_WINDOW_SECONDS + " s.", Map.of("", s.itemsPerSecond()));
      gauge(out, "loupe_ingest_paused", "1 while ingestion is paused.", Map.of("", s.state() == IngestStatus.State.PAUSED ? 1 : 0));
    }
    var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    gauge(out, "loupe_jvm_heap_used_bytes", "Java heap in use.", Map.of("", heap.getUsed()));
    return out.toString();
  }

  private static Map<String, Number> labelled(String label, Map<String, ? extends Number> values) {
    Map<String, Number> m = new LinkedHashMap<>();
    values.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> m.put(label + "=\"" + escape(e.getKey()) + "\"", e.getValue()));
    return m;
  }

  /** One gauge; keys are the label sets ({@code ""} for none). */
  private static void gauge(StringBuilder out, String name, String help, Map<String, ? extends Number> values) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(" gauge\n");
    for (var e : values.entrySet()) {
      out.append(name).append(e.getKey().isEmpty() ? "" : "{" + e.getKey() + "}").append(' ').append(number(e.getValue().doubleValue())).append('\n');
    }
  }

  private static String number(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return String.format(Locale.ROOT, "%s", v);
  }

  /** Label values escaped as the text format asks: backslash, double quote and new line. */
  static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  /** Metric names this class writes, for tests and docs. */
  static final List<String> NAMES = List.of("loupe_http_requests_total", "loupe_http_request_duration_seconds", "loupe_index_items",
      "loupe_ingest_files", "loupe_ingest_failed_files", "loupe_ingest_items", "loupe_ingest_files_per_second",
      "loupe_ingest_items_per_second", "loupe_ingest_paused", "loupe_jvm_heap_used_bytes");
}
