package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.model.ModelCatalog;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import java.io.IOException;
import java.net.BindException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link LoupeServer} with a stand-in store: routes, error bodies, binding and shutdown. */
class LoupeServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;

  private final FixedIndex index = new FixedIndex(new IndexSpec(4, Similarity.DOT_PRODUCT), 3);

  private ServerConfig config(int port) {
    return new ServerConfig("127.0.0.1", port, data, data.resolve("inbox"));
  }

  private static HttpResponse<String> get(LoupeServer server, String path)
      throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(
          HttpRequest.newBuilder(server.url().resolve(path)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void health_reports_the_store_it_was_given() throws Exception {
    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      HttpResponse<String> response = get(server, "/api/health");

      assertEquals(200, response.statusCode());
      assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
      JsonNode body = JSON.readTree(response.body());
      assertEquals("ok", body.get("status").asText());
      assertEquals(Version.NUMBER, body.get("version").asText());
      assertEquals("fixed", body.at("/store/kind").asText());
      assertEquals(3, body.at("/store/items").asInt());
      assertEquals(4, body.at("/store/dimension").asInt());
      assertEquals("DOT_PRODUCT", body.at("/store/similarity").asText());
      assertEquals(data.toAbsolutePath().toString(), body.get("data").asText());
      assertEquals(data.resolve("inbox").toAbsolutePath().toString(), body.get("watch").get(0).asText());
    }
  }

  @Test
  void health_reports_a_missing_clip_model_with_the_command_that_installs_it() throws Exception {
    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      JsonNode body = JSON.readTree(get(server, "/api/health").body());

      assertEquals(data.resolve("models").toAbsolutePath().toString(), body.at("/models/dir").asText());
      assertEquals("clip-vit-b32", body.at("/models/clip/name").asText());
      assertFalse(body.at("/models/clip/installed").asBoolean(true));
      assertEquals("not installed", body.at("/models/clip/status").asText());
      assertEquals("./loupe models pull clip-vit-b32", body.at("/models/clip/fix").asText());
      String message = body.at("/models/clip/message").asText();
      assertTrue(message.startsWith("Image search is off: the CLIP model clip-vit-b32 is not installed."), message);
      assertTrue(message.contains("Document search works meanwhile, with BM25"), message);
      assertTrue(message.contains("./loupe models import DIR"), message);
    }
  }

  @Test
  void health_names_the_file_of_a_damaged_clip_model() throws Exception {
    Path model = data.resolve("models/clip-vit-b32");
    Files.createDirectories(model);
    Files.writeString(model.resolve("model.json"), ModelCatalog.builtIn().get("clip-vit-b32").toJson());

    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      JsonNode body = JSON.readTree(get(server, "/api/health").body());

      assertFalse(body.at("/models/clip/installed").asBoolean(true));
      assertEquals("corrupt: onnx/text_model_quantized.onnx is missing", body.at("/models/clip/status").asText());
      assertTrue(body.at("/models/clip/message").asText().startsWith(
          "Image search is off: the CLIP model clip-vit-b32 is damaged (onnx/text_model_quantized.onnx is missing)."),
          body.at("/models/clip/message").asText());
      assertEquals("./loupe models pull clip-vit-b32", body.at("/models/clip/fix").asText());
    }
  }

  @Test
  void unknown_routes_answer_a_json_404() throws Exception {
    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      HttpResponse<String> response = get(server, "/api/nope");

      assertEquals(404, response.statusCode());
      JsonNode body = JSON.readTree(response.body());
      assertEquals(404, body.get("status").asInt());
      assertEquals("no route GET /api/nope", body.get("error").asText());
    }
  }

  @Test
  void port_zero_gets_a_real_port_on_loopback() throws Exception {
    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      assertTrue(server.port() > 0, "port " + server.port());
      assertTrue(server.address().getAddress().isLoopbackAddress(), server.address().toString());
      assertEquals(URI.create("http://127.0.0.1:" + server.port() + "/"), server.url());
    }
  }

  @Test
  void closing_the_server_closes_and_commits_the_store_once() throws Exception {
    LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index));
    server.close();
    server.close();

    assertTrue(index.closed);
    assertEquals(1, index.commits);
    server.awaitClose(); // returns at once after close
  }

  @Test
  void a_server_without_an_ingest_pipeline_does_not_claim_the_data_folder() throws Exception {
    try (LoupeServer server = LoupeServer.start(config(0), new Store("fixed", index))) {
      assertFalse(Files.exists(data.resolve(ServeFile.NAME)), "only the server holding the journal writes serve.json");
    }
  }

  @Test
  void a_taken_port_is_a_bind_exception_naming_the_port() throws Exception {
    try (LoupeServer first = LoupeServer.start(config(0), new Store("fixed", index))) {
      FixedIndex other = new FixedIndex(new IndexSpec(4, Similarity.DOT_PRODUCT), 0);

      BindException e =
          assertThrows(
              BindException.class,
              () -> LoupeServer.start(config(first.port()), new Store("fixed", other)));

      assertTrue(e.getMessage().contains("port " + first.port()), e.getMessage());
      assertFalse(other.closed, "the caller owns the store when start fails");
    }
  }
}
