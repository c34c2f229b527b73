package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.errors.PermissionDeniedException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.loupe.embeddings.model.InstalledModel;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.embeddings.text.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OpenAI Java SDK, unchanged but for its base URL, against a real Loupe server whose
 * data folder holds a generated CLIP model: it lists the model and gets the vectors the embedder
 * itself makes, in both encodings.
 */
class OpenAiClientTest {
  @TempDir static Path data;

  private static InstalledModel clip;
  private static LoupeServer server;
  private static OnnxEmbedder expected;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    clip = GeneratedModels.installClip(data);
    GeneratedModels.installTextOnly(data);
    server = Main.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")));
    // A second session on the same folder, in the test only: the oracle for what the server answers.
    expected = OnnxEmbedder.open(clip.dir(), OnnxEmbedder.Options.defaults());
    client = client(server.port(), "sk-not-checked-on-loopback");
  }

  private static OpenAIClient client(int port, String key) {
    return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1").apiKey(key).maxRetries(0).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) client.close();
    if (expected != null) expected.close();
    if (server != null) server.close();
  }

  private static void assertVector(float[] want, List<Float> got, String what) {
    assertEquals(want.length, got.size(), what + ": dimension");
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got.get(i), 1e-5, what + ": component " + i);
    }
  }

  @Test
  void the_sdk_lists_the_installed_models() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();

    assertEquals(List.of("all-minilm-l6-v2", "clip-vit-b32"), ids);
    Model model = client.models().retrieve("clip-vit-b32");
    assertEquals("clip-vit-b32", model.id());
    assertEquals("loupe", model.ownedBy());
    assertTrue(model.created() > 1_600_000_000L, "created " + model.created());
  }

  @Test
  void the_sdk_embeds_one_text_as_floats_equal_to_the_embedders() {
    String text = "a lighthouse on a rocky shore at dusk";
    CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("clip-vit-b32").input(text).encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());

    assertEquals("clip-vit-b32", response.model());
    assertEquals(1, response.data().size());
    assertEquals(0, response.data().getFirst().index());
    assertVector(expected.embedText(text), response.data().getFirst().embedding(), text);
  }

  @Test
  void the_sdk_embeds_a_list_with_its_default_base64_encoding_and_counts_the_tokens() throws Exception {
    List<String> texts = List.of("a red bicycle", "two cats asleep on a windowsill", "Überprüfung 文件 🙂");
    CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("clip-vit-b32").inputOfArrayOfStrings(texts).build());

    assertEquals(texts.size(), response.data().size());
    for (int i = 0; i < texts.size(); i++) {
      assertEquals(i, response.data().get(i).index());
      assertTrue(response.data().get(i).embeddingValue().isBase64(), "the SDK asked for base64 by default");
      assertVector(expected.embedText(texts.get(i)), response.data().get(i).embedding(), texts.get(i));
    }
    int tokens;
    try (Tokenizer tokenizer = Tokenizer.load(clip.dir().resolve(clip.manifest().text().tokenizer()),
        clip.manifest().text().contextLength(), Tokenizer.Padding.FIXED)) {
      tokens = java.util.Arrays.stream(tokenizer.encode(texts).tokenCounts()).sum();
    }
    assertEquals(tokens, response.usage().promptTokens());
    assertEquals(tokens, response.usage().totalTokens());
  }

  @Test
  void the_sdk_sees_an_unknown_model_as_not_found() {
    NotFoundException e = assertThrows(NotFoundException.class, () -> client.embeddings().create(
        EmbeddingCreateParams.builder().model("text-embedding-3-small").input("hello").build()));

    assertEquals("model_not_found", e.code().orElseThrow());
    assertTrue(e.getMessage().contains("The model 'text-embedding-3-small' does not exist"), e.getMessage());
  }

  @Test
  void beyond_loopback_the_sdk_needs_an_api_key_and_works_with_one(@TempDir Path other) throws Exception {
    String token = ApiKeys.in(other).create("sdk").token();
    try (LoupeServer keyed = Main.start(new ServerConfig("0.0.0.0", 0, other, other.resolve("inbox")))) {
      OpenAIClient stranger = client(keyed.port(), "sk-not-a-key-of-this-server");
      OpenAIClient owner = client(keyed.port(), token);
      try {
        // A well-formed token that is no key here: 403 (no token at all is a 401, below).
        PermissionDeniedException e = assertThrows(PermissionDeniedException.class, () -> stranger.models().list());
        assertTrue(e.getMessage().contains("the API key is not valid: unknown or revoked"), e.getMessage());
        assertEquals(List.of(), owner.models().list().data(), "no model is installed in this data folder");
      } finally {
        stranger.close();
        owner.close();
      }
      OpenAiApiTest.Answer none = OpenAiApiTest.send(keyed.port(), "GET", "/v1/models", null, null);
      assertEquals(401, none.status(), none.body());
      assertEquals("authentication_error", none.json().at("/error/type").asText());
    }
  }
}
