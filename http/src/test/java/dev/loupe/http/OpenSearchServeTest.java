package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.vectorstore.opensearch.OpenSearchTestCluster;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe serve --store opensearch} on the real 2-node test cluster: files ingested through
 * the server land in the cluster's indexes and the search API finds them, also after a restart.
 */
@ExtendWith(OpenSearchTestCluster.class)
class OpenSearchServeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newHttpClient();
  private static final String PREFIX = "loupe-test-serve-";

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode search(LoupeServer server, String q) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(server.localUrl().resolve(
        "api/search?k=5&q=" + URLEncoder.encode(q, StandardCharsets.UTF_8))));
    assertEquals(200, r.statusCode(), r.body());
    return JSON.readTree(r.body());
  }

  private static void deleteIndexes() throws Exception {
    for (String name : List.of(PREFIX + "text", PREFIX + "visual")) {
      send(HttpRequest.newBuilder(URI.create(OpenSearchTestCluster.URLS.getFirst() + "/" + name)).DELETE());
    }
  }

  @Test
  void serve_with_the_opensearch_store_ingests_and_searches_through_the_api(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("lighthouse.txt"), "The lighthouse keeper logs every storm that passes the cape.");
    Files.writeString(inbox.resolve("harbour.txt"), "Boats wait in the harbour while the storm passes over the lighthouse.");
    Files.writeString(inbox.resolve("bread.txt"), "A recipe for sourdough bread with a long cold proof.");
    String urls = OpenSearchTestCluster.URLS.get(0) + "," + OpenSearchTestCluster.URLS.get(1);
    Command.Serve serve = (Command.Serve) Command.parse(List.of("serve", "--data", data.toString(), "--port", "0",
        "--watch", tmp.resolve("watch").toString(), "--store", "opensearch", "--opensearch-url", urls,
        "--opensearch-index-prefix", PREFIX), Map.of());
    deleteIndexes();
    try {
      try (LoupeServer server = Main.start(serve.config(), serve.store())) {
        server.pipeline().ingester().ingest(List.of(inbox));
        JsonNode found = search(server, "lighthouse keeper");
        JsonNode top = found.get("hits").get(0);
        assertEquals(inbox.resolve("lighthouse.txt").toAbsolutePath().toString(), top.get("path").asText(), found.toString());
        assertEquals(2, found.get("hits").size(), found.toString());
      }
      // The passages are in the cluster, not in the data folder.
      assertTrue(Files.notExists(data.resolve("index/text")), "a Lucene index was written under " + data);
      HttpResponse<String> count = send(HttpRequest.newBuilder(URI.create(OpenSearchTestCluster.URLS.get(1) + "/" + PREFIX + "text/_count")));
      assertEquals(200, count.statusCode(), count.body());
      assertEquals(3, JSON.readTree(count.body()).get("count").asInt(), count.body());
      // A restart finds them again: the mapping is checked and the ids are read back.
      try (LoupeServer again = Main.start(serve.config(), serve.store())) {
        JsonNode bread = search(again, "sourdough");
        assertEquals(inbox.resolve("bread.txt").toAbsolutePath().toString(), bread.get("hits").get(0).get("path").asText(), bread.toString());
      }
    } finally {
      deleteIndexes();
    }
  }

  @Test
  void opensearch_options_need_the_opensearch_store_and_a_url() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Command.parse(List.of("serve", "--opensearch-url", "http://127.0.0.1:9250"), Map.of()));
    assertTrue(e.getMessage().contains("--store opensearch"), e.getMessage());
    var noUrl = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Command.parse(List.of("serve", "--store", "opensearch"), Map.of()));
    assertTrue(noUrl.getMessage().contains("--opensearch-url"), noUrl.getMessage());
    var bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Command.parse(List.of("serve", "--store", "elastic"), Map.of()));
    assertTrue(bad.getMessage().contains("'elastic'"), bad.getMessage());
  }
}
