package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} on the real server with its ingest pipeline: a valid text exposition that counts what happened. */
class MetricsTest {
  /** name, then optional {label="value",...} (values may hold braces and escaped quotes), then the value. */
  private static final Pattern SAMPLE =
      Pattern.compile("([a-z_]+)(\\{((?:[a-z_]+=\"(?:[^\"\\\\]|\\\\.)*\",?)*)\\})? (-?[0-9.eE+-]+|NaN|\\+Inf)");

  private record Sample(String name, String labels, double value) {}

  @Test
  void counts_requests_by_declared_route_and_status_with_cumulative_latency_buckets(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    try (LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, inbox))) {
      URI base = server.url();
      for (int i = 0; i < 3; i++) {
        assertEquals(200, get(base, "api/health").statusCode());
      }
      assertEquals(404, get(base, "api/items/" + "ab".repeat(32) + "%230").statusCode());
      assertEquals(404, get(base, "no/such/" + "x".repeat(20)).statusCode());
      assertEquals(400, get(base, "api/search?q=x&k=abc").statusCode());

      HttpResponse<String> m = get(base, "metrics");
      assertEquals(200, m.statusCode());
      assertTrue(m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"), m.headers().toString());
      List<Sample> samples = parse(m.body());

      assertEquals(3, value(samples, "loupe_http_requests_total", "method=\"GET\",route=\"/api/health\",status=\"200\""));
      assertEquals(1, value(samples, "loupe_http_requests_total", "method=\"GET\",route=\"/api/items/{id}\",status=\"404\""));
      assertEquals(1, value(samples, "loupe_http_requests_total", "method=\"GET\",route=\"/api/search\",status=\"400\""));
      assertEquals(1, value(samples, "loupe_http_requests_total", "method=\"GET\",route=\"unmatched\",status=\"404\""));
      assertFalse(m.body().contains("no/such"), "unmatched paths are not labels");

      // Buckets are cumulative, end at +Inf with the count, and the count matches the requests.
      String health = "method=\"GET\",route=\"/api/health\"";
      double previous = 0;
      for (double le : Metrics.BUCKETS) {
        double b = value(samples, "loupe_http_request_duration_seconds_bucket", health + ",le=\"" + number(le) + "\"");
        assertTrue(b >= previous, "bucket " + le);
        previous = b;
      }
      assertEquals(3, value(samples, "loupe_http_request_duration_seconds_bucket", health + ",le=\"+Inf\""));
      assertEquals(3, value(samples, "loupe_http_request_duration_seconds_count", health));
      assertTrue(value(samples, "loupe_http_request_duration_seconds_sum", health) > 0);

      // Index sizes and ingest counts come from the real pipeline.
      assertEquals(0, value(samples, "loupe_index_items", "index=\"text\""));
      assertEquals(0, value(samples, "loupe_ingest_paused", ""));
      Files.writeString(inbox.resolve("note.txt"), "A note about lighthouses and storms.");
      server.pipeline().ingester().rescan();
      assertTrue(server.pipeline().ingester().awaitIdle(java.time.Duration.ofMinutes(2)));
      while (server.pipeline().ingester().status().done() < 1) {
        Thread.sleep(50); // the settle time passes, then the file is ingested and committed
      }
      List<Sample> after = parse(get(base, "metrics").body());
      assertEquals(1, value(after, "loupe_ingest_files", "state=\"done\""));
      assertEquals(1, value(after, "loupe_index_items", "index=\"text\""));
      assertEquals(1, value(after, "loupe_ingest_items", ""));
    }
  }

  private static String number(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  private static double value(List<Sample> samples, String name, String labels) {
    return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).mapToDouble(Sample::value)
        .findFirst().orElseThrow(() -> new AssertionError("no sample " + name + "{" + labels + "}"));
  }

  /** Every line is a comment (# HELP / # TYPE) or a sample; every sample's family has its TYPE. */
  private static List<Sample> parse(String body) {
    List<Sample> samples = new ArrayList<>();
    Map<String, String> types = new HashMap<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        types.put(parts[2], parts[3]);
        continue;
      }
      if (line.startsWith("# HELP ")) continue;
      Matcher m = SAMPLE.matcher(line);
      assertTrue(m.matches(), "not a sample line: " + line);
      String name = m.group(1);
      String family = name.replaceFirst("_(bucket|sum|count)$", "");
      assertTrue(types.containsKey(name) || types.containsKey(family), "no TYPE before " + line);
      samples.add(new Sample(name, m.group(3) == null ? "" : m.group(3), Double.parseDouble(m.group(4).replace("+Inf", "Infinity"))));
    }
    return samples;
  }

  private static HttpResponse<String> get(URI base, String path) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(base.resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
  }
}
