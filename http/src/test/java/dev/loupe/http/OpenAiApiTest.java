package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.model.InstalledModel;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/models} and {@code /v1/embeddings} over raw HTTP against a real server with
 * generated models installed ({@code clip-vit-b32}: text and images; {@code all-minilm-l6-v2}:
 * text only): the data-URL image extension and every error status, in OpenAI's error shape.
 */
class OpenAiApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SEED = 20_260_522L;

  @TempDir static Path data;

  private static LoupeServer server;
  private static OnnxEmbedder clip;

  /** A response's status and body. */
  record Answer(int status, String body) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    InstalledModel installed = GeneratedModels.installClip(data);
    GeneratedModels.installTextOnly(data);
    server = Main.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")));
    clip = OnnxEmbedder.open(installed.dir(), OnnxEmbedder.Options.defaults());
  }

  @AfterAll
  static void stop() throws Exception {
    if (clip != null) clip.close();
    if (server != null) server.close();
  }

  /** Sends {@code body} (none when null) with {@code contentType} (none when null) to 127.0.0.1:{@code port}. */
  static Answer send(int port, String method, String path, String contentType, String body)
      throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      if (contentType != null) {
        request.header("Content-Type", contentType);
      }
      HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body());
    }
  }

  private static Answer embed(Object body) throws Exception {
    return send(server.port(), "POST", "/v1/embeddings", "application/json",
        body instanceof String s ? s : JSON.writeValueAsString(body));
  }

  private static ObjectNode request(String model, Object input) {
    ObjectNode body = JSON.createObjectNode().put("model", model);
    body.set("input", JSON.valueToTree(input));
    return body;
  }

  /** The answer is OpenAI's error shape with this status, param and code, and its message contains {@code fragment}. */
  private static void assertError(Answer a, int status, String param, String code, String fragment) throws IOException {
    assertEquals(status, a.status(), a.body());
    JsonNode error = a.json().get("error");
    assertTrue(error != null && error.isObject(), a.body());
    assertEquals(status >= 500 ? "server_error" : "invalid_request_error", error.get("type").asText(), a.body());
    assertEquals(param, error.get("param").isNull() ? null : error.get("param").asText(), a.body());
    assertEquals(code, error.get("code").isNull() ? null : error.get("code").asText(), a.body());
    assertTrue(error.get("message").asText().contains(fragment), "'" + fragment + "' not in " + a.body());
  }

  private static float[] floats(JsonNode array) {
    float[] v = new float[array.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) array.get(i).asDouble();
    }
    return v;
  }

  private static void assertVector(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what + ": dimension");
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got[i], 1e-5, what + ": component " + i);
    }
  }

  /** A PNG of seeded random blocks, {@code width} x {@code height}. */
  private static byte[] png(long seed, int width, int height) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, (x / 8 * 31 + y / 8 * 17 + random.nextInt(40)) * 0x010203 & 0xffffff);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  private static String dataUrl(String type, byte[] bytes) {
    return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(bytes);
  }

  // ------------------------------------------------------------------------------------ models

  @Test
  void models_are_listed_in_openais_shape() throws Exception {
    Answer a = send(server.port(), "GET", "/v1/models", null, null);

    assertEquals(200, a.status(), a.body());
    JsonNode body = a.json();
    assertEquals("list", body.get("object").asText());
    assertEquals(2, body.get("data").size(), a.body());
    for (JsonNode model : body.get("data")) {
      assertEquals("model", model.get("object").asText());
      assertEquals("loupe", model.get("owned_by").asText());
      assertTrue(model.get("created").asLong() > 1_600_000_000L, a.body());
    }
    assertEquals("all-minilm-l6-v2", body.at("/data/0/id").asText());
    assertEquals("clip-vit-b32", body.at("/data/1/id").asText());
  }

  @Test
  void one_model_is_retrieved_and_an_unknown_one_is_a_404() throws Exception {
    Answer known = send(server.port(), "GET", "/v1/models/clip-vit-b32", null, null);
    assertEquals(200, known.status(), known.body());
    assertEquals("clip-vit-b32", known.json().get("id").asText());

    assertError(send(server.port(), "GET", "/v1/models/gpt-4o", null, null), 404, "model", "model_not_found",
        "The model 'gpt-4o' does not exist; this server serves all-minilm-l6-v2, clip-vit-b32");
    assertError(send(server.port(), "GET", "/v1/models/clip-vit-l14", null, null), 404, "model", "model_not_installed",
        "./loupe models pull clip-vit-l14 --trust-on-first-use");
  }

  @Test
  void unknown_routes_under_v1_answer_in_openais_shape() throws Exception {
    assertError(send(server.port(), "GET", "/v1/completions", null, null), 404, null, "not_found", "no route GET /v1/completions");
  }

  // -------------------------------------------------------------------------------- embeddings

  @Test
  void a_data_url_is_embedded_with_the_image_tower_beside_text_in_order() throws Exception {
    byte[] png = png(SEED, 97, 61);
    String text = "a mosaic of grey squares";

    Answer a = embed(request("clip-vit-b32", new String[] {text, dataUrl("image/png", png)}));

    assertEquals(200, a.status(), a.body());
    JsonNode data = a.json().get("data");
    assertEquals(2, data.size());
    assertVector(clip.embedText(text), floats(data.at("/0/embedding")), "the text");
    assertVector(clip.embedImage(new ImageDecoder().decode(png)), floats(data.at("/1/embedding")), "the image");
    assertEquals(1, data.at("/1/index").asInt());
  }

  @Test
  void base64_encoding_is_little_endian_float32() throws Exception {
    ObjectNode body = request("clip-vit-b32", "a lighthouse").put("encoding_format", "base64");

    Answer a = embed(body);

    assertEquals(200, a.status(), a.body());
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(a.json().at("/data/0/embedding").asText()))
        .order(ByteOrder.LITTLE_ENDIAN);
    float[] got = new float[bytes.remaining() / 4];
    bytes.asFloatBuffer().get(got);
    assertVector(clip.embedText("a lighthouse"), got, "base64");
    assertTrue(a.json().at("/usage/prompt_tokens").asInt() >= 3, a.body()); // start, "lighthouse"'s pieces, end
  }

  @Test
  void dimensions_equal_to_the_models_are_accepted_and_others_refused() throws Exception {
    int dimension = clip.info().dimension();
    assertEquals(200, embed(request("clip-vit-b32", "x ray").put("dimensions", dimension)).status());

    assertError(embed(request("clip-vit-b32", "x ray").put("dimensions", dimension / 2)), 400, "dimensions", null,
        "model clip-vit-b32 makes " + dimension + "-dimensional vectors and cannot shorten them");
  }

  @Test
  void a_data_url_sent_to_a_text_only_model_is_a_400_naming_the_model() throws Exception {
    Answer a = embed(request("all-minilm-l6-v2", dataUrl("image/png", png(SEED + 1, 8, 8))));

    assertError(a, 400, "input", "image_not_supported", "model all-minilm-l6-v2 takes text only");
    assertTrue(a.json().at("/error/message").asText().contains("clip-vit-b32"), a.body());
  }

  @Test
  void the_text_only_model_embeds_text() throws Exception {
    Answer a = embed(request("all-minilm-l6-v2", "passages and queries"));

    assertEquals(200, a.status(), a.body());
    assertEquals("all-minilm-l6-v2", a.json().get("model").asText());
  }

  @Test
  void token_ids_are_refused() throws Exception {
    assertError(embed(request("clip-vit-b32", new int[] {49406, 320, 49407})), 400, "input", "token_ids_not_supported",
        "token ids are not supported");
    assertError(embed(request("clip-vit-b32", new int[][] {{320, 1125}})), 400, "input", "token_ids_not_supported",
        "token ids are not supported");
  }

  @Test
  void bad_bodies_are_400s_naming_the_problem() throws Exception {
    assertError(embed("{\"model\": \"clip-vit-b32\", \"input\": "), 400, null, null, "the body is not valid JSON");
    assertError(embed("[1, 2]"), 400, null, null, "the body must be a JSON object");
    assertError(embed(JSON.createObjectNode().put("input", "x")), 400, "model", null, "the body has no 'model'");
    assertError(embed(JSON.createObjectNode().put("model", "clip-vit-b32")), 400, "input", null, "the body has no 'input'");
    assertError(embed(request("clip-vit-b32", new String[0])), 400, "input", null, "'input' is an empty array");
    assertError(embed(request("clip-vit-b32", new String[] {"fine", "  "})), 400, "input", null,
        "input 1 is blank text (only whitespace)");
    assertError(embed(request("clip-vit-b32", new Object[] {"fine", true})), 400, "input", null, "input 1 is boolean");
    assertError(embed(request("clip-vit-b32", "x").put("encoding_format", "int8")), 400, "encoding_format", null,
        "encoding_format 'int8' is not float or base64");
    ArrayNode many = JSON.createArrayNode();
    for (int i = 0; i <= OpenAiApi.MAX_INPUTS; i++) {
      many.add("item " + i);
    }
    ObjectNode tooMany = JSON.createObjectNode().put("model", "clip-vit-b32");
    tooMany.set("input", many);
    assertError(embed(tooMany), 400, "input", null, "'input' has 257 items, over the limit of 256");
  }

  @Test
  void an_undecodable_image_is_a_400_and_a_non_image_data_url_a_415() throws Exception {
    assertError(embed(request("clip-vit-b32", dataUrl("image/png", "not a png at all".getBytes()))), 400, "input",
        "invalid_image", "input 0 (image/png) is not an image");
    assertError(embed(request("clip-vit-b32", dataUrl("text/plain", "hello".getBytes()))), 415, "input",
        "unsupported_media_type", "input 0 is a data URL of type 'text/plain'; only images are embedded");
    assertError(embed(request("clip-vit-b32", "data:image/png,rawbytes")), 400, "input", null, "is a data URL that is not base64");
  }

  @Test
  void a_body_that_is_not_json_is_a_415() throws Exception {
    assertError(send(server.port(), "POST", "/v1/embeddings", "application/x-www-form-urlencoded", "model=clip-vit-b32&input=x"),
        415, null, "unsupported_media_type", "send Content-Type: application/json");
  }

  @Test
  void an_image_over_the_limit_is_a_413() throws Exception {
    byte[] big = new byte[(int) OpenAiApi.IMAGE_LIMITS.maxBytes() + 1];
    new SplittableRandom(SEED).nextBytes(big);

    assertError(embed(request("clip-vit-b32", dataUrl("image/png", big))), 413, "input", "image_too_large",
        "over the limit of " + OpenAiApi.IMAGE_LIMITS.maxBytes() + " bytes for one image");
  }

  @Test
  void a_body_over_the_limit_is_a_413() throws Exception {
    String padding = "x".repeat((int) OpenAiApi.MAX_BODY_BYTES);

    assertError(embed("{\"model\": \"clip-vit-b32\", \"input\": \"" + padding + "\"}"), 413, null, "request_too_large",
        "over the limit of " + OpenAiApi.MAX_BODY_BYTES + " bytes");
  }

  @Test
  void an_unknown_model_is_a_404_and_a_catalog_model_not_installed_a_503_with_the_install_command() throws Exception {
    assertError(embed(request("text-embedding-3-small", "x")), 404, "model", "model_not_found",
        "The model 'text-embedding-3-small' does not exist");
    assertError(embed(request("clip-vit-l14", "x")), 503, "model", "model_not_installed",
        "./loupe models pull clip-vit-l14 --trust-on-first-use");
    assertError(embed(request("bge-small-en-v1.5", "x")), 503, "model", "model_not_installed",
        "model bge-small-en-v1.5 is not installed");
  }
}
