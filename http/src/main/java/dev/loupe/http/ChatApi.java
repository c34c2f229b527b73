package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.llm.generate.SamplerSettings;
import dev.loupe.llm.tokenizer.ChatMessage;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.Source;
import dev.loupe.rag.chat.ChatEngine;
import dev.loupe.rag.chat.ChatEvent;
import dev.loupe.rag.chat.ChatRequest;
import dev.loupe.rag.search.ItemTypes;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Chat with the documents: {@code POST /api/chat} streams a turn as server-sent events ({@code
 * sources}, {@code token}, {@code tool}, {@code done}); {@code DELETE /api/chat/{id}} forgets a
 * chat; {@code POST /v1/chat/completions} is the OpenAI-compatible form, with and without {@code
 * stream}, retrieval on unless {@code loupe.retrieval} is false, the sources in the {@code loupe}
 * extension field.
 *
 * <p>Errors come before the stream starts, as JSON with their status: 400 a bad body, 413 a body
 * or question over the limits, 404 an unknown chat, 409 a chat answering another question, 503 no
 * language model loaded (with the command that loads one). Once the stream has started, a failure
 * ends it with an {@code error} event. A client that goes away cancels generation: the next write
 * fails and the engine stops at its next token.
 *
 * <p>Thread-safe: the engine is; each request streams on its own virtual thread.
 */
final class ChatApi {
  /** The largest request body: a long conversation for the OpenAI endpoint. */
  static final int MAX_BODY_BYTES = 256 << 10;
  /** Answer tokens when a request does not say. */
  static final int DEFAULT_MAX_TOKENS = 512;
  /** Tokens the sources of one question may take in the prompt when the request does not say. */
  static final int DEFAULT_SOURCE_TOKENS = 1_500;
  /** What chat answers while no model is loaded. */
  static final String NO_MODEL = "no language model is loaded, so chat is off (search works): restart the server with"
      + " ./loupe serve --llm MODEL.gguf; for a small instruct model, install one with "
      + LlmModels.fixCommand(LlmModels.QWEN_05B.name()) + " and restart with ./loupe serve --llm " + LlmModels.QWEN_05B.name();

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Who answers; null when no model is loaded. */
  private final ChatEngine engine;
  /** The model's name for OpenAI's {@code model} field. */
  private final String modelName;
  /** The last turn that ended, for tests of cancellation. */
  final AtomicReference<ChatEvent.Done> lastDone = new AtomicReference<>();

  ChatApi(ChatEngine engine) {
    this.engine = engine;
    this.modelName = engine == null ? null : engine.model().file().path().getFileName().toString();
  }

  static void routes(RoutesConfig routes, ChatApi api) {
    routes.post("/api/chat", api::chat);
    routes.delete("/api/chat/{id}", api::drop);
    routes.post("/v1/chat/completions", api::completions);
  }

  // ------------------------------------------------------------------------------ /api/chat

  /**
   * The body of {@code POST /api/chat}; everything but {@code question} may be left out. {@code
   * types}, {@code path_prefix}, {@code from} and {@code to} filter retrieval as the search API's
   * {@code types}, {@code path}, {@code from} and {@code to} do (dates: epoch ms, 2024-05-31 or an
   * ISO instant).
   */
  record ChatBody(String question, String chat_id, Boolean retrieval, Integer max_tokens, Float temperature, Long seed,
      Boolean tools, String force_tool, List<String> types, String path_prefix, Object from, Object to,
      Integer max_sources, Integer source_tokens) {}

  void chat(Context ctx) throws IOException {
    ChatEngine e = engine();
    ChatBody body = read(ctx, ChatBody.class);
    if (body == null || body.question() == null || body.question().isBlank()) {
      throw new IllegalArgumentException("the body must carry a question: {\"question\": \"...\"}");
    }
    checkQuestion(body.question());
    ChatRequest request = new ChatRequest(body.chat_id(), body.question(), List.of(), body.retrieval() == null || body.retrieval(),
        retrieval(body.max_sources(), body.source_tokens(), body.types(), body.path_prefix(), text(body.from()),
            text(body.to())),
        sampler(body.temperature(), body.seed()), body.max_tokens() == null ? DEFAULT_MAX_TOKENS : body.max_tokens(),
        body.tools() == null || body.tools(), body.force_tool(), true);
    Sse sse = new Sse(ctx);
    run(e, request, event -> sse.send(name(event), view(event)), sse);
  }

  void drop(Context ctx) {
    if (!engine().drop(ctx.pathParam("id"))) {
      throw new HttpError(404, "no chat session has the id '" + ctx.pathParam("id") + "'");
    }
    ctx.status(204);
  }

  private static String name(ChatEvent event) {
    return switch (event) {
      case ChatEvent.Sources _ -> "sources";
      case ChatEvent.Token _ -> "token";
      case ChatEvent.Tool _ -> "tool";
      case ChatEvent.Done _ -> "done";
    };
  }

  /** The JSON of an event: records as they are, sources as citation maps with their text. */
  private static Object view(ChatEvent event) {
    return switch (event) {
      case ChatEvent.Sources s -> Map.of("chat_id", s.chatId(), "sources", sources(s.sources()),
          "retrieval_ms", s.retrievalMillis(), "notes", s.notes());
      case ChatEvent.Token t -> Map.of("text", t.text());
      case ChatEvent.Tool t -> Map.of("tool", t.tool(), "argument", t.argument(), "result", t.result(),
          "sources", sources(t.sources()), "ms", t.millis());
      case ChatEvent.Done d -> done(d);
    };
  }

  private static Map<String, Object> done(ChatEvent.Done d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("chat_id", d.chatId());
    m.put("answer", d.answer());
    Map<String, Object> citations = new LinkedHashMap<>();
    for (Source s : d.citations()) citations.put(String.valueOf(s.n()), s.citation());
    m.put("citations", citations);
    m.put("unknown_citations", d.unknownCitations());
    m.put("finish_reason", d.finishReason());
    m.put("timings", d.timings());
    return m;
  }

  private static List<Map<String, Object>> sources(List<Source> sources) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Source s : sources) {
      Map<String, Object> m = s.citation();
      m.put("text", s.text());
      m.put("score", s.score());
      out.add(m);
    }
    return out;
  }

  // ------------------------------------------------------------------------------ /v1/chat/completions

  void completions(Context ctx) throws IOException {
    ChatEngine e = engine();
    JsonNode body = read(ctx, JsonNode.class);
    if (body == null || !body.isObject()) {
      throw new IllegalArgumentException("the body must be a JSON object with messages");
    }
    JsonNode messages = body.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw new IllegalArgumentException("messages must be a non-empty array of {role, content}");
    }
    List<ChatMessage> history = new ArrayList<>();
    for (JsonNode m : messages) {
      String role = m.path("role").asText("");
      String content = content(m.get("content"));
      switch (role) {
        case "user", "assistant" -> history.add(new ChatMessage(role, content));
        case "system", "developer", "tool" -> {} // Loupe's grounding prompt is the system prompt
        default -> throw new IllegalArgumentException("message role '" + role + "' is not system, user or assistant");
      }
    }
    if (history.isEmpty() || !history.getLast().role().equals("user")) {
      throw new IllegalArgumentException("the last message must be the user's question");
    }
    String question = history.removeLast().content();
    if (question.isBlank()) {
      throw new IllegalArgumentException("the question (the last user message) must not be blank");
    }
    checkQuestion(question);
    JsonNode loupe = body.path("loupe");
    int maxTokens = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens").asInt()
        : body.hasNonNull("max_tokens") ? body.get("max_tokens").asInt() : DEFAULT_MAX_TOKENS;
    Float temperature = body.hasNonNull("temperature") ? (float) body.get("temperature").asDouble() : null;
    Long seed = body.hasNonNull("seed") ? body.get("seed").asLong() : null;
    String chatId = loupe.hasNonNull("chat_id") ? loupe.get("chat_id").asText() : null;
    RetrievalOptions filters = retrieval(loupe.hasNonNull("max_sources") ? loupe.get("max_sources").asInt() : null,
        loupe.hasNonNull("source_tokens") ? loupe.get("source_tokens").asInt() : null, types(loupe.get("types")),
        loupe.hasNonNull("path_prefix") ? loupe.get("path_prefix").asText() : null,
        loupe.hasNonNull("from") ? loupe.get("from").asText() : null, loupe.hasNonNull("to") ? loupe.get("to").asText() : null);
    ChatRequest request = new ChatRequest(chatId, question, chatId == null ? history : List.of(),
        !loupe.has("retrieval") || loupe.get("retrieval").asBoolean(true), filters,
        sampler(temperature, seed), maxTokens, loupe.path("tools").asBoolean(false), null,
        chatId != null || loupe.path("keep").asBoolean(false));
    String id = "chatcmpl-" + UUID.randomUUID();
    long created = System.currentTimeMillis() / 1000;
    if (body.path("stream").asBoolean(false)) {
      Sse sse = new Sse(ctx);
      List<Source> sources = new ArrayList<>();
      run(e, request, event -> {
        switch (event) {
          case ChatEvent.Sources s -> {
            sources.addAll(s.sources());
            sse.data(chunk(id, created, Map.of("role", "assistant", "content", ""), null,
                Map.of("chat_id", s.chatId(), "sources", sources(s.sources()))));
          }
          case ChatEvent.Token t -> sse.data(chunk(id, created, Map.of("content", t.text()), null, null));
          case ChatEvent.Tool t -> sources.addAll(t.sources());
          case ChatEvent.Done d -> {
            Map<String, Object> ext = done(d);
            ext.put("sources", sources(sources));
            sse.data(chunk(id, created, Map.of(), openAiFinish(d.finishReason()), ext));
            sse.raw("data: [DONE]\n\n");
          }
        }
      }, sse);
      return;
    }
    List<Source> sources = new ArrayList<>();
    ChatEngine.Turn turn = e.ask(request, event -> {
      if (event instanceof ChatEvent.Sources s) sources.addAll(s.sources());
      if (event instanceof ChatEvent.Tool t) sources.addAll(t.sources());
    }, () -> false);
    lastDone.set(turn.done());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", id);
    out.put("object", "chat.completion");
    out.put("created", created);
    out.put("model", modelName);
    out.put("choices", List.of(Map.of("index", 0, "message", Map.of("role", "assistant", "content", turn.done().answer()),
        "finish_reason", openAiFinish(turn.done().finishReason()))));
    int completion = turn.result().tokens().length;
    int prompt = turn.cached() + turn.result().prefillTokens();
    out.put("usage", Map.of("prompt_tokens", prompt, "completion_tokens", completion, "total_tokens", prompt + completion));
    Map<String, Object> ext = done(turn.done());
    ext.put("sources", sources(sources));
    out.put("loupe", ext);
    ctx.json(out);
  }

  private Map<String, Object> chunk(String id, long created, Map<String, Object> delta, String finish, Map<String, Object> loupe) {
    Map<String, Object> choice = new LinkedHashMap<>();
    choice.put("index", 0);
    choice.put("delta", delta);
    choice.put("finish_reason", finish);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", id);
    m.put("object", "chat.completion.chunk");
    m.put("created", created);
    m.put("model", modelName);
    m.put("choices", List.of(choice));
    if (loupe != null) m.put("loupe", loupe);
    return m;
  }

  private static String openAiFinish(String reason) {
    return reason.equals("length") ? "length" : "stop";
  }

  /** A message's text: a string, or OpenAI's array of parts of which the text parts are kept. */
  private static String content(JsonNode content) {
    if (content == null || content.isNull()) return "";
    if (content.isTextual()) return content.asText();
    if (content.isArray()) {
      StringBuilder s = new StringBuilder();
      for (JsonNode part : content) {
        if (part.path("type").asText().equals("text")) s.append(part.path("text").asText());
      }
      return s.toString();
    }
    throw new IllegalArgumentException("message content must be a string or an array of text parts");
  }

  // ------------------------------------------------------------------------------ shared

  private ChatEngine engine() {
    if (engine == null) {
      throw new HttpError(503, NO_MODEL);
    }
    return engine;
  }

  private static void checkQuestion(String question) {
    if (question.length() > ChatRequest.MAX_QUESTION) {
      throw new HttpError(413, "the question of " + question.length() + " characters is longer than the "
          + ChatRequest.MAX_QUESTION + " a chat accepts; ask a shorter one");
    }
  }

  private static <T> T read(Context ctx, Class<T> type) {
    byte[] bytes = ctx.bodyAsBytes();
    if (bytes.length > MAX_BODY_BYTES) {
      throw new HttpError(413, "the body of " + bytes.length + " bytes is larger than " + MAX_BODY_BYTES);
    }
    try {
      return JSON.readValue(bytes, type);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("the body is not the JSON expected: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("the body cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * What retrieval gathers and from where, checked here so that a bad filter is a 400 before the
   * chat starts: the types by the search API's names, the dates as the search API reads them.
   */
  private static RetrievalOptions retrieval(Integer maxSources, Integer sourceTokens, List<String> types, String pathPrefix,
      String from, String to) {
    RetrievalOptions d = RetrievalOptions.defaults(sourceTokens == null ? DEFAULT_SOURCE_TOKENS : sourceTokens);
    Set<String> typeSet = types == null ? Set.of() : Set.copyOf(types);
    ItemTypes.indexTypes(typeSet);
    Long fromMillis = SearchApi.date(name -> from, "from", false);
    Long toMillis = SearchApi.date(name -> to, "to", true);
    return new RetrievalOptions(maxSources == null ? d.maxSources() : maxSources, d.maxPerDocument(), d.tokenBudget(),
        typeSet, pathPrefix == null || pathPrefix.isEmpty() ? null : pathPrefix, fromMillis, toMillis);
  }

  /** A JSON value as the text a query parameter would carry: numbers as digits, null as null. */
  private static String text(Object value) {
    return value == null ? null : value.toString();
  }

  /** The {@code loupe.types} of a completion: an array of names or one comma-separated string. */
  private static List<String> types(JsonNode node) {
    if (node == null || node.isNull()) return null;
    if (node.isTextual()) return List.of(node.asText().split(","));
    if (!node.isArray()) throw new IllegalArgumentException("loupe.types must be an array of type names, not " + node);
    List<String> out = new ArrayList<>();
    node.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static SamplerSettings sampler(Float temperature, Long seed) {
    if (temperature == null || temperature == 0) return SamplerSettings.greedy();
    return SamplerSettings.defaults(seed == null ? System.nanoTime() : seed).withTemperature(temperature);
  }

  /**
   * Runs a turn, streaming its events; errors before the first event reach {@link Api#error}
   * (unknown chat 404, busy 409), errors after it end the stream with an {@code error} event.
   */
  private void run(ChatEngine e, ChatRequest request, Consumer<ChatEvent> events, Sse sse) {
    try {
      ChatEngine.Turn turn = e.ask(request, event -> {
        sse.start();
        events.accept(event);
      }, sse::gone);
      lastDone.set(turn.done());
    } catch (NoSuchElementException x) {
      if (sse.started()) throw x;
      throw new HttpError(404, x.getMessage());
    } catch (IllegalStateException x) {
      if (sse.started()) {
        sse.send("error", Map.of("error", x.getMessage()));
        return;
      }
      throw new HttpError(409, x.getMessage());
    } catch (IllegalArgumentException x) {
      if (!sse.started()) throw x;
      sse.send("error", Map.of("error", x.getMessage()));
    }
  }

  /**
   * A server-sent event stream over the response, started at the first event so that errors before
   * it keep their status. A write that fails marks the client gone, which cancels the turn.
   */
  private static final class Sse {
    private final Context ctx;
    private final AtomicBoolean gone = new AtomicBoolean();
    private OutputStream out;

    Sse(Context ctx) {
      this.ctx = ctx;
    }

    boolean started() {
      return out != null;
    }

    boolean gone() {
      return gone.get();
    }

    void start() {
      if (out != null) return;
      ctx.status(200);
      ctx.res().setContentType("text/event-stream;charset=utf-8");
      ctx.res().setHeader("Cache-Control", "no-cache");
      ctx.res().setHeader("X-Accel-Buffering", "no");
      try {
        out = ctx.res().getOutputStream();
      } catch (IOException e) {
        gone.set(true);
      }
    }

    void send(String event, Object data) {
      try {
        raw("event: " + event + "\ndata: " + JSON.writeValueAsString(data) + "\n\n");
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("cannot write event " + event + " as JSON", e);
      }
    }

    void data(Object data) {
      try {
        raw("data: " + JSON.writeValueAsString(data) + "\n\n");
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("cannot write a chunk as JSON", e);
      }
    }

    void raw(String text) {
      start();
      if (gone.get() || out == null) return;
      try {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (IOException e) {
        gone.set(true); // the client went away: the engine stops at its next token
      }
    }
  }
}
