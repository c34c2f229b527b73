package dev.loupe.http;

import dev.loupe.llm.convert.GgufQuantizer;
import dev.loupe.llm.convert.Llama2cConverter;
import dev.loupe.llm.cuda.CudaBackend;
import dev.loupe.llm.generate.GenerationHook;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.JsonConstraint;
import dev.loupe.llm.generate.JsonSchema;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.generate.SamplerSettings;
import dev.loupe.llm.generate.SpeculativeState;
import dev.loupe.llm.generate.TokenConstraint;
import dev.loupe.llm.generate.TokenTrie;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tensor.ActivationMode;
import dev.loupe.llm.tokenizer.ChatMessage;
import dev.loupe.llm.tokenizer.ChatTemplate;
import dev.loupe.llm.tokenizer.Tokenizer;
import dev.loupe.llm.tokenizer.Vocabulary;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code loupe generate}, {@code loupe chat} and {@code loupe convert}: Loupe's own LLM engine
 * ({@code llm-runtime}) on a GGUF file from the command line. Generated text streams to {@code out}
 * as it comes; statistics, prompts and errors go to {@code err}. Exit codes: 0 done; 1 failed (a
 * missing or unreadable model file, a schema the engine cannot compile: one line naming it); 2 bad
 * command line (one line, then the usage).
 */
final class LlmCommand {

  static final String GENERATE_USAGE =
      """
      Usage: loupe generate --model FILE --prompt TEXT [options]

      Generates text after TEXT with a GGUF model, streaming it to stdout; prompt and
      generation statistics go to stderr.

      Options:
        --model FILE          the GGUF model (llama, qwen2, qwen3; F32 to Q4_0 and K-quants)
        --prompt TEXT         the prompt
        --chat                format the prompt as a user message with the model's chat template
        --max-tokens N        the most tokens to generate (default 256)
        --temperature T       0 is greedy (default 0.8)
        --top-k K             keep the K most likely tokens, 0 for all (default 40)
        --top-p P             keep the smallest set of mass P (default 0.95)
        --min-p P             drop tokens below P times the most likely one (default 0.05)
        --repeat-penalty R    penalise the last 64 tokens, 1 is off (default 1.0)
        --seed S              the sampler's seed (default: random, printed on stderr)
        --threads T           compute threads (default: every core)
        --context N           KV cache positions (default: the model's, at most 4096)
        --kv f32|f16          KV cache type (default f16)
        --activations q8|fp32 q8 (default) rounds the matmul inputs to 8 bits, as llama.cpp
                              does, so Q8_0/Q4_0 weights run the integer kernels (about
                              twice as fast); fp32 keeps the inputs exact (logits differ
                              slightly)
        --json-schema FILE    constrain the output to a JSON document of the schema
        --draft FILE          speculative decoding with this draft model (same vocabulary)
        --draft-tokens K      draft tokens verified per target pass (default 4)
        --draft-adaptive      adapt K to the acceptance, between 1 and --draft-tokens
        --gpu                 decode on the GPU (CUDA backend: Q8_0/Q4_0/Q4_K models, fp16
                              KV cache); without a usable GPU, on the CPU with a log line
        --help                this text
      """;

  static final String CHAT_USAGE =
      """
      Usage: loupe chat --model FILE [--system TEXT] [options]

      An interactive chat: each line read from stdin is a user message, formatted
      with the model's chat template; the answer streams to stdout. The KV cache is
      kept between turns, so a follow-up prefills only its new tokens.
      Commands: /reset starts over (keeping the system message), /quit ends.

      Options:
        --model FILE          the GGUF model
        --system TEXT         a system message
        --verbose             prefill and decode timings of each turn on stderr
        --max-tokens N        the most tokens per answer (default 512)
        and --temperature, --top-k, --top-p, --min-p, --repeat-penalty, --seed,
        --threads, --context, --kv, --activations, --draft, --draft-tokens,
        --draft-adaptive, --gpu as for loupe generate.
      """;

  static final String CONVERT_USAGE =
      """
      Usage: loupe convert llama2c --checkpoint FILE --tokenizer FILE --out FILE.gguf [--type f32|f16]
             loupe convert quantize --model FILE --out FILE.gguf --type TYPE

      llama2c   converts a llama2.c checkpoint (run.c's format, such as stories260K.bin)
                and its tokenizer (tok512.bin, tokenizer.bin) to a GGUF model
      quantize  rewrites a GGUF model with its matrices as TYPE: f32, f16, bf16, q8_0,
                q4_0, q4_k, q5_k or q6_k (matrices whose rows are not whole blocks and
                norms keep their type); for example the draft of --draft
      """;

  private LlmCommand() {}

  /** A command-line mistake: one line, then the usage. */
  private static final class UsageException extends IllegalArgumentException {
    UsageException(String message) {
      super(message);
    }
  }

  /** A failure that is not the command line's: one line, exit 1. */
  private static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }
  }

  private static final Set<String> SWITCHES = Set.of("--chat", "--verbose", "--draft-adaptive", "--gpu", "--help", "-h");
  private static final Set<String> GENERATE_OPTIONS = Set.of("--model", "--prompt", "--chat", "--max-tokens",
      "--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--seed", "--threads", "--context", "--kv",
      "--json-schema", "--draft", "--draft-tokens", "--draft-adaptive", "--gpu", "--activations");
  private static final Set<String> CHAT_OPTIONS = Set.of("--model", "--system", "--verbose", "--max-tokens",
      "--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--seed", "--threads", "--context", "--kv",
      "--draft", "--draft-tokens", "--draft-adaptive", "--gpu", "--activations");

  /**
   * {@code --flag value} and {@code --flag=value} pairs and switches, each flag at most once.
   *
   * @throws UsageException for an unknown flag, a missing value or a repeated flag
   */
  private static Map<String, String> flags(String command, List<String> args, Set<String> allowed) {
    Map<String, String> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (flag.equals("--help") || flag.equals("-h")) {
        flags.put("--help", "");
        continue;
      }
      if (!allowed.contains(flag)) {
        throw new UsageException((arg.startsWith("-") ? "unknown option '" : "unexpected argument '") + arg + "' for " + command);
      }
      if (SWITCHES.contains(flag)) {
        if (value != null) {
          throw new UsageException("option " + flag + " takes no value");
        }
        value = "";
      } else if (value == null) {
        if (i + 1 >= args.size() || (args.get(i + 1).startsWith("--") && !flag.equals("--prompt") && !flag.equals("--system"))) {
          throw new UsageException("option " + flag + " needs a value");
        }
        value = args.get(++i);
      }
      if (flags.put(flag, value) != null) {
        throw new UsageException("option " + flag + " is given twice");
      }
    }
    return flags;
  }

  private static String required(Map<String, String> flags, String flag, String command) {
    String v = flags.get(flag);
    if (v == null || v.isBlank()) {
      throw new UsageException(command + " needs " + flag);
    }
    return v;
  }

  private static int intFlag(Map<String, String> flags, String flag, int fallback, int min) {
    String v = flags.get(flag);
    if (v == null) {
      return fallback;
    }
    int n;
    try {
      n = Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " '" + v + "' is not a whole number");
    }
    if (n < min) {
      throw new UsageException(flag + " " + n + " must be at least " + min);
    }
    return n;
  }

  private static float floatFlag(Map<String, String> flags, String flag, float fallback) {
    String v = flags.get(flag);
    if (v == null) {
      return fallback;
    }
    try {
      return Float.parseFloat(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " '" + v + "' is not a number");
    }
  }

  /** What generate and chat share: the sampler, the session shape, the threads and the draft. */
  private record Setup(Path model, SamplerSettings sampler, int maxTokens, int threads, Integer context, KvCacheType kv,
      Path draft, SpeculativeState.Options draftOptions, boolean gpu, ActivationMode activations) {}

  /** {@code --activations fp32|q8} (and serve's {@code --llm-activations}): the model's activation mode. */
  static ActivationMode activations(String flag, String value) {
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "fp32" -> ActivationMode.FP32;
      case "q8" -> ActivationMode.Q8;
      default -> throw new IllegalArgumentException(flag + " '" + value + "' is not fp32 or q8");
    };
  }

  private static Setup setup(String command, Map<String, String> flags, int defaultMaxTokens) {
    Path model = Path.of(required(flags, "--model", command));
    int maxTokens = intFlag(flags, "--max-tokens", defaultMaxTokens, 1);
    long seed;
    String s = flags.get("--seed");
    if (s == null) {
      seed = ThreadLocalRandom.current().nextLong(1L << 31);
    } else {
      try {
        seed = Long.parseLong(s.strip());
      } catch (NumberFormatException e) {
        throw new UsageException("--seed '" + s + "' is not a whole number");
      }
    }
    SamplerSettings sampler;
    float temperature = floatFlag(flags, "--temperature", 0.8f);
    int topK = intFlag(flags, "--top-k", 40, 0);
    float topP = floatFlag(flags, "--top-p", 0.95f);
    float minP = floatFlag(flags, "--min-p", 0.05f);
    float repeatPenalty = floatFlag(flags, "--repeat-penalty", 1.0f);
    try {
      sampler = new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, 64, seed);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage().replace("topK", "--top-k").replace("topP", "--top-p").replace("minP", "--min-p")
          .replace("repeatPenalty", "--repeat-penalty").replace("temperature", "--temperature"));
    }
    int threads = intFlag(flags, "--threads", Runtime.getRuntime().availableProcessors(), 1);
    Integer context = flags.containsKey("--context") ? intFlag(flags, "--context", 0, 1) : null;
    KvCacheType kv = switch (flags.getOrDefault("--kv", "f16").strip().toLowerCase(Locale.ROOT)) {
      case "f16" -> KvCacheType.F16;
      case "f32" -> KvCacheType.F32;
      default -> throw new UsageException("--kv '" + flags.get("--kv") + "' is not f32 or f16");
    };
    Path draft = flags.containsKey("--draft") ? Path.of(flags.get("--draft")) : null;
    int draftTokens = intFlag(flags, "--draft-tokens", 4, 1);
    if (draftTokens > 64) {
      throw new UsageException("--draft-tokens " + draftTokens + " must be at most 64");
    }
    if (draft == null && (flags.containsKey("--draft-tokens") || flags.containsKey("--draft-adaptive"))) {
      throw new UsageException("--draft-tokens and --draft-adaptive need --draft FILE");
    }
    ActivationMode activations;
    try {
      activations = activations("--activations", flags.getOrDefault("--activations", "q8"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    return new Setup(model, sampler, maxTokens, threads, context, kv, draft,
        new SpeculativeState.Options(draftTokens, flags.containsKey("--draft-adaptive")), flags.containsKey("--gpu"), activations);
  }

  /** The loaded target and draft and the state a generator drives. Closing closes the models. */
  private static final class Engine implements AutoCloseable {
    final Model model;
    final Model draft;
    final LanguageModelState state;
    final SpeculativeState speculative;
    final CudaBackend.Selected backend; // the target's, null unless --gpu
    final CudaBackend.Selected draftBackend; // null unless --gpu and --draft

    Engine(Model model, Model draft, LanguageModelState state, SpeculativeState speculative) {
      this(model, draft, state, speculative, null, null);
    }

    Engine(Model model, Model draft, LanguageModelState state, SpeculativeState speculative, CudaBackend.Selected backend,
        CudaBackend.Selected draftBackend) {
      this.model = model;
      this.draft = draft;
      this.state = state;
      this.speculative = speculative;
      this.backend = backend;
      this.draftBackend = draftBackend;
    }

    @Override
    public void close() {
      if (draftBackend != null) {
        draftBackend.close();
      }
      if (backend != null) {
        backend.close();
      }
      model.close();
      if (draft != null) {
        draft.close();
      }
    }
  }

  private static Model load(Path path, int threads, ActivationMode activations, String what) throws Failure {
    if (!Files.isRegularFile(path)) {
      throw new Failure("no " + what + " file at " + path.toAbsolutePath()
          + (Files.isDirectory(path) ? " (it is a folder)" : "") + "; give the path of a .gguf file (loupe convert makes one)");
    }
    try {
      return Model.load(path, ModelOptions.threads(threads).withActivationMode(activations));
    } catch (IOException | IllegalArgumentException | OutOfMemoryError e) { // OOM: off-heap weight copies (InterleavedRows)
      String message = e.getMessage();
      throw new Failure("cannot load the " + what + " " + path + ": " + (message.contains(path.toString()) ? message
          : message + " (" + path + ")"));
    }
  }

  private static Engine open(Setup setup) throws Failure {
    Model model = load(setup.model(), setup.threads(), setup.activations(), "model");
    Model draft = null;
    CudaBackend.Selected target = null;
    try {
      int context = setup.context() != null ? setup.context()
          : Math.min(4096, Math.max(1, model.config().contextLength()));
      SessionOptions options = SessionOptions.of(context).withKvCacheType(setup.kv());
      // --gpu: the CUDA backend for each model, or the CPU with a log line saying why not
      target = setup.gpu() ? CudaBackend.open(model, options, true) : null;
      if (setup.draft() == null) {
        return target != null ? new Engine(model, null, target.state(), null, target, null)
            : new Engine(model, null, model.newSession(options), null);
      }
      draft = load(setup.draft(), setup.threads(), setup.activations(), "draft model");
      requireSameVocabulary(model, setup.model(), draft, setup.draft());
      if (target == null) {
        SpeculativeState speculative = new SpeculativeState(model.newSession(options), draft.newSession(options),
            setup.draftOptions());
        return new Engine(model, draft, speculative, speculative);
      }
      CudaBackend.Selected drafter = CudaBackend.open(draft, options, true);
      SpeculativeState speculative = new SpeculativeState(target.state(), drafter.state(), setup.draftOptions());
      return new Engine(model, draft, speculative, speculative, target, drafter);
    } catch (IllegalArgumentException e) { // the memory budget, a context beyond the draft's
      if (target != null) {
        target.close();
      }
      model.close();
      if (draft != null) {
        draft.close();
      }
      throw new Failure(e.getMessage());
    } catch (Failure e) {
      if (target != null) {
        target.close();
      }
      model.close();
      throw e;
    }
  }

  private static void requireSameVocabulary(Model model, Path modelPath, Model draft, Path draftPath) {
    Vocabulary a = model.tokenizer().vocabulary(), b = draft.tokenizer().vocabulary();
    if (a.size() != b.size()) {
      throw new IllegalArgumentException("the draft " + draftPath + " has a vocabulary of " + b.size() + " tokens, the model "
          + modelPath + " one of " + a.size() + "; speculative decoding needs the same vocabulary");
    }
    for (int i = 0; i < a.size(); i++) {
      if (!a.text(i).equals(b.text(i))) {
        throw new IllegalArgumentException("the draft " + draftPath + " names token " + i + " '" + b.text(i) + "' where the model "
            + modelPath + " has '" + a.text(i) + "'; speculative decoding needs the same vocabulary");
      }
    }
  }

  /** The tokens of a formatted chat prompt: its BOS from the text when the template wrote one, else added. */
  private static int[] chatTokens(Tokenizer tokenizer, String rendered) {
    Vocabulary v = tokenizer.vocabulary();
    boolean hasBos = v.bos() != Vocabulary.NONE && rendered.startsWith(v.text(v.bos()));
    return tokenizer.encode(rendered, !hasBos, true);
  }

  private static ChatTemplate template(Model model) {
    return ChatTemplate.of(model.tokenizer().vocabulary(), Clock.systemDefaultZone());
  }

  // ------------------------------------------------------------------ generate

  /** Runs {@code loupe generate ARGS} and returns the exit code. */
  static int generate(List<String> args, PrintStream out, PrintStream err) {
    Map<String, String> flags;
    Setup setup;
    try {
      flags = flags("generate", args, GENERATE_OPTIONS);
      if (flags.containsKey("--help")) {
        out.print(GENERATE_USAGE);
        return 0;
      }
      setup = setup("generate", flags, 256);
      required(flags, "--prompt", "generate");
    } catch (UsageException e) {
      return usage("generate", e, GENERATE_USAGE, err);
    }
    try {
      TokenConstraint constraint = TokenConstraint.NONE;
      JsonSchema schema = null;
      if (flags.containsKey("--json-schema")) {
        schema = readSchema(Path.of(flags.get("--json-schema")));
      }
      try (Engine engine = open(setup)) {
        Tokenizer tokenizer = engine.model.tokenizer();
        String promptText = flags.get("--prompt");
        int[] prompt;
        if (flags.containsKey("--chat")) {
          String rendered = template(engine.model).render(List.of(new ChatMessage("user", promptText)), true);
          prompt = chatTokens(tokenizer, rendered);
        } else {
          prompt = tokenizer.encode(promptText, true, false);
        }
        if (schema != null) {
          constraint = new JsonConstraint(schema, TokenTrie.of(tokenizer));
        }
        GenerationResult result;
        try {
          result = new Generator(engine.state, tokenizer).generate(prompt,
              new GenerationOptions(setup.sampler(), setup.maxTokens(), List.of()), constraint, streamTo(out));
        } catch (IllegalArgumentException e) { // a prompt beyond the context
          throw new Failure(e.getMessage() + "; raise --context or shorten the prompt");
        }
        out.println();
        out.flush();
        err.println(summary(result, setup, engine));
      }
      return 0;
    } catch (Failure e) {
      err.println("loupe generate: " + e.getMessage());
      return 1;
    }
  }

  private static JsonSchema readSchema(Path file) throws Failure {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new Failure("cannot read the JSON schema " + file.toAbsolutePath() + ": " + e.getMessage());
    }
    try {
      return JsonSchema.parse(text);
    } catch (IllegalArgumentException e) {
      throw new Failure("the JSON schema " + file + " cannot be used: " + e.getMessage());
    }
  }

  private static GenerationHook streamTo(PrintStream out) {
    return GenerationHook.streaming(piece -> {
      out.print(piece);
      out.flush();
    });
  }

  private static String summary(GenerationResult r, Setup setup, Engine engine) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "%d prompt tokens at %.1f tokens/s, %d generated at %.1f tokens/s (%s), seed %d",
        r.promptTokens(), r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
        r.finishReason().name().toLowerCase(Locale.ROOT).replace('_', ' '), setup.sampler().seed()));
    if (engine.backend != null) {
      sb.append(engine.backend.onGpu() ? "; on the GPU" : "; on the CPU (no GPU backend: see the log line)");
    }
    if (engine.draftBackend != null) {
      sb.append(engine.draftBackend.onGpu() ? "; the draft on the GPU" : "; the draft on the CPU (see the log line)");
    }
    if (engine.speculative != null) {
      SpeculativeState.Stats stats = engine.speculative.stats();
      sb.append(String.format(Locale.ROOT, "; draft %s: %d of %d draft tokens accepted (acceptance rate %.1f%%), %.2f tokens per target pass",
          engine.draft.file().path().getFileName(), stats.accepted(), stats.drafted(), 100 * stats.acceptanceRate(),
          stats.tokensPerRound()));
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------ chat

  /** Runs {@code loupe chat ARGS} over the lines of {@code in} and returns the exit code. */
  static int chat(List<String> args, InputStream in, PrintStream out, PrintStream err) {
    Map<String, String> flags;
    Setup setup;
    try {
      flags = flags("chat", args, CHAT_OPTIONS);
      if (flags.containsKey("--help")) {
        out.print(CHAT_USAGE);
        return 0;
      }
      setup = setup("chat", flags, 512);
    } catch (UsageException e) {
      return usage("chat", e, CHAT_USAGE, err);
    }
    boolean verbose = flags.containsKey("--verbose");
    try (Engine engine = open(setup)) {
      Tokenizer tokenizer = engine.model.tokenizer();
      ChatTemplate template = template(engine.model);
      List<ChatMessage> system = flags.containsKey("--system") ? List.of(new ChatMessage("system", flags.get("--system")))
          : List.of();
      List<ChatMessage> messages = new ArrayList<>(system);
      // What the state holds, plus the last sampled token of the previous answer (never appended).
      int[] held = new int[0];
      GenerationResult last = null;
      GenerationOptions options = new GenerationOptions(setup.sampler(), setup.maxTokens(), List.of());
      BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      err.println("loupe chat: " + engine.model.file().path().getFileName() + " (" + template.source().map(s -> "its chat template")
          .orElse("the built-in " + template.fallback() + " format") + (engine.backend == null ? ""
          : engine.backend.onGpu() ? "; on the GPU" : "; on the CPU (no GPU backend: see the log line)")
          + "); /reset starts over, /quit ends");
      for (String line; (line = prompt(lines, err)) != null; ) {
        String text = line.strip();
        if (text.isEmpty()) {
          continue;
        }
        if (text.equals("/quit")) {
          break;
        }
        if (text.equals("/reset")) {
          messages = new ArrayList<>(system);
          engine.state.truncate(0);
          held = new int[0];
          last = null;
          err.println("(conversation reset)");
          continue;
        }
        if (text.startsWith("/")) {
          err.println("unknown command " + text + "; /reset starts over, /quit ends");
          continue;
        }
        Turn turn = nextTurn(tokenizer, template, messages, text, held, last, engine.state);
        if (turn.held().length + 1 > engine.state.contextLength()) {
          err.println("the conversation of " + turn.held().length + " tokens no longer fits the context of "
              + engine.state.contextLength() + " tokens; /reset starts over (or run with a larger --context)");
          messages.removeLast();
          continue;
        }
        engine.state.truncate(turn.keep());
        int[] fresh = Arrays.copyOfRange(turn.held(), turn.keep(), turn.held().length);
        int keep = turn.keep();
        GenerationResult result = new Generator(engine.state, tokenizer).generate(fresh, options, TokenConstraint.NONE,
            streamTo(out));
        out.println();
        out.flush();
        int[] answer = result.tokens();
        held = Arrays.copyOf(turn.held(), turn.held().length + answer.length);
        System.arraycopy(answer, 0, held, turn.held().length, answer.length);
        last = result;
        messages.add(new ChatMessage("assistant", result.text().strip()));
        if (verbose) {
          err.println(String.format(Locale.ROOT,
              "[prefill %d new tokens (%d cached) in %.1f ms, %.1f tokens/s; decode %d tokens in %.1f ms, %.1f tokens/s; %s]",
              fresh.length, keep, result.prefillNanos() / 1e6, result.prefillTokensPerSecond(), result.tokens().length,
              result.decodeNanos() / 1e6, result.decodeTokensPerSecond(), result.finishReason().name().toLowerCase(Locale.ROOT))
              + (engine.speculative != null ? " [" + engine.speculative.stats() + "]" : ""));
        }
      }
      return 0;
    } catch (Failure e) {
      err.println("loupe chat: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("loupe chat: cannot read stdin: " + e.getMessage());
      return 1;
    }
  }

  /**
   * The conversation's tokens after a new user message ({@code held}, the state's tokens before the answer's last,
   * then the new ones) and how many of them the state keeps.
   */
  private record Turn(int[] held, int keep) {}

  /**
   * Adds the user message to {@code messages} and says which tokens to prefill. After an answer, only the template's
   * text after that answer is tokenized (the delta, as llama.cpp's chat does), so the answer's own tokens stay in
   * the cache as they were generated; where the template does not render the conversation as a growing text, the
   * whole conversation is tokenized and the prefix it shares with the cache is kept.
   */
  private static Turn nextTurn(Tokenizer tokenizer, ChatTemplate template, List<ChatMessage> messages, String text,
      int[] held, GenerationResult last, LanguageModelState state) {
    String before = last == null ? null : template.render(messages, false);
    messages.add(new ChatMessage("user", text));
    String after = template.render(messages, true);
    String answer = last == null ? "" : last.text().strip();
    int at = before == null || answer.isEmpty() ? -1 : before.lastIndexOf(answer);
    if (at >= 0 && after.startsWith(before)) {
      // What the template writes after the answer (its end-of-turn marker) unless the model already generated it.
      String closing = before.substring(at + answer.length());
      int[] generated = last.tokens();
      int lastToken = generated[generated.length - 1];
      if (tokenizer.isEndOfGeneration(lastToken)) {
        String marker = tokenizer.vocabulary().text(lastToken);
        String trimmed = closing.stripLeading();
        if (trimmed.startsWith(marker)) {
          closing = trimmed.substring(marker.length());
        }
      }
      int[] delta = tokenizer.encode(closing + after.substring(before.length()), false, true);
      int[] all = Arrays.copyOf(held, held.length + delta.length);
      System.arraycopy(delta, 0, all, held.length, delta.length);
      return new Turn(all, state.position());
    }
    int[] all = chatTokens(tokenizer, after);
    int common = 0;
    while (common < all.length && common < held.length && all[common] == held[common]) {
      common++;
    }
    return new Turn(all, Math.min(Math.min(common, state.position()), all.length - 1));
  }

  private static String prompt(BufferedReader lines, PrintStream err) throws IOException {
    err.print("> ");
    err.flush();
    return lines.readLine();
  }

  // ------------------------------------------------------------------ convert

  /** Runs {@code loupe convert llama2c|quantize ARGS} and returns the exit code. */
  static int convert(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty()) {
      return usage("convert", new UsageException("convert needs a source: llama2c or quantize"), CONVERT_USAGE, err);
    }
    String kind = args.getFirst();
    if (kind.equals("--help") || kind.equals("-h") || kind.equals("help")) {
      out.print(CONVERT_USAGE);
      return 0;
    }
    List<String> rest = args.subList(1, args.size());
    Path in, out2;
    GgmlType type;
    Path tokenizer = null;
    try {
      switch (kind) {
        case "llama2c" -> {
          Map<String, String> flags = flags("convert llama2c", rest, Set.of("--checkpoint", "--tokenizer", "--out", "--type"));
          if (flags.containsKey("--help")) {
            out.print(CONVERT_USAGE);
            return 0;
          }
          in = Path.of(required(flags, "--checkpoint", "convert llama2c"));
          tokenizer = Path.of(required(flags, "--tokenizer", "convert llama2c"));
          out2 = Path.of(required(flags, "--out", "convert llama2c"));
          type = switch (flags.getOrDefault("--type", "f32").toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            default -> throw new UsageException("--type '" + flags.get("--type") + "' is not f32 or f16");
          };
        }
        case "quantize" -> {
          Map<String, String> flags = flags("convert quantize", rest, Set.of("--model", "--out", "--type"));
          if (flags.containsKey("--help")) {
            out.print(CONVERT_USAGE);
            return 0;
          }
          in = Path.of(required(flags, "--model", "convert quantize"));
          out2 = Path.of(required(flags, "--out", "convert quantize"));
          String t = required(flags, "--type", "convert quantize");
          type = GgufQuantizer.TYPES.stream().filter(g -> g.name().equalsIgnoreCase(t)).findFirst()
              .orElseThrow(() -> new UsageException("--type '" + t + "' is not one of f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k"));
        }
        default -> throw new UsageException("unknown convert source '" + kind + "'; expected llama2c or quantize");
      }
    } catch (UsageException e) {
      return usage("convert", e, CONVERT_USAGE, err);
    }
    try {
      for (Path p : tokenizer == null ? List.of(in) : List.of(in, tokenizer)) {
        if (!Files.isRegularFile(p)) {
          throw new Failure("no file at " + p.toAbsolutePath());
        }
      }
      Path parent = out2.toAbsolutePath().getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        throw new Failure("the output folder " + parent + " does not exist");
      }
      if (tokenizer != null) {
        Llama2cConverter.convert(in, tokenizer, out2, type);
        out.println("wrote " + out2 + " (" + type + ", " + Files.size(out2) + " bytes) from " + in.getFileName() + " and "
            + tokenizer.getFileName());
      } else {
        GgufQuantizer.Summary s = GgufQuantizer.quantize(in, out2, type);
        out.println("wrote " + out2 + " (" + type + ", " + Files.size(out2) + " bytes): " + s.quantized().size()
            + " matrices quantized" + (s.kept().isEmpty() ? "" : ", " + s.kept().size() + " kept in their type (rows not whole "
            + type + " blocks)"));
      }
      return 0;
    } catch (Failure e) {
      err.println("loupe convert: " + e.getMessage());
      return 1;
    } catch (IOException | IllegalArgumentException e) {
      err.println("loupe convert: " + e.getMessage());
      return 1;
    }
  }

  private static int usage(String command, IllegalArgumentException e, String usage, PrintStream err) {
    err.println("loupe " + command + ": " + e.getMessage());
    err.println();
    err.print(usage);
    return 2;
  }
}
