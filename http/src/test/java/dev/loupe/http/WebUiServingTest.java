package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server hosts the {@code ui} module's page and modules at {@code /}; no browser needed. */
class WebUiServingTest {
  private static final Pattern IMPORT = Pattern.compile("from '\\./([a-z]+\\.js)'");

  @TempDir Path data;

  private LoupeServer start() throws IOException {
    return LoupeServer.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")),
        new Store("fixed", new FixedIndex(new IndexSpec(4, Similarity.DOT_PRODUCT), 0)));
  }

  private static HttpResponse<String> get(LoupeServer server, String path) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(server.url().resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void the_page_is_served_at_the_root_and_kept_to_this_server_by_its_policy() throws Exception {
    try (LoupeServer server = start()) {
      HttpResponse<String> page = get(server, "/");

      assertEquals(200, page.statusCode());
      assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"), page.headers().toString());
      assertTrue(page.body().contains("<script type=\"module\" src=\"app.js\"></script>"), page.body());
      String policy = page.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(policy.startsWith("default-src 'self';"), policy);
      assertEquals("nosniff", page.headers().firstValue("X-Content-Type-Options").orElse(""));
      assertTrue(!page.body().contains("http://") && !page.body().contains("https://"), "no external URL in the page");
    }
  }

  @Test
  void every_module_the_page_imports_is_served_as_javascript() throws Exception {
    try (LoupeServer server = start()) {
      Deque<String> todo = new ArrayDeque<>(Set.of("app.js"));
      Set<String> seen = new HashSet<>();
      while (!todo.isEmpty()) {
        String module = todo.pop();
        if (!seen.add(module)) {
          continue;
        }
        HttpResponse<String> js = get(server, "/" + module);
        assertEquals(200, js.statusCode(), module);
        assertTrue(js.headers().firstValue("Content-Type").orElse("").contains("javascript"), module + " " + js.headers());
        assertTrue(!js.body().contains("http://") && !js.body().contains("https://"), module + " names an external URL");
        Matcher m = IMPORT.matcher(js.body());
        while (m.find()) {
          todo.push(m.group(1));
        }
      }
      assertTrue(seen.containsAll(Set.of("app.js", "api.js", "ingest.js", "firstrun.js", "search.js", "format.js")), seen.toString());
      assertEquals(200, get(server, "/style.css").statusCode());
      assertEquals(200, get(server, "/icon.svg").statusCode());
    }
  }

  @Test
  void api_routes_are_not_shadowed_and_unknown_ones_stay_json_404s() throws Exception {
    try (LoupeServer server = start()) {
      assertEquals(200, get(server, "/api/health").statusCode());
      HttpResponse<String> missing = get(server, "/api/no-such-route");
      assertEquals(404, missing.statusCode());
      assertTrue(missing.body().contains("\"error\""), missing.body());
      assertEquals(404, get(server, "/no-such-file.js").statusCode());
    }
  }
}
