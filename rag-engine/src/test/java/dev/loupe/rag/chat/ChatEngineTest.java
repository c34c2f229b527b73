package dev.loupe.rag.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tokenizer.Tokenizer;
import dev.loupe.rag.PromptBuilder;
import dev.loupe.rag.Retrieval;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.Retriever;
import dev.loupe.rag.Source;
import dev.loupe.rag.tool.ToolCall;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chat engine end to end on a seeded random-weight llama (the {@code tiny} shape: 2 layers,
 * 512-token generated vocabulary, no chat template, so the Llama 2 format) and a retriever of
 * generated sources. The model's words are noise; what is tested is what the engine does with them.
 */
class ChatEngineTest {
  private static final long SEED = 4242L;
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC);
  private static final RetrievalOptions BUDGET = new RetrievalOptions(5, 2, 120, Set.of(), null);

  @TempDir static Path dir;
  private static Model model;

  @BeforeAll
  static void writeModel() throws IOException {
    Path file = dir.resolve("random-tiny.gguf");
    RandomModels.write(RandomModels.preset("tiny", GgmlType.F32, SEED), file);
    model = Model.load(file, ModelOptions.threads(1));
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** Numbered sources about {@code query}: "doc-N" for N in 1..count, each a few generated words. */
  static Retrieval sources(String query, int count) {
    List<Source> list = new ArrayList<>();
    // The model's own queries are random text: they are named, not quoted.
    String topic = query.matches("[A-Za-z ?]{1,40}") ? query : "query " + Math.floorMod(query.hashCode(), 1000);
    for (int i = 1; i <= count; i++) {
      String text = "passage " + i + " about " + topic + " in doc " + i;
      list.add(new Source(i, query.hashCode() + "-doc" + i + "#0", "text", "/docs/doc-" + i + ".txt", i, 0, null,
          "doc-" + i + ".txt, page " + i, text, 10, 1f / i));
    }
    return new Retrieval(query, list, 10 * count, 0, 1_000, List.of());
  }

  private static ChatEngine engine(Retriever retriever) {
    return new ChatEngine(model, retriever, ChatEngine.Settings.defaults(1024), CLOCK);
  }

  private static ChatRequest question(String q, int maxTokens) {
    return ChatRequest.of(q, BUDGET, maxTokens).withTools(false, null);
  }

  @Test
  void streams_sources_then_tokens_then_done_and_the_prompt_holds_the_numbered_sources_before_the_question() {
    ChatEngine engine = engine((q, o) -> sources(q, 3));
    List<ChatEvent> events = new ArrayList<>();

    ChatEngine.Turn turn = engine.ask(question("What grows in the orchard?", 12), events::add, () -> false);

    assertInstanceOf(ChatEvent.Sources.class, events.getFirst());
    assertInstanceOf(ChatEvent.Done.class, events.getLast());
    String streamed = events.stream().filter(e -> e instanceof ChatEvent.Token).map(e -> ((ChatEvent.Token) e).text())
        .collect(Collectors.joining());
    assertEquals(turn.done().answer(), streamed.strip());
    String expectedUser = "Sources:\n"
        + "[1] doc-1.txt, page 1\npassage 1 about What grows in the orchard? in doc 1\n\n"
        + "[2] doc-2.txt, page 2\npassage 2 about What grows in the orchard? in doc 2\n\n"
        + "[3] doc-3.txt, page 3\npassage 3 about What grows in the orchard? in doc 3\n\n"
        + "Question: What grows in the orchard?";
    assertEquals("[INST] <<SYS>>\n" + PromptBuilder.system(false) + "\n<</SYS>>\n\n" + expectedUser + " [/INST]", turn.prompt());
    Tokenizer tokenizer = model.tokenizer();
    assertArrayEquals(tokenizer.encode(turn.prompt(), true, true), turn.prefilled());
    assertEquals(0, turn.cached());
    assertEquals(turn.prefilled().length, turn.done().timings().prefillTokens());
  }

  @Test
  void without_sources_the_model_is_told_to_say_it_does_not_know() {
    ChatEngine engine = engine(Retriever.none());
    ChatEngine.Turn turn = engine.ask(question("Who won in 1950?", 4), e -> {}, () -> false);
    assertTrue(turn.prompt().contains(PromptBuilder.NO_SOURCES + "\n\nQuestion: Who won in 1950?"), turn.prompt());
    assertEquals(List.of(), turn.sources());
  }

  @Test
  void a_follow_up_prefills_exactly_the_new_tokens_and_continues_as_a_fresh_run_over_the_same_tokens() {
    ChatEngine engine = engine((q, o) -> sources(q, 2));
    ChatEngine.Turn first = engine.ask(question("first question", 10), e -> {}, () -> false);
    String id = first.done().chatId();
    int[] generated = first.result().tokens();

    ChatEngine.Turn second = engine.ask(question("second question", 10).inChat(id), e -> {}, () -> false);

    // The cache held the first prompt and every answer token but the last, which leads the new tokens.
    assertEquals(first.prefilled().length + generated.length - 1, second.cached());
    assertEquals(generated[generated.length - 1], second.prefilled()[0]);
    Tokenizer tokenizer = model.tokenizer();
    boolean endedWithEos = tokenizer.isEndOfGeneration(generated[generated.length - 1]);
    String newText = second.prompt().substring(second.prompt().lastIndexOf("<s>[INST]"));
    int[] expectedNew = tokenizer.encode((endedWithEos ? "" : " </s>") + newText, false, true);
    assertEquals(1 + expectedNew.length, second.prefilled().length, "seed " + SEED);
    assertEquals(second.prefilled().length, second.result().prefillTokens());
    assertTrue(second.prefilled().length < tokenizer.encode(second.prompt(), true, true).length / 2,
        second.prefilled().length + " tokens prefilled for a follow-up");

    // A fresh session over the whole sequence answers the same.
    int[] all = concat(first.prefilled(), Arrays.copyOf(generated, generated.length - 1), second.prefilled());
    Session fresh = model.newSession(SessionOptions.of(1024));
    GenerationResult again = new Generator(fresh, tokenizer).generate(all, GenerationOptions.greedy(10));
    assertArrayEquals(second.result().tokens(), again.tokens());
  }

  @Test
  void a_forced_search_call_injects_the_results_and_the_answer_goes_on_as_a_fresh_run_over_the_same_tokens() {
    ChatEngine engine = new ChatEngine(model, (q, o) -> sources(q, o.maxSources() >= 3 && !q.startsWith("question") ? 3 : 2),
        ChatEngine.Settings.defaults(2048), CLOCK);
    List<ChatEvent> events = new ArrayList<>();

    ChatEngine.Turn turn = engine.ask(question("question about tools", 140).withTools(true, "search"), events::add,
        () -> false);

    List<ChatEvent.Tool> tools = events.stream().filter(e -> e instanceof ChatEvent.Tool).map(e -> (ChatEvent.Tool) e).toList();
    assertEquals(1, tools.size(), "seed " + SEED + ": " + model.tokenizer().decode(turn.result().tokens()));
    ChatEvent.Tool tool = tools.getFirst();
    assertEquals("search", tool.tool());
    assertFalse(tool.argument().isEmpty());
    assertEquals(List.of(3, 4, 5), tool.sources().stream().map(Source::n).toList());
    assertEquals(5, turn.sources().size());
    assertFalse(turn.done().answer().contains(ToolCall.MARKER), turn.done().answer());
    assertTrue(turn.prompt().contains(ToolCall.MARKER), "the system prompt declares the tools");

    // Where the call ended: the forced marker, then the shortest run of tokens that is a whole call.
    Tokenizer tokenizer = model.tokenizer();
    int[] generated = turn.result().tokens();
    int marker = tokenizer.encode(ToolCall.MARKER, false, true).length;
    java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
    int end = marker;
    while (!ToolCall.schema(List.of("search")).accepts(json.toString(StandardCharsets.UTF_8))) {
      json.writeBytes(tokenizer.tokenBytes(generated[end++], false));
    }
    assertTrue(end < generated.length, "the answer goes on after the call: " + turn.result().message());
    int[] injected = tokenizer.encode(PromptBuilder.toolResult(tool.result()), false, false);
    assertEquals(turn.prefilled().length + injected.length + 1, turn.result().prefillTokens(),
        "the call's answer is prefilled with the token before it and nothing said earlier is read again");

    Session fresh = model.newSession(SessionOptions.of(2048));
    fresh.append(concat(turn.prefilled(), Arrays.copyOf(generated, end), injected));
    int rest = generated.length - end;
    GenerationResult again = new Generator(fresh, tokenizer).generate(new int[0], GenerationOptions.greedy(rest));
    assertArrayEquals(Arrays.copyOfRange(generated, end, generated.length), again.tokens(), "seed " + SEED);
  }

  @Test
  void the_time_and_calc_tools_answer_through_the_same_injection() {
    ChatEngine engine = new ChatEngine(model, (q, o) -> sources(q, 1), ChatEngine.Settings.defaults(2048), CLOCK);
    List<ChatEvent> events = new ArrayList<>();

    ChatEngine.Turn time = engine.ask(question("what time is it", 40).withTools(true, "time"), events::add, () -> false);

    ChatEvent.Tool tool = events.stream().filter(e -> e instanceof ChatEvent.Tool).map(e -> (ChatEvent.Tool) e)
        .findFirst().orElseThrow(() -> new AssertionError("no tool call; seed " + SEED + ": " + events));
    assertEquals("time", tool.tool());
    assertEquals("Sun, 1 Mar 2026 12:00:00 GMT (sunday)", tool.result());
    int[] injected = model.tokenizer().encode(PromptBuilder.toolResult(tool.result()), false, false);
    assertTrue(time.result().prefillTokens() >= time.prefilled().length + injected.length + 1, time.result().toString());

    events.clear();
    engine.ask(question("add these", 140).withTools(true, "calc"), events::add, () -> false);
    ChatEvent.Tool calc = events.stream().filter(e -> e instanceof ChatEvent.Tool).map(e -> (ChatEvent.Tool) e)
        .findFirst().orElseThrow(() -> new AssertionError("no tool call; seed " + SEED + ": " + events));
    assertEquals("calc", calc.tool());
    // The random model's expression is noise: the tool answers with why it cannot evaluate it, and the answer goes on.
    assertTrue(calc.result().startsWith("error: cannot evaluate") || calc.result().matches("-?[0-9.E]+"), calc.result());
  }

  @Test
  void cancelling_stops_decoding_and_the_turn_ends_with_done() {
    ChatEngine engine = engine((q, o) -> sources(q, 1));
    AtomicInteger polls = new AtomicInteger();
    List<ChatEvent> events = new ArrayList<>();

    ChatEngine.Turn turn = engine.ask(question("a long answer please", 500), events::add, () -> polls.incrementAndGet() > 5);

    assertEquals("cancelled", turn.done().finishReason());
    assertEquals(6, turn.result().tokens().length);
    assertInstanceOf(ChatEvent.Done.class, events.getLast());
  }

  @Test
  void an_unknown_chat_is_refused_and_an_evicted_one_prefills_its_whole_conversation_again() {
    long oneCache = Session.kvCacheBytes(model.config(), 1024, ChatEngine.Settings.defaults(1024).kvCacheType());
    ChatEngine engine = new ChatEngine(model, (q, o) -> sources(q, 1),
        ChatEngine.Settings.defaults(1024).withMemoryBudget(2 * oneCache), CLOCK);
    assertThrows(NoSuchElementException.class, () -> engine.ask(question("hi", 2).inChat("nope"), e -> {}, () -> false));

    String a = engine.ask(question("chat a", 3), e -> {}, () -> false).done().chatId();
    String b = engine.ask(question("chat b", 3), e -> {}, () -> false).done().chatId();
    engine.ask(question("chat c", 3), e -> {}, () -> false);
    ChatSessions.Stats stats = engine.sessionStats();
    assertEquals(3, stats.conversations());
    assertEquals(2, stats.liveCaches());
    assertEquals(1, stats.evictions());

    ChatEngine.Turn again = engine.ask(question("back to a", 3).inChat(a), e -> {}, () -> false);
    assertEquals(0, again.cached(), "chat a's cache was evicted: everything is prefilled again");
    ChatEngine.Turn bAgain = engine.ask(question("back to b", 3).inChat(b), e -> {}, () -> false);
    assertEquals(0, bAgain.cached(), "a's return evicted b, the least recently used");
    assertTrue(engine.drop(a));
    assertFalse(engine.drop(a));
  }

  @Test
  void a_conversation_that_does_not_fit_the_context_is_refused_and_its_cache_released() {
    ChatEngine engine = new ChatEngine(model, (q, o) -> sources(q, 3), ChatEngine.Settings.defaults(64), CLOCK);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> engine.ask(question("a question with three sources", 4), ev -> {}, () -> false));

    assertTrue(e.getMessage().contains("does not fit the chat context of 64 tokens"), e.getMessage());
    ChatSessions.Stats stats = engine.sessionStats();
    assertEquals(0, stats.liveCaches());
    assertEquals(0, stats.cacheBytes());
  }

  @Test
  void one_shot_questions_are_forgotten_and_history_starts_a_new_chat() {
    ChatEngine engine = engine((q, o) -> sources(q, 1));
    ChatRequest oneShot = question("once", 3).withHistory(
        List.of(dev.loupe.llm.tokenizer.ChatMessage.user("earlier"), dev.loupe.llm.tokenizer.ChatMessage.assistant("reply")),
        false);
    ChatEngine.Turn turn = engine.ask(oneShot, e -> {}, () -> false);
    assertTrue(turn.prompt().contains("earlier [/INST] reply </s><s>[INST] Sources:"), turn.prompt());
    assertEquals(0, engine.sessionStats().conversations());
  }

  private static int[] concat(int[]... parts) {
    int n = 0;
    for (int[] p : parts) n += p.length;
    int[] out = new int[n];
    int at = 0;
    for (int[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
