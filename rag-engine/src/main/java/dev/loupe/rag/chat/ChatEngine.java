package dev.loupe.rag.chat;

import dev.loupe.llm.generate.GenerationHook;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.generate.TokenConstraint;
import dev.loupe.llm.generate.TokenTrie;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tokenizer.ChatMessage;
import dev.loupe.llm.tokenizer.ChatTemplate;
import dev.loupe.llm.tokenizer.TokenType;
import dev.loupe.llm.tokenizer.Tokenizer;
import dev.loupe.llm.tokenizer.Vocabulary;
import dev.loupe.rag.Citations;
import dev.loupe.rag.PromptBuilder;
import dev.loupe.rag.Retrieval;
import dev.loupe.rag.Retriever;
import dev.loupe.rag.Source;
import dev.loupe.rag.tool.Calculator;
import dev.loupe.rag.tool.ToolCall;
import dev.loupe.rag.tool.ToolCallConstraint;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Answers questions about the documents with the local model: retrieves the sources, writes them
 * with the question into the conversation ({@link PromptBuilder}), streams the answer as {@link
 * ChatEvent}s and maps its {@code [n]} citations back to items.
 *
 * <h2>KV reuse</h2>
 *
 * Each chat keeps a model state (a {@link Session}, or whatever the {@link StateFactory} opens: a
 * GPU session) within {@link ChatSessions}' budget. A follow-up
 * tokenizes only the template's text after the previous answer (its end-of-turn marker unless the
 * model generated it, then the new user turn and the assistant header), so the cache's earlier
 * tokens, the answer's own generated tokens included, are never prefilled again. A template whose
 * rendering does not grow by appending falls back to tokenizing the whole conversation and keeping
 * the prefix it shares with the cache; an evicted chat prefills everything.
 *
 * <h2>Tools</h2>
 *
 * The system prompt declares {@code search}, {@code time} and {@code calc}. When the model writes
 * {@link ToolCall#MARKER}, a {@link ToolCallConstraint} holds it to the call's JSON schema; the
 * hook then pauses, runs the tool, and injects {@code <tool_result>…</tool_result>} as tokens, which
 * the generator prefills after the call without reading anything before it again. Call text never
 * reaches the answer stream; a {@link ChatEvent.Tool} does.
 *
 * <h2>Cancellation</h2>
 *
 * The caller's {@code cancelled} is polled before each token; once true the generation stops, the
 * turn ends with finish reason {@code cancelled}, and the chat keeps what was said.
 *
 * <p>Thread-safe: chats answer in parallel on their own sessions (the model is shared); one chat
 * answers one question at a time. {@link #close} closes the chats' sessions (the model stays the
 * caller's).
 */
public final class ChatEngine implements AutoCloseable {

  /**
   * Opens a chat's model state over its own KV cache. The default is the CPU {@link
   * Model#newSession}; a GPU backend opens device sessions (closed by the engine when a chat's cache
   * is evicted or forgotten, if they are {@link AutoCloseable}).
   */
  public interface StateFactory {
    /** A new empty state of {@code options}' context. */
    LanguageModelState open(SessionOptions options);

    /** The bytes one state's cache takes, for the chat memory budget: by default the CPU session's. */
    default long cacheBytes(ModelConfig config, SessionOptions options) {
      return Session.kvCacheBytes(config, options.contextLength(), options.kvCacheType());
    }
  }

  /**
   * How the engine runs.
   *
   * @param contextLength positions of each chat's KV cache
   * @param kvCacheType F32 or F16
   * @param memoryBudgetBytes the most all chats' KV caches may take together
   * @param maxConversations the most chats remembered
   * @param maxToolCalls the most tool calls in one answer
   * @param toolSources the most sources one mid-answer search adds
   */
  public record Settings(int contextLength, KvCacheType kvCacheType, long memoryBudgetBytes, int maxConversations,
      int maxToolCalls, int toolSources) {
    public Settings {
      if (contextLength < 16) {
        throw new IllegalArgumentException("chat context length " + contextLength + " must be at least 16");
      }
      if (kvCacheType == null) {
        throw new IllegalArgumentException("a KV cache type is required");
      }
      if (maxToolCalls < 0 || toolSources < 1) {
        throw new IllegalArgumentException("max tool calls " + maxToolCalls + " must be >= 0 and tool sources "
            + toolSources + " >= 1");
      }
    }

    /** {@code contextLength} positions, F32 cache, 1 GiB for caches, 256 chats, 3 tool calls of 3 sources. */
    public static Settings defaults(int contextLength) {
      return new Settings(contextLength, KvCacheType.F32, 1L << 30, 256, 3, 3);
    }

    public Settings withMemoryBudget(long bytes) {
      return new Settings(contextLength, kvCacheType, bytes, maxConversations, maxToolCalls, toolSources);
    }
  }

  /**
   * What a turn did, for callers that want more than the events.
   *
   * @param done the last event
   * @param sources every source of the turn: the question's, then those mid-answer searches added
   * @param prompt the conversation as the template renders it for this turn
   * @param prefilled the tokens prefilled at the start of the turn (not counting tool answers)
   * @param cached the tokens the KV cache already held
   * @param result the generation
   */
  public record Turn(ChatEvent.Done done, List<Source> sources, String prompt, int[] prefilled, int cached,
      GenerationResult result) {}

  /** Positions a tool's answer leaves free for the answer to go on. */
  static final int ANSWER_ROOM = 64;

  private final Model model;
  private final Retriever retriever;
  private final Settings settings;
  private final Clock clock;
  private final Tokenizer tokenizer;
  private final ChatTemplate template;
  private final ChatSessions sessions;
  private final StateFactory states;
  private final long sessionBytes;
  private final List<String> controlTexts;
  private volatile TokenTrie trie;

  public ChatEngine(Model model, Retriever retriever, Settings settings, Clock clock) {
    this(model, retriever, settings, clock, model::newSession);
  }

  /** As the other constructor, each chat's state opened by {@code states} (a GPU backend, say). */
  public ChatEngine(Model model, Retriever retriever, Settings settings, Clock clock, StateFactory states) {
    this.model = model;
    this.states = states;
    this.retriever = retriever;
    this.settings = settings;
    this.clock = clock;
    this.tokenizer = model.tokenizer();
    this.template = ChatTemplate.of(tokenizer.vocabulary(), clock);
    this.sessionBytes = states.cacheBytes(model.config(), sessionOptions());
    if (sessionBytes > settings.memoryBudgetBytes()) {
      throw new IllegalArgumentException("one chat's KV cache of " + settings.contextLength() + " positions takes "
          + (sessionBytes >> 20) + " MiB, more than the chat memory budget of " + (settings.memoryBudgetBytes() >> 20)
          + " MiB; lower the context length or raise the budget");
    }
    this.sessions = new ChatSessions(settings.memoryBudgetBytes(), settings.maxConversations());
    Vocabulary v = tokenizer.vocabulary();
    Set<String> control = new HashSet<>();
    for (int i = 0; i < v.size(); i++) {
      if ((v.type(i) == TokenType.CONTROL || v.type(i) == TokenType.USER_DEFINED) && v.text(i).length() > 1) {
        control.add(v.text(i));
      }
    }
    control.add(ToolCall.MARKER);
    control.add(PromptBuilder.RESULT_OPEN);
    control.add(PromptBuilder.RESULT_CLOSE);
    this.controlTexts = List.copyOf(control);
  }

  public Model model() {
    return model;
  }

  public Settings settings() {
    return settings;
  }

  /** The tokens of {@code text} as the model reads it (for budgets). */
  public int countTokens(String text) {
    return tokenizer.encode(text, false, false).length;
  }

  /** Forgets chat {@code id}; false when there was none. */
  public boolean drop(String id) {
    return sessions.drop(id);
  }

  public ChatSessions.Stats sessionStats() {
    return sessions.stats();
  }

  /** Each chat's session options: the settings' context, cache type and memory budget. */
  private SessionOptions sessionOptions() {
    return SessionOptions.of(settings.contextLength()).withKvCacheType(settings.kvCacheType())
        .withMemoryBudget(settings.memoryBudgetBytes());
  }

  /**
   * Forgets every chat and closes their sessions, then the state factory when it is {@link
   * AutoCloseable} (a GPU backend's device model); no question may be in flight. The model stays open.
   */
  @Override
  public void close() {
    sessions.clear();
    if (states instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        throw new IllegalStateException("the chat sessions' backend did not close: " + e.getMessage(), e);
      }
    }
  }

  /**
   * Answers one question, streaming to {@code events} on the calling thread.
   *
   * @throws java.util.NoSuchElementException for an unknown chat id
   * @throws IllegalStateException when the chat is answering another question
   * @throws IllegalArgumentException when the conversation no longer fits the context
   */
  public Turn ask(ChatRequest request, Consumer<ChatEvent> events, BooleanSupplier cancelled) {
    long t0 = System.nanoTime();
    Conversation c;
    if (request.chatId() == null) {
      List<ChatMessage> initial = new ArrayList<>();
      initial.add(ChatMessage.system(PromptBuilder.system(request.tools() && settings.maxToolCalls() > 0)));
      for (ChatMessage m : request.history()) {
        initial.add(new ChatMessage(m.role(), neutral(m.content())));
      }
      c = sessions.create(initial);
    } else {
      c = sessions.get(request.chatId());
    }
    if (!c.lock.tryLock()) {
      throw new IllegalStateException("chat " + c.id + " is answering another question; wait for its done event");
    }
    boolean added = false;
    try {
      Retrieval retrieval = request.retrieve() ? retriever.retrieve(request.question(), request.retrieval())
          : Retrieval.empty(request.question(), "retrieval is off for this request");
      events.accept(new ChatEvent.Sources(c.id, retrieval.sources(), retrieval.tookMillis(), retrieval.notes()));
      List<Source> sources = new ArrayList<>(retrieval.sources());

      sessions.attach(c, sessionBytes, () -> states.open(sessionOptions()));
      LanguageModelState session = c.session;
      String before = c.last == null ? null : template.render(c.messages, false);
      c.messages.add(ChatMessage.user(neutral(PromptBuilder.question(request.question(), sources))));
      added = true;
      String after = template.render(c.messages, true);
      Next next = nextTokens(c, before, after, session.position());
      int[] all = next.all();
      int keep = next.keep();
      if (all.length + 1 > session.contextLength()) {
        throw new IllegalArgumentException("the conversation of " + all.length + " tokens does not fit the chat context of "
            + session.contextLength() + " tokens; start a new chat or ask a shorter question");
      }
      session.truncate(keep);
      int[] fresh = Arrays.copyOfRange(all, keep, all.length);

      TokenConstraint constraint = !request.tools() || settings.maxToolCalls() == 0 ? TokenConstraint.NONE
          : request.forceTool() != null
              ? ToolCallConstraint.forcing(request.forceTool(), tokenizer, trie(), settings.maxToolCalls())
              : ToolCallConstraint.watching(tokenizer, trie(), settings.maxToolCalls());
      TurnHook hook = new TurnHook(request, constraint instanceof ToolCallConstraint t ? t : null, sources, events,
          cancelled, t0, session);
      GenerationOptions options = new GenerationOptions(request.sampler(), request.maxTokens(), List.of());
      GenerationResult result = new Generator(session, tokenizer).generate(fresh, options, constraint, hook);

      // What the cache holds now (injected tool answers included), plus the last token, never appended.
      int[] cache = session.tokens();
      int[] generated = result.tokens();
      c.held = generated.length == 0 ? cache : Arrays.copyOf(cache, cache.length + 1);
      if (generated.length > 0) c.held[cache.length] = generated[generated.length - 1];
      c.last = generated.length == 0 ? null : result;
      String answer = hook.answer.toString().strip();
      c.lastAnswer = answer;
      c.messages.add(ChatMessage.assistant(answer));
      added = false;

      Citations.Cited cited = Citations.of(answer, sources);
      long now = System.nanoTime();
      ChatEvent.Timings timings = new ChatEvent.Timings(retrieval.tookMillis(), keep, result.prefillTokens(),
          result.prefillNanos() / 1e6, hook.firstToken == 0 ? 0 : (hook.firstToken - t0) / 1e6, result.decodeTokens(),
          result.decodeNanos() / 1e6, hook.toolNanos / 1e6, (now - t0) / 1e6);
      ChatEvent.Done done = new ChatEvent.Done(c.id, answer, cited.sources(), cited.unknown(),
          hook.cancelled ? "cancelled" : finishReason(result.finishReason()), timings);
      events.accept(done);
      return new Turn(done, sources, after, fresh, keep, result);
    } catch (RuntimeException e) {
      if (added) {
        c.messages.removeLast();
        sessions.forget(c); // the cache may hold part of a turn that did not finish
      }
      throw e;
    } finally {
      c.lock.unlock();
      sessions.afterTurn(c);
      if (!request.keep()) {
        sessions.drop(c.id);
      }
    }
  }

  /** The conversation's tokens after the new user message and how many of them the session keeps. */
  private record Next(int[] all, int keep) {}

  /**
   * The conversation's tokens after the new user message and how many of them the session keeps.
   * After an answer only the template's text after it is tokenized (the delta, as llama.cpp's chat
   * does); where the template does not grow by appending, the whole conversation is tokenized and
   * the prefix it shares with the cache is kept. Called under the chat's lock.
   */
  private Next nextTokens(Conversation c, String before, String after, int position) {
    String answer = c.lastAnswer;
    int at = before == null || c.last == null || answer.isEmpty() ? -1 : before.lastIndexOf(answer);
    if (at >= 0 && after.startsWith(before)) {
      String closing = before.substring(at + answer.length());
      int[] generated = c.last.tokens();
      int lastToken = generated[generated.length - 1];
      if (tokenizer.isEndOfGeneration(lastToken)) {
        String marker = tokenizer.vocabulary().text(lastToken);
        String trimmed = closing.stripLeading();
        if (trimmed.startsWith(marker)) {
          closing = trimmed.substring(marker.length());
        }
      }
      int[] delta = tokenizer.encode(closing + after.substring(before.length()), false, true);
      int[] all = Arrays.copyOf(c.held, c.held.length + delta.length);
      System.arraycopy(delta, 0, all, c.held.length, delta.length);
      return new Next(all, position);
    }
    int[] all = chatTokens(after);
    int common = 0;
    while (common < all.length && common < c.held.length && all[common] == c.held[common]) {
      common++;
    }
    return new Next(all, Math.min(Math.min(common, position), all.length - 1));
  }

  /** The tokens of a rendered chat: its BOS from the text when the template wrote one, else added. */
  private int[] chatTokens(String rendered) {
    Vocabulary v = tokenizer.vocabulary();
    boolean hasBos = v.bos() != Vocabulary.NONE && rendered.startsWith(v.text(v.bos()));
    return tokenizer.encode(rendered, !hasBos, true);
  }

  private TokenTrie trie() {
    TokenTrie t = trie;
    if (t == null) {
      t = TokenTrie.of(tokenizer);
      trie = t;
    }
    return t;
  }

  /**
   * {@code text} with every control token's text broken by a space, so that words from documents
   * or users are read as words and never as the chat format's markers (a document that contains
   * {@code <|im_end|>} cannot end a turn).
   */
  String neutral(String text) {
    String out = text;
    for (String control : controlTexts) {
      if (out.contains(control)) {
        out = out.replace(control, control.charAt(0) + " " + control.substring(1));
      }
    }
    return out;
  }

  private static String finishReason(GenerationResult.FinishReason r) {
    return switch (r) {
      case END_OF_GENERATION, STOP_STRING, CONSTRAINT_COMPLETE -> "stop";
      case MAX_TOKENS, CONTEXT_FULL -> "length";
      case HOOK -> "cancelled";
    };
  }

  /** Streams the answer, hides tool calls, runs tools and injects their answers. Generating thread only. */
  private final class TurnHook implements GenerationHook {
    final ChatRequest request;
    final ToolCallConstraint tools;
    final List<Source> sources;
    final Consumer<ChatEvent> events;
    final BooleanSupplier cancelledBy;
    final long t0;
    final LanguageModelState session;
    final StringBuilder answer = new StringBuilder();
    final StringBuilder pending = new StringBuilder();
    long firstToken;
    long toolNanos;
    boolean cancelled;

    TurnHook(ChatRequest request, ToolCallConstraint tools, List<Source> sources, Consumer<ChatEvent> events,
        BooleanSupplier cancelled, long t0, LanguageModelState session) {
      this.session = session;
      this.request = request;
      this.tools = tools;
      this.sources = sources;
      this.events = events;
      this.cancelledBy = cancelled;
      this.t0 = t0;
    }

    @Override
    public Action onToken(int token, String piece, String text) {
      if (firstToken == 0) firstToken = System.nanoTime();
      if (cancelledBy.getAsBoolean()) {
        cancelled = true;
        return STOP;
      }
      String call = tools == null ? null : tools.takeCall();
      if (call != null) {
        pending.setLength(0);
        int[] result = runTool(ToolCall.parse(call));
        return result.length == 0 ? CONTINUE : GenerationHook.inject(result);
      }
      if (tools != null && tools.inCall()) {
        int marker = pending.indexOf(ToolCall.MARKER);
        pending.append(piece);
        if (marker < 0) marker = pending.indexOf(ToolCall.MARKER);
        if (marker >= 0) emit(pending.substring(0, marker));
        pending.setLength(0);
        return CONTINUE;
      }
      pending.append(piece);
      int hold = tools == null ? 0 : heldBack(pending);
      emit(pending.substring(0, pending.length() - hold));
      pending.delete(0, pending.length() - hold);
      return CONTINUE;
    }

    @Override
    public void onEnd(String piece) {
      if (tools == null || !tools.inCall()) {
        pending.append(piece);
        emit(pending.toString());
      }
      pending.setLength(0);
    }

    private void emit(String s) {
      if (s.isEmpty()) return;
      answer.append(s);
      events.accept(new ChatEvent.Token(s));
    }

    /** The length of the longest end of {@code s} that begins the marker: text that may be a call. */
    private int heldBack(StringBuilder s) {
      String m = ToolCall.MARKER;
      for (int k = Math.min(m.length() - 1, s.length()); k > 0; k--) {
        if (s.toString().regionMatches(s.length() - k, m, 0, k)) return k;
      }
      return 0;
    }

    private int[] runTool(ToolCall call) {
      long t = System.nanoTime();
      List<Source> added = List.of();
      String result;
      switch (call.tool()) {
        case "search" -> {
          if (call.argument().isBlank()) {
            result = "error: a search needs a query";
          } else {
            Retrieval more = retriever.retrieve(call.argument(), request.retrieval().withMaxSources(settings.toolSources()));
            Set<String> have = new HashSet<>();
            sources.forEach(s -> have.add(s.id()));
            List<Source> numbered = new ArrayList<>();
            for (Source s : more.sources()) {
              if (have.add(s.id())) numbered.add(s.withNumber(sources.size() + numbered.size() + 1));
            }
            sources.addAll(numbered);
            added = numbered;
            result = PromptBuilder.searchResult(numbered);
          }
        }
        case "time" -> result = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(clock))
            + " (" + ZonedDateTime.now(clock).getDayOfWeek().toString().toLowerCase(Locale.ROOT) + ")";
        case "calc" -> {
          String r;
          try {
            r = Calculator.format(Calculator.evaluate(call.argument()));
          } catch (IllegalArgumentException e) {
            r = "error: " + e.getMessage();
          }
          result = r;
        }
        default -> throw new AssertionError(call.tool());
      }
      toolNanos += System.nanoTime() - t;
      events.accept(new ChatEvent.Tool(call.tool(), call.argument(), result, added, (System.nanoTime() - t) / 1e6));
      int[] tokens = tokenizer.encode(PromptBuilder.toolResult(neutral(result)), false, false);
      // Room for the answer to go on after the tool's: a result that would fill the context is cut.
      int room = session.contextLength() - session.position() - 1 - ANSWER_ROOM;
      if (tokens.length > room) {
        int[] note = tokenizer.encode(PromptBuilder.toolResult("error: the result does not fit the context"), false, false);
        tokens = note.length <= session.contextLength() - session.position() - 1 ? note : new int[0];
      }
      return tokens;
    }
  }
}
