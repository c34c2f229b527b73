package dev.loupe.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.http.LoupeServer;
import dev.loupe.http.Main;
import dev.loupe.http.ServerConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe serve} in-process, as the composition root builds it, over real HTTP. */
class ServeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;

  private LoupeServer start() throws IOException {
    return Main.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")));
  }

  private static HttpResponse<String> get(LoupeServer server, String path)
      throws IOException, InterruptedException {
    URI uri = URI.create("http://127.0.0.1:" + server.port() + path);
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void health_describes_the_empty_default_store_and_the_folders() throws Exception {
    try (LoupeServer server = start()) {
      HttpResponse<String> response = get(server, "/api/health");

      assertEquals(200, response.statusCode(), response.body());
      JsonNode body = JSON.readTree(response.body());
      assertEquals("ok", body.get("status").asText());
      assertTrue(body.get("version").asText().matches("\\d+\\.\\d+\\.\\d+.*"), response.body());
      assertTrue(body.at("/store/kind").asText().matches("[a-z]+"), response.body());
      assertEquals(0, body.at("/store/items").asInt());
      assertEquals(512, body.at("/store/dimension").asInt());
      assertEquals("COSINE", body.at("/store/similarity").asText());
      assertEquals(data.toAbsolutePath().toString(), body.get("data").asText());
      assertEquals(data.resolve("inbox").toAbsolutePath().toString(), body.get("watch").get(0).asText());
    }
  }

  @Test
  void serve_starts_without_the_clip_model_and_health_says_how_to_install_it() throws Exception {
    try (LoupeServer server = start()) {
      JsonNode body = JSON.readTree(get(server, "/api/health").body());

      assertEquals(data.resolve("models").toAbsolutePath().toString(), body.at("/models/dir").asText());
      assertEquals("clip-vit-b32", body.at("/models/clip/name").asText());
      assertFalse(body.at("/models/clip/installed").asBoolean(true));
      assertEquals("./loupe models pull clip-vit-b32", body.at("/models/clip/fix").asText());
      assertFalse(Files.exists(data.resolve("models")), "checking for a model creates nothing");
    }
  }

  @Test
  void serve_creates_the_watch_folder_and_the_index_in_the_data_folder() throws Exception {
    LoupeServer server = start();
    assertTrue(Files.isDirectory(data.resolve("inbox")));
    server.close();

    assertTrue(Files.isDirectory(data.resolve("index/visual")), "the store lives in <data>/index/visual");
  }

  @Test
  void serve_ingests_what_is_dropped_into_the_watch_folder() throws Exception {
    try (LoupeServer server = start()) {
      Files.writeString(data.resolve("inbox/dropped.txt"), "A note about lighthouses and tides, dropped while serving.");
      // Taken once its size has been stable for the settle time. No clock is asserted: the
      // deadline only bounds a hang.
      long deadline = System.nanoTime() + 120_000_000_000L;
      JsonNode status;
      do {
        Thread.sleep(200);
        HttpResponse<String> response = get(server, "/api/ingest/status");
        assertEquals(200, response.statusCode(), response.body());
        status = JSON.readTree(response.body());
      } while (status.get("done").asInt() < 1 && System.nanoTime() < deadline);

      assertEquals(1, status.get("done").asInt(), status.toString());
      assertEquals(0, status.get("failed").asInt(), status.toString());
      assertTrue(status.get("items").asLong() >= 1, status.toString());
      assertEquals("running", status.get("state").asText());
    }
  }

  private static HttpResponse<String> post(LoupeServer server, String path, String body)
      throws IOException, InterruptedException {
    URI uri = URI.create("http://127.0.0.1:" + server.port() + path);
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void ingest_pauses_resumes_and_retries_over_http() throws Exception {
    try (LoupeServer server = start()) {
      HttpResponse<String> paused = post(server, "/api/ingest/pause", "");
      assertEquals(200, paused.statusCode(), paused.body());
      assertEquals("paused", JSON.readTree(paused.body()).get("state").asText());
      HttpResponse<String> resumed = post(server, "/api/ingest/resume", "");
      assertEquals("running", JSON.readTree(resumed.body()).get("state").asText());

      Path file = Files.writeString(data.resolve("inbox/note.txt"), "retry me").toAbsolutePath();
      HttpResponse<String> retry = post(server, "/api/ingest/retry", JSON.writeValueAsString(java.util.Map.of("path", file.toString())));
      assertEquals(200, retry.statusCode(), retry.body());
      assertEquals(file.toString(), JSON.readTree(retry.body()).get("path").asText());
      assertTrue(JSON.readTree(retry.body()).get("action").asText().matches("unchanged|hash|ingest"), retry.body());

      // The names for the same routes answer the same.
      HttpResponse<String> alias = post(server, "/api/files/retry", JSON.writeValueAsString(java.util.Map.of("path", file.toString())));
      assertEquals(200, alias.statusCode(), alias.body());
      assertEquals(file.toString(), JSON.readTree(alias.body()).get("path").asText());
      HttpResponse<String> status = get(server, "/api/status");
      assertEquals(200, status.statusCode(), status.body());
      assertTrue(JSON.readTree(status.body()).has("done"), status.body());

      Path missing = data.resolve("inbox/never-seen.txt").toAbsolutePath();
      HttpResponse<String> gone = post(server, "/api/ingest/retry", JSON.writeValueAsString(java.util.Map.of("path", missing.toString())));
      assertEquals(404, gone.statusCode(), gone.body());
      assertTrue(gone.body().contains("never-seen.txt"), gone.body());

      // Only files inside a watch folder, named plainly; malformed bodies are named in the error.
      for (String body : new String[] {"{\"path\": \"/etc/passwd\"}", "{\"path\": \"relative.txt\"}",
          "{\"path\": \"" + data.resolve("inbox") + "/../secret\"}", "not json", "{}"}) {
        HttpResponse<String> bad = post(server, "/api/ingest/retry", body);
        assertEquals(400, bad.statusCode(), body + " -> " + bad.body());
        assertTrue(JSON.readTree(bad.body()).get("error").asText().length() > 10, bad.body());
      }
    }
  }

  @Test
  void an_unknown_route_is_a_json_404() throws Exception {
    try (LoupeServer server = start()) {
      HttpResponse<String> response = get(server, "/api/does-not-exist");

      assertEquals(404, response.statusCode());
      assertTrue(
          response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
          response.headers().toString());
      JsonNode body = JSON.readTree(response.body());
      assertEquals(404, body.get("status").asInt());
      assertEquals("no route GET /api/does-not-exist", body.get("error").asText());
    }
  }

  @Test
  void the_server_binds_to_loopback_only() throws Exception {
    try (LoupeServer server = start()) {
      InetSocketAddress bound = server.address();

      assertTrue(bound.getAddress().isLoopbackAddress(), "bound to " + bound);
      assertEquals(server.port(), bound.getPort());
    }
  }

  @Test
  void the_server_cannot_be_reached_on_a_non_loopback_address_of_this_machine() throws Exception {
    Optional<InetAddress> external = nonLoopbackAddress();
    assumeTrue(external.isPresent(), "this machine has no non-loopback IPv4 address to try");

    try (LoupeServer server = start();
        Socket socket = new Socket()) {
      InetSocketAddress target = new InetSocketAddress(external.get(), server.port());

      assertThrows(ConnectException.class, () -> socket.connect(target), "connected to " + target);
    }
  }

  private static Optional<InetAddress> nonLoopbackAddress() throws SocketException {
    return NetworkInterface.networkInterfaces()
        .filter(ServeTest::isUp)
        .flatMap(NetworkInterface::inetAddresses)
        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
        .findFirst();
  }

  private static boolean isUp(NetworkInterface nic) {
    try {
      return nic.isUp() && !nic.isLoopback();
    } catch (SocketException e) {
      return false; // an interface we cannot query is one we do not try
    }
  }
}
