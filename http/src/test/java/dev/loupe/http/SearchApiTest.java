package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The search routes against the real server on a loopback port, over a data folder filled by a
 * real {@code loupe ingest} of generated files: without models (keyword search, 503 for image
 * queries) and with a generated CLIP-shaped model installed as clip-vit-b32.
 */
class SearchApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  private record Answer(int status, String type, byte[] body, java.net.http.HttpHeaders headers) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private static Answer send(HttpRequest.Builder request) throws Exception {
    HttpResponse<byte[]> r = CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    return new Answer(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body(), r.headers());
  }

  private static Answer get(LoupeServer server, String path) throws Exception {
    return send(HttpRequest.newBuilder(server.localUrl().resolve(path)));
  }

  private static Answer postJson(LoupeServer server, String body) throws Exception {
    return send(HttpRequest.newBuilder(server.localUrl().resolve("api/search")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private static Answer postFile(LoupeServer server, String name, byte[] content) throws Exception {
    String boundary = "loupe-test-boundary";
    var body = new ByteArrayOutputStream();
    body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n5\r\n").getBytes(StandardCharsets.UTF_8));
    body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + name
        + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    body.write(content);
    body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return send(HttpRequest.newBuilder(server.localUrl().resolve("api/search"))
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
  }

  private static String q(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static String item(String id) {
    return "api/items/" + q(id);
  }

  private static void assertError(Answer a, int status, String... parts) throws IOException {
    assertEquals(status, a.status(), a.text());
    assertEquals(status, a.json().get("status").asInt(), a.text());
    for (String part : parts) {
      assertTrue(a.json().get("error").asText().contains(part), a.text());
    }
  }

  @Test
  void without_models_text_search_is_keyword_search_over_passages_and_image_search_asks_for_clip(@TempDir Path tmp)
      throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("lighthouse.txt"), "The lighthouse keeper logs every storm that passes the cape.");
    Files.writeString(inbox.resolve("harbour.txt"), "Boats wait in the harbour while the storm passes over the lighthouse.");
    Files.writeString(inbox.resolve("bread.txt"), "A recipe for sourdough bread with a long cold proof.");
    Files.write(inbox.resolve("picture.png"), Fixtures.png(Color.RED, 64));
    Fixtures.ingest(data, inbox);

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      // GET search: BM25 over passages, with a plain-text snippet, offsets, timing and what is missing.
      Answer found = get(server, "api/search?q=" + q("lighthouse keeper") + "&k=5");
      assertEquals(200, found.status(), found.text());
      JsonNode body = found.json();
      JsonNode top = body.get("hits").get(0);
      assertEquals("text", top.get("type").asText());
      assertEquals(inbox.resolve("lighthouse.txt").toAbsolutePath().toString(), top.get("path").asText());
      assertTrue(top.get("snippet").asText().contains("lighthouse keeper"), top.toString());
      JsonNode mark = top.get("highlights").get(0);
      assertEquals("lighthouse", top.get("snippet").asText().substring(mark.get(0).asInt(), mark.get(1).asInt()));
      assertEquals(2, body.get("hits").size(), body.toString());
      assertTrue(body.get("took_ms").asDouble() >= 0, body.toString());
      JsonNode visual = body.get("sides").get(1);
      assertEquals("visual", visual.get("space").asText());
      assertTrue(visual.get("method").isNull());
      assertEquals("./loupe models pull clip-vit-b32", visual.get("fix").asText());

      // Paging and filters.
      Answer second = get(server, "api/search?q=lighthouse&k=1&offset=1");
      assertEquals(1, second.json().get("hits").size());
      assertEquals(2, second.json().get("hits").get(0).get("rank").asInt());
      assertFalse(second.json().get("more").asBoolean());
      assertEquals(0, get(server, "api/search?q=lighthouse&path=" + q("/nowhere/")).json().get("hits").size());
      assertEquals(0, get(server, "api/search?q=lighthouse&from=2020-01-01").json().get("hits").size(),
          "passages have no date");

      // POST JSON, similar_to (by words without the passage model) and items.
      Answer posted = postJson(server, "{\"q\": \"sourdough\", \"types\": [\"text\"], \"mode\": \"keyword\"}");
      assertEquals(200, posted.status(), posted.text());
      String bread = posted.json().get("hits").get(0).get("id").asText();
      String lighthouse = top.get("id").asText();
      Answer similar = get(server, "api/search?similar_to=" + q(lighthouse));
      assertEquals(200, similar.status(), similar.text());
      assertEquals(1, similar.json().get("hits").size(), similar.text());
      assertFalse(similar.text().contains(lighthouse), "an item is not similar to itself");

      Answer meta = get(server, item(bread));
      assertEquals(200, meta.status(), meta.text());
      assertEquals(List.of(inbox.resolve("bread.txt").toAbsolutePath().toString()),
          JSON.convertValue(meta.json().get("paths"), List.class));
      Answer content = get(server, item(bread) + "/content");
      assertEquals(200, content.status());
      assertTrue(content.type().startsWith("text/plain"), content.type());
      assertArrayEquals(Files.readAllBytes(inbox.resolve("bread.txt")), content.body());
      assertError(get(server, item(bread) + "/thumbnail"), 404, "has no thumbnail");
      String unknown = "0".repeat(64) + "#0";
      assertError(get(server, item(unknown)), 404, unknown);
      assertError(get(server, item(unknown) + "/content"), 404, unknown);
      assertError(get(server, item(unknown) + "/thumbnail"), 404, unknown);
      assertError(get(server, "api/search?similar_to=" + q(unknown)), 404, unknown);
      Files.delete(inbox.resolve("bread.txt"));
      assertError(get(server, item(bread) + "/content"), 404, "are gone");

      // Bad parameters name themselves and their value.
      assertError(get(server, "api/search?q=x&k=abc"), 400, "k 'abc'");
      assertError(get(server, "api/search?q=x&k=500"), 400, "k 500");
      assertError(get(server, "api/search?q=x&mode=fuzzy"), 400, "mode 'fuzzy'");
      assertError(get(server, "api/search?q=x&from=2024-02-01&to=2024-01-01"), 400, "from '2024-02-01' is after to '2024-01-01'");
      assertError(get(server, "api/search?q=x&types=movie"), 400, "'movie'");
      assertError(get(server, "api/search?q=x&min_score=high"), 400, "min_score 'high'");
      assertError(get(server, "api/search"), 400, "q (text)");
      assertError(postJson(server, "{\"q\": "), 400, "not valid JSON");

      // Images: sniffed by decoding, size-limited, and 503 with the fix while CLIP is missing.
      assertError(postFile(server, "notes.png", "not an image at all".getBytes(StandardCharsets.UTF_8)), 415, "notes.png");
      assertError(postJson(server, "{\"image\": \"" + Base64.getEncoder().encodeToString("plain text".getBytes()) + "\"}"), 415);
      assertError(postFile(server, "huge.png", new byte[SearchApi.MAX_IMAGE_BYTES + (128 << 10)]), 413, "over the limit");
      String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(Fixtures.png(Color.RED, 32));
      assertError(postJson(server, "{\"image\": \"" + dataUrl + "\"}"), 503, "./loupe models pull clip-vit-b32");
      assertError(postFile(server, "red.png", Fixtures.png(Color.RED, 32)), 503, "./loupe models pull clip-vit-b32");
      assertError(get(server, "api/search?q=red&types=image"), 503, "./loupe models pull clip-vit-b32");
    } finally {
      server.close();
    }
  }

  @Test
  void with_a_clip_model_installed_an_image_finds_itself_with_its_thumbnail_and_file(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    GeneratedModels.installClip(data); // a tiny CLIP-shaped model under the name the pipeline looks for

    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    byte[] red = Fixtures.png(Color.RED, 96);
    Files.write(inbox.resolve("red.png"), red);
    Files.write(inbox.resolve("blue.png"), Fixtures.png(Color.BLUE, 96));
    Files.write(inbox.resolve("green.png"), Fixtures.png(Color.GREEN, 96));
    Files.writeString(inbox.resolve("notes.txt"), "Notes about a red kite.");
    Fixtures.ingest(data, inbox);

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      Answer byImage = postFile(server, "query.png", red);
      assertEquals(200, byImage.status(), byImage.text());
      JsonNode top = byImage.json().get("hits").get(0);
      assertEquals("image", top.get("type").asText());
      assertEquals(inbox.resolve("red.png").toAbsolutePath().toString(), top.get("path").asText());
      assertTrue(top.get("score").floatValue() > 0.99f, top.toString());
      assertEquals(3, byImage.json().get("hits").size(), "images only: " + byImage.text());

      String id = top.get("id").asText();
      Answer thumb = send(HttpRequest.newBuilder(server.localUrl().resolve(top.get("thumbnail").asText())));
      assertEquals(200, thumb.status(), thumb.text());
      assertEquals("image/jpeg", thumb.type());
      assertTrue(ImageIO.read(new java.io.ByteArrayInputStream(thumb.body())) != null, "a decodable JPEG");
      Answer content = get(server, item(id) + "/content");
      assertEquals("image/png", content.type());
      assertArrayEquals(red, content.body());
      // Byte ranges, as a browser asks for them to seek in a video or fetch a PDF's pages.
      Answer range = send(HttpRequest.newBuilder(server.localUrl().resolve(item(id) + "/content")).header("Range", "bytes=10-29"));
      assertEquals(206, range.status(), range.text());
      assertArrayEquals(java.util.Arrays.copyOfRange(red, 10, 30), range.body());
      assertEquals("bytes 10-29/" + red.length, range.headers().firstValue("Content-Range").orElse(null));
      Answer beyond = send(HttpRequest.newBuilder(server.localUrl().resolve(item(id) + "/content")).header("Range", "bytes=" + red.length + "-"));
      assertEquals(416, beyond.status(), beyond.text());
      assertTrue(beyond.text().contains("beyond the file's " + red.length + " bytes"), beyond.text());

      // More like this picture: its stored vector, the picture itself left out.
      Answer similar = get(server, "api/search?similar_to=" + q(id));
      assertEquals(200, similar.status(), similar.text());
      assertEquals(2, similar.json().get("hits").size(), similar.text());
      for (JsonNode hit : similar.json().get("hits")) {
        assertEquals("image", hit.get("type").asText(), similar.text());
        assertFalse(hit.get("id").asText().equals(id), "not similar to itself: " + similar.text());
      }

      // A text query runs both spaces: CLIP over the pictures, keyword over the passage.
      Answer byText = get(server, "api/search?q=red");
      assertEquals(200, byText.status(), byText.text());
      assertEquals("vector", byText.json().get("sides").get(1).get("method").asText(), byText.text());
      assertEquals(4, byText.json().get("hits").size(), byText.text());
      assertEquals(3, get(server, "api/search?q=red&types=image,page").json().get("hits").size());
    } finally {
      server.close();
    }
  }
}
