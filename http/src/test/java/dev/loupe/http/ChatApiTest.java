package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.rag.Retrieval;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.Source;
import dev.loupe.rag.chat.ChatEngine;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chat routes of a real server answering with a seeded random-weight llama (the {@code tiny}
 * shape) and a retriever of generated sources: the SSE event order, follow-ups that reuse the KV
 * cache, the errors, a client that goes away, and the official OpenAI Java SDK streaming and not.
 */
class ChatApiTest {
  private static final long SEED = 4242L;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  @TempDir static Path data;
  private static Model model;
  private static LoupeServer server;
  private static LoupeServer withoutModel;
  private static OpenAIClient openAi;
  /** What the last retrieval was asked for. */
  private static final java.util.concurrent.atomic.AtomicReference<RetrievalOptions> lastOptions =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** Two sources per question, about it, from generated files. */
  static Retrieval sources(String query) {
    List<Source> list = new ArrayList<>();
    for (int i = 1; i <= 2; i++) {
      list.add(new Source(i, "doc" + i + "#0", i == 1 ? "text" : "page", "/docs/doc-" + i + ".pdf", i, 0,
          i == 2 ? "thumbs/doc2/2.jpg" : null, "doc-" + i + ".pdf, page " + i, "passage " + i + " about the orchard", 9, 1f / i));
    }
    return new Retrieval(query, list, 18, 0, 1_000, List.of());
  }

  @BeforeAll
  static void start() throws Exception {
    Path file = data.resolve("random-tiny.gguf");
    RandomModels.write(RandomModels.preset("tiny", GgmlType.F32, SEED), file);
    model = Model.load(file, ModelOptions.threads(1));
    ChatEngine engine = new ChatEngine(model, (q, o) -> {
      lastOptions.set(o);
      return sources(q);
    }, ChatEngine.Settings.defaults(1024),
        Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC));
    server = LoupeServer.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")),
        new Store("fixed", new FixedIndex(new IndexSpec(4, Similarity.DOT_PRODUCT), 3)), null, engine);
    Path other = data.resolve("other");
    withoutModel = LoupeServer.start(new ServerConfig("127.0.0.1", 0, other, other.resolve("inbox")),
        new Store("fixed", new FixedIndex(new IndexSpec(4, Similarity.DOT_PRODUCT), 3)));
    openAi = OpenAIOkHttpClient.builder().baseUrl(server.localUrl() + "v1").apiKey("sk-not-checked-on-loopback")
        .maxRetries(0).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (openAi != null) openAi.close();
    if (server != null) server.close();
    if (withoutModel != null) withoutModel.close();
    if (model != null) model.close();
  }

  private record Event(String name, JsonNode data) {}

  private static HttpResponse<String> post(LoupeServer s, String path, String body) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(s.localUrl().resolve(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<Event> events(String stream) throws Exception {
    List<Event> out = new ArrayList<>();
    for (String block : stream.split("\n\n")) {
      if (block.isBlank()) continue;
      String name = null, payload = null;
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) name = line.substring(7);
        if (line.startsWith("data: ")) payload = line.substring(6);
      }
      out.add(new Event(name, JSON.readTree(payload)));
    }
    return out;
  }

  @Test
  void a_chat_streams_sources_then_tokens_then_done_with_citations_and_a_follow_up_reuses_the_cache() throws Exception {
    HttpResponse<String> r = post(server, "api/chat", "{\"question\":\"What grows in the orchard?\",\"max_tokens\":8,\"tools\":false}");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<Event> events = events(r.body());
    assertEquals("sources", events.getFirst().name());
    assertEquals("done", events.getLast().name());
    assertTrue(events.subList(1, events.size() - 1).stream().allMatch(e -> e.name().equals("token")), events.toString());
    JsonNode sources = events.getFirst().data().get("sources");
    assertEquals(2, sources.size());
    assertEquals("doc2#0", sources.get(1).get("id").asText());
    assertEquals("thumbs/doc2/2.jpg", sources.get(1).get("thumbnail").asText());
    JsonNode done = events.getLast().data();
    String answer = events.stream().filter(e -> e.name().equals("token")).map(e -> e.data().get("text").asText())
        .collect(Collectors.joining()).strip();
    assertEquals(answer, done.get("answer").asText());
    assertTrue(done.get("citations").isObject());
    String chatId = done.get("chat_id").asText();
    assertEquals(chatId, events.getFirst().data().get("chat_id").asText());
    assertEquals(0, done.get("timings").get("cachedTokens").asInt());

    HttpResponse<String> again = post(server, "api/chat",
        "{\"question\":\"And the trees?\",\"max_tokens\":4,\"tools\":false,\"chat_id\":\"" + chatId + "\"}");
    JsonNode timings = events(again.body()).getLast().data().get("timings");
    int firstPrefill = done.get("timings").get("prefillTokens").asInt();
    assertTrue(timings.get("cachedTokens").asInt() >= firstPrefill, timings.toString());
    assertTrue(timings.get("prefillTokens").asInt() < firstPrefill / 2, timings.toString());

    HttpResponse<String> dropped = CLIENT.send(HttpRequest.newBuilder(server.localUrl().resolve("api/chat/" + chatId))
        .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(204, dropped.statusCode());
  }

  @Test
  void bad_questions_unknown_chats_and_a_missing_model_get_their_status_and_the_fix() throws Exception {
    assertEquals(400, post(server, "api/chat", "{\"question\":\"  \"}").statusCode());
    assertEquals(400, post(server, "api/chat", "{\"question\":").statusCode());
    assertEquals(400, post(server, "api/chat", "{\"question\":\"hi\",\"max_tokens\":0}").statusCode());
    HttpResponse<String> huge = post(server, "api/chat", "{\"question\":\"" + "why ".repeat(2_500) + "\"}");
    assertEquals(413, huge.statusCode());
    assertTrue(huge.body().contains("the question of 10000 characters is longer than the 8000 a chat accepts"), huge.body());
    HttpResponse<String> hugeAi = post(server, "v1/chat/completions",
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "why ".repeat(2_500) + "\"}]}");
    assertEquals(413, hugeAi.statusCode(), hugeAi.body());
    assertEquals(400, post(server, "v1/chat/completions",
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\" \"}]}").statusCode());
    HttpResponse<String> dropUnknown = CLIENT.send(HttpRequest.newBuilder(server.localUrl().resolve("api/chat/no-such-chat"))
        .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, dropUnknown.statusCode());
    assertTrue(dropUnknown.body().contains("no-such-chat"), dropUnknown.body());
    HttpResponse<String> unknown = post(server, "api/chat", "{\"question\":\"hi\",\"chat_id\":\"no-such-chat\"}");
    assertEquals(404, unknown.statusCode());
    assertTrue(unknown.body().contains("no-such-chat"), unknown.body());

    HttpResponse<String> off = post(withoutModel, "api/chat", "{\"question\":\"hi\"}");
    assertEquals(503, off.statusCode());
    assertTrue(JSON.readTree(off.body()).get("error").asText().contains("./loupe serve --llm MODEL.gguf"), off.body());
    HttpResponse<String> offAi = post(withoutModel, "v1/chat/completions",
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertEquals(503, offAi.statusCode());
    assertTrue(JSON.readTree(offAi.body()).get("error").get("message").asText().contains("--llm"), offAi.body());
  }

  @Test
  void a_client_that_goes_away_mid_stream_stops_the_generation() throws Exception {
    server.chatApi().lastDone.set(null);
    String body = "{\"question\":\"Tell me everything.\",\"max_tokens\":4000,\"tools\":false}";
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
          + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.equals("event: token")) break;
      }
    }
    while (server.chatApi().lastDone.get() == null) {
      Thread.sleep(20); // the turn ends at the next token whose write fails
    }
    assertEquals("cancelled", server.chatApi().lastDone.get().finishReason(), "seed " + SEED);
  }

  @Test
  void the_openai_sdk_gets_a_grounded_completion_with_the_sources_in_the_loupe_field() {
    ChatCompletion completion = openAi.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("loupe").addUserMessage("What grows in the orchard?").maxCompletionTokens(6).build());

    assertEquals("chat.completion", completion._object_().toString().replace("\"", ""));
    assertNotNull(completion.choices().getFirst().message().content().orElse(null));
    Map<String, JsonValue> extra = completion._additionalProperties();
    JsonNode loupe = JSON.valueToTree(extra.get("loupe").convert(Object.class));
    assertEquals(2, loupe.get("sources").size());
    assertEquals("doc1#0", loupe.get("sources").get(0).get("id").asText());
    assertTrue(completion.usage().orElseThrow().completionTokens() > 0);
  }

  @Test
  void the_search_filters_of_a_chat_and_of_a_completions_loupe_field_reach_retrieval() throws Exception {
    HttpResponse<String> r = post(server, "api/chat", "{\"question\":\"Which photos?\",\"max_tokens\":1,\"tools\":false,"
        + "\"types\":[\"image\",\"video-frame\"],\"path_prefix\":\"/photos/2024/\",\"from\":\"2024-05-01\",\"to\":\"2024-05-31\"}");
    assertEquals(200, r.statusCode(), r.body());
    RetrievalOptions chat = lastOptions.get();
    assertEquals(java.util.Set.of("image", "video-frame"), chat.types());
    assertEquals("/photos/2024/", chat.pathPrefix());
    assertEquals(Instant.parse("2024-05-01T00:00:00Z").toEpochMilli(), chat.from());
    assertEquals(Instant.parse("2024-06-01T00:00:00Z").toEpochMilli() - 1, chat.to(), "to is the last millisecond of its day");

    ChatCompletion completion = openAi.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("loupe").addUserMessage("Which pages?").maxCompletionTokens(1)
        .putAdditionalBodyProperty("loupe", JsonValue.from(Map.of("types", List.of("page"), "path_prefix", "/docs/",
            "from", 1_700_000_000_000L, "max_sources", 4))).build());
    assertNotNull(completion.id());
    RetrievalOptions openAiOptions = lastOptions.get();
    assertEquals(java.util.Set.of("page"), openAiOptions.types());
    assertEquals("/docs/", openAiOptions.pathPrefix());
    assertEquals(1_700_000_000_000L, openAiOptions.from());
    assertEquals(null, openAiOptions.to());
    assertEquals(4, openAiOptions.maxSources());

    HttpResponse<String> movie = post(server, "api/chat", "{\"question\":\"hi\",\"types\":[\"movie\"]}");
    assertEquals(400, movie.statusCode(), movie.body());
    assertTrue(movie.body().contains("'movie'"), movie.body());
    HttpResponse<String> yesterday = post(server, "api/chat", "{\"question\":\"hi\",\"from\":\"yesterday\"}");
    assertEquals(400, yesterday.statusCode(), yesterday.body());
    assertTrue(yesterday.body().contains("'yesterday' is not a date"), yesterday.body());
    assertEquals(400, post(server, "api/chat", "{\"question\":\"hi\",\"from\":\"2024-06-01\",\"to\":\"2024-05-01\"}")
        .statusCode());
    HttpResponse<String> badAi = post(server, "v1/chat/completions",
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"loupe\":{\"types\":[\"movie\"]}}");
    assertEquals(400, badAi.statusCode(), badAi.body());
    assertTrue(JSON.readTree(badAi.body()).get("error").get("message").asText().contains("'movie'"), badAi.body());
  }

  @Test
  void the_openai_sdk_lists_the_chat_model_and_a_server_without_one_lists_none() throws Exception {
    List<String> ids = openAi.models().list().data().stream().map(com.openai.models.models.Model::id).toList();

    assertEquals(List.of("random-tiny.gguf"), ids, "no embedder is open here, the language model is");
    assertEquals("loupe", openAi.models().retrieve("random-tiny.gguf").ownedBy());
    JsonNode none = JSON.readTree(CLIENT.send(HttpRequest.newBuilder(withoutModel.localUrl().resolve("v1/models")).GET().build(),
        HttpResponse.BodyHandlers.ofString()).body());
    assertEquals(0, none.get("data").size(), none.toString());
  }

  @Test
  void the_openai_sdk_streams_a_completion_and_retrieval_can_be_turned_off() {
    StringBuilder text = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = openAi.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model("loupe").addUserMessage("Say hello.").maxCompletionTokens(6)
            .putAdditionalBodyProperty("loupe", JsonValue.from(Map.of("retrieval", false))).build())) {
      stream.stream().forEach(c -> {
        chunks.add(c);
        c.choices().forEach(choice -> choice.delta().content().ifPresent(text::append));
      });
    }
    assertTrue(chunks.size() >= 2, chunks.toString());
    JsonNode first = JSON.valueToTree(chunks.getFirst()._additionalProperties().get("loupe").convert(Object.class));
    assertEquals(0, first.get("sources").size(), "retrieval was off");
    JsonNode last = JSON.valueToTree(chunks.getLast()._additionalProperties().get("loupe").convert(Object.class));
    assertEquals(text.toString().strip(), last.get("answer").asText());
    assertFalse(chunks.getLast().choices().getFirst().finishReason().isEmpty());
  }
}
