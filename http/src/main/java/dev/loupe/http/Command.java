package dev.loupe.http;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One parsed {@code loupe} command line. {@link #parse} is the whole grammar; it throws {@link
 * IllegalArgumentException} naming the first word it cannot accept.
 */
sealed interface Command {

  /**
   * {@code loupe serve}; {@code store} says where the indexes live, {@code llm} is the GGUF model
   * chat answers with, or null for none; {@code gpu} puts the GPU hot tier in front of the store
   * ({@code --gpu}).
   */
  record Serve(ServerConfig config, StoreConfig store, Path llm, ChatOptions chat, boolean gpu) implements Command {
    /** With the embedded store and no language model. */
    Serve(ServerConfig config) {
      this(config, StoreConfig.LUCENE, null);
    }

    /** With chat's default context and memory, and no GPU. */
    Serve(ServerConfig config, StoreConfig store, Path llm) {
      this(config, store, llm, ChatOptions.DEFAULTS, false);
    }
  }

  /**
   * {@code loupe ask QUESTION [--llm FILE] [--data DIR] [--no-retrieval] [--max-tokens N]}: one
   * question about the data folder's documents, answered on stdout with its sources.
   */
  record Ask(Path dataDir, Path llm, String question, boolean retrieval, int maxTokens) implements Command {}

  /** {@code loupe bench vectors ARGS}: {@code args} go to the benchmark untouched. */
  record BenchVectors(List<String> args) implements Command {
    public BenchVectors {
      args = List.copyOf(args);
    }
  }

  /**
   * {@code loupe bench embed ARGS}: {@code args} go to the benchmark, with {@code --data} added
   * (the default data folder) when absent, so {@code --model NAME} finds installed models.
   */
  record BenchEmbed(List<String> args) implements Command {
    public BenchEmbed {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe bench http ARGS}: the load benchmark against a running server; {@code data} its default data folder. */
  record BenchHttp(List<String> args, Path data) implements Command {
    public BenchHttp {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe bench ingest ARGS}: {@code args} go to the benchmark untouched. */
  record BenchIngest(List<String> args) implements Command {
    public BenchIngest {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe bench rag ARGS}: {@code args} go to {@link RagBench} untouched. */
  record BenchRag(List<String> args) implements Command {
    public BenchRag {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe bench llm ARGS}: {@code args} go to the benchmark untouched. */
  record BenchLlm(List<String> args) implements Command {
    public BenchLlm {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe bench gpu ARGS}: {@code args} go to {@link GpuBench} untouched. */
  record BenchGpu(List<String> args) implements Command {
    public BenchGpu {
      args = List.copyOf(args);
    }
  }

  /**
   * {@code loupe models ARGS}: {@code args} go to {@code ModelCommand}, with {@code --data} and
   * the resolved default data folder put first when the command line has no {@code --data}.
   */
  record Models(List<String> args) implements Command {
    public Models {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe ingest [--data DIR] PATH...}: index files and folders once and exit. */
  record Ingest(Path dataDir, List<Path> paths) implements Command {
    public Ingest {
      paths = List.copyOf(paths);
    }
  }

  /** {@code loupe status [--data DIR]}: the ingest journal's counts and failures. */
  record Status(Path dataDir) implements Command {}

  /**
   * {@code loupe keys ARGS}: {@code args} go to {@link KeysCommand}, with {@code --data} and the
   * resolved default data folder put first when the command line has no {@code --data}.
   */
  record Keys(List<String> args) implements Command {
    public Keys {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe generate ARGS}: {@code args} go to {@link LlmCommand#generate} untouched. */
  record Generate(List<String> args) implements Command {
    public Generate {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe chat ARGS}: {@code args} go to {@link LlmCommand#chat} untouched. */
  record Chat(List<String> args) implements Command {
    public Chat {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe convert ARGS}: {@code args} go to {@link LlmCommand#convert} untouched. */
  record Convert(List<String> args) implements Command {
    public Convert {
      args = List.copyOf(args);
    }
  }

  /** {@code loupe version}. */
  record Version() implements Command {}

  /** {@code loupe help}. */
  record Help() implements Command {}

  String USAGE =
      """
      Usage: loupe <command> [options]

      Commands:
        serve [--data DIR] [--watch DIR]... [--port N] [--host H]
            Serve the Loupe API on http://H:N/.
            --data DIR   index and models; default $LOUPE_DATA, else
                         ${XDG_DATA_HOME:-~/.local/share}/loupe
            --watch DIR  folder to index (repeat for several); default DIR/inbox
                         under the data folder, created if missing
            --port N     TCP port, default 8080; 0 picks a free one
            --host H     address to listen on, default 127.0.0.1. A non-loopback
                         host (0.0.0.0, a LAN address) needs an API key (loupe keys
                         create), and then every /api and /v1 request must send one.
            --store lucene|opensearch  where the indexes live: lucene (default, in
                         DIR/index) or an OpenSearch cluster with the k-NN plugin:
              --opensearch-url URL[,URL...]  nodes to send requests to (any of them)
              --opensearch-user U --opensearch-password-file F  HTTP basic login
              --opensearch-index-prefix P    index names P+text, P+visual (loupe-)
            --llm FILE   GGUF language model for chat (POST /api/chat and
                         /v1/chat/completions); default $LOUPE_LLM; without one
                         chat answers 503 with how to load one
            --gpu        mirror the store's vectors on the GPU and answer k-NN
                         searches there (exact), and decode chats there; the CPU
                         path when there is no GPU
            --llm-context N    positions of each chat's KV cache; default the
                         model's context, at most 4096
            --chat-memory SIZE  memory all chats' KV caches may take (512m, 2g);
                         default 1g; the least recently used chat is evicted
            --llm-activations q8|fp32  q8 (default) rounds the model's matmul
                         inputs to 8 bits as llama.cpp does (about twice as fast for
                         Q8_0/Q4_0); fp32 keeps them exact
        ask QUESTION [--llm FILE] [--data DIR] [--no-retrieval] [--max-tokens N]
            Answer one question from the documents in DIR with the language model
            (default $LOUPE_LLM), streaming the answer and listing its sources.
        models list | pull NAME | import DIR | verify NAME | remove NAME [--data DIR]
            Manage embedding models in DIR/models (same default data folder as
            serve), and pull|verify qwen2.5-0.5b-instruct, chat's language model, in
            DIR/llm. pull downloads, resumes and checks a model; import installs
            files copied by hand, for machines without internet. loupe models help
            has the details.
        keys create [--name NAME] | list | revoke ID|NAME [--data DIR]
            API keys (bearer tokens) for clients on other machines; create prints
            the token once and keeps only its SHA-256 in DIR/keys.json.
        ingest [--data DIR] PATH...
            Index files and folders once (PDFs, office documents, images, videos),
            with progress on stderr; exits 1 if a file failed, listing why.
        status [--data DIR]
            What has been ingested: files done, pending and failed with reasons;
            asks the running server for live progress when serve holds the folder.
        bench vectors [options]
            Benchmark the vector indexes on synthetic data.
        bench embed [--model NAME] [--batch B] [--threads T] [options]
            Benchmark an embedder (default: a generated model of CLIP ViT-B/32's
            shape) against the machine's measured matrix-multiply rate.
        bench ingest [--files N] [--shape tiny|vit-b32] [--dir DIR] [options]
            Benchmark ingestion of a generated folder (10,000 files by default):
            hashing, extraction alone, end to end with a generated embedder, memory.
        bench http [--url URL] [--rate Q] [--seconds S] [--query keyword|similar|mix] [options]
            Drive the running server (found through --data's serve.json, or --url)
            with searches at a fixed rate, optionally while --ingest DIR's files are
            copied into its watch folder; latency percentiles against GET /api/health.
        bench llm [--model FILE | --random 1b|100m|tiny] [--quant q8_0|q4_0|q4_k] [--threads T]
                  [--prompt-tokens N] [--decode-tokens N] [--rounds R] [--cache DIR]
            Loupe's LLM engine against llama.cpp on the same GGUF and threads:
            prefill and decode tokens/s, ratios, the memory-bandwidth bound and
            resident memory; --random writes a seeded random-weight llama once.
        bench gpu [--n N] [--dim D] [--k K] [--batch B] [--queries Q] [options]
            Exact search over N x D fp16 vectors (default 10M x 768) on the GPU:
            copy bandwidth and the bandwidth bound, single-query latency, batched
            throughput against PyTorch matmul + topk, results against the CPU
            exact index. loupe bench gpu --help lists the options.
        bench rag [--items N] [--queries Q] [--turns T] [--embedder tiny|vit-b32]
                  [--llm tiny|100m|1b] [--source-tokens N] [--threads T]
                  [--tokenizer FILE] [--dir DIR]
            Retrieval p50/p99 (query embedding included), time to first token split
            into retrieval, prefill and first decode, tokens/s, follow-up prefill and
            one mid-answer retrieval against re-prefilling, over N generated items
            (default 100,000) with generated models.
        generate --model FILE --prompt TEXT [--max-tokens N] [--temperature T] [options]
            Generate text with a GGUF model (Loupe's own engine), streaming it to
            stdout; --draft FILE adds speculative decoding, --json-schema FILE
            constrains the output. loupe generate --help lists the options.
        chat --model FILE [--system TEXT] [--verbose] [options]
            Chat interactively on stdin with the model's chat template, keeping the
            KV cache between turns; /reset starts over, /quit ends.
        convert llama2c --checkpoint FILE --tokenizer FILE --out FILE.gguf [--type f32|f16]
        convert quantize --model FILE --out FILE.gguf --type q8_0|q4_0|...
            Convert a llama2.c checkpoint to GGUF; rewrite a GGUF model quantized.
        version
            Print the version.
        help
            Print this help.
      """;

  /**
   * Parses the arguments after {@code loupe}. {@code env} supplies {@code LOUPE_DATA}, {@code
   * XDG_DATA_HOME} and {@code HOME} for the default data folder.
   */
  static Command parse(List<String> args, Map<String, String> env) {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("no command given");
    }
    String name = args.getFirst();
    List<String> rest = args.subList(1, args.size());
    return switch (name) {
      case "serve" -> parseServe(rest, env);
      case "ask" -> parseAsk(rest, env);
      case "bench" -> parseBench(rest, env);
      case "ingest" -> parseIngest(rest, env);
      case "status" -> {
        Path data = defaultDataDir(env);
        if (rest.size() == 2 && rest.get(0).equals("--data")) {
          data = Path.of(rest.get(1));
        } else if (!rest.isEmpty()) {
          throw new IllegalArgumentException("status takes only --data DIR, not '" + rest.getFirst() + "'");
        }
        yield new Status(data);
      }
      case "models" -> parseModels(rest, env);
      case "keys" -> new Keys(withDefaultData(rest, env));
      case "generate" -> new Generate(rest);
      case "chat" -> new Chat(rest);
      case "convert" -> new Convert(rest);
      case "version", "--version" -> {
        requireNoArguments(name, rest);
        yield new Version();
      }
      case "help", "--help", "-h" -> new Help();
      default -> throw new IllegalArgumentException("unknown command '" + name + "'");
    };
  }

  private static Command parseServe(List<String> args, Map<String, String> env) {
    String host = ServerConfig.DEFAULT_HOST;
    int port = ServerConfig.DEFAULT_PORT;
    Path data = null;
    List<Path> watch = new ArrayList<>();
    String store = "lucene", osUrls = null, osUser = null, osPrefix = null;
    Path osPasswordFile = null;
    Path llm = llmFromEnv(env);
    boolean gpu = false;
    int llmContext = 0;
    long chatMemory = 0;
    dev.loupe.llm.tensor.ActivationMode llmActivations = dev.loupe.llm.tensor.ActivationMode.Q8;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (flag) {
        case "--help", "-h" -> {
          return new Help();
        }
        case "--gpu" -> {
          if (value != null) {
            throw new IllegalArgumentException("option --gpu takes no value, got '" + value + "'");
          }
          gpu = true;
        }
        case "--data", "--watch", "--port", "--host", "--store", "--opensearch-url", "--opensearch-user",
            "--opensearch-password-file", "--opensearch-index-prefix", "--llm", "--llm-context", "--chat-memory",
            "--llm-activations" -> {
          if (value == null) {
            if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
              throw new IllegalArgumentException("option " + flag + " needs a value");
            }
            value = args.get(++i);
          }
          if (value.isBlank()) {
            throw new IllegalArgumentException("option " + flag + " needs a value, got ''");
          }
          switch (flag) {
            case "--data" -> data = Path.of(value);
            case "--watch" -> watch.add(Path.of(value));
            case "--port" -> port = parsePort(value);
            case "--host" -> host = value;
            case "--store" -> store = value;
            case "--opensearch-url" -> osUrls = value;
            case "--opensearch-user" -> osUser = value;
            case "--opensearch-password-file" -> osPasswordFile = Path.of(value);
            case "--opensearch-index-prefix" -> osPrefix = value;
            case "--llm" -> llm = Path.of(value);
            case "--llm-context" -> llmContext = ChatOptions.parseContext(value);
            case "--chat-memory" -> chatMemory = ChatOptions.parseSize(value);
            case "--llm-activations" -> llmActivations = LlmCommand.activations(flag, value);
            default -> throw new AssertionError(flag);
          }
        }
        default ->
            throw new IllegalArgumentException(
                (arg.startsWith("-") ? "unknown option '" : "unexpected argument '")
                    + arg + "' for serve");
      }
    }
    if (data == null) {
      data = defaultDataDir(env);
    }
    if (watch.isEmpty()) {
      watch.add(ServerConfig.defaultWatchDir(data));
    }
    StoreConfig storeConfig;
    if (store.equals("opensearch")) {
      if (osUrls == null) {
        throw new IllegalArgumentException("--store opensearch needs --opensearch-url URL[,URL...]");
      }
      storeConfig = StoreConfig.opensearch(osUrls, osUser, osPasswordFile, osPrefix);
    } else if (osUrls != null || osUser != null || osPasswordFile != null || osPrefix != null) {
      throw new IllegalArgumentException("the --opensearch-* options need --store opensearch");
    } else {
      storeConfig = new StoreConfig(store, null, "loupe-");
    }
    return new Serve(new ServerConfig(host, port, data, watch), storeConfig, llm, new ChatOptions(llmContext, chatMemory, llmActivations), gpu);
  }

  private static Path llmFromEnv(Map<String, String> env) {
    String llm = env.get("LOUPE_LLM");
    return llm == null || llm.isBlank() ? null : Path.of(llm);
  }

  private static Command parseAsk(List<String> args, Map<String, String> env) {
    Path data = defaultDataDir(env);
    Path llm = llmFromEnv(env);
    boolean retrieval = true;
    int maxTokens = 512;
    List<String> words = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      switch (a) {
        case "--data", "--llm", "--max-tokens" -> {
          if (i + 1 >= args.size()) {
            throw new IllegalArgumentException("option " + a + " needs a value");
          }
          String v = args.get(++i);
          switch (a) {
            case "--data" -> data = Path.of(v);
            case "--llm" -> llm = Path.of(v);
            default -> {
              try {
                maxTokens = Integer.parseInt(v);
              } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--max-tokens '" + v + "' is not a number", e);
              }
            }
          }
        }
        case "--no-retrieval" -> retrieval = false;
        default -> {
          if (a.startsWith("--")) {
            throw new IllegalArgumentException("unknown option '" + a + "' for ask");
          }
          words.add(a);
        }
      }
    }
    String question = String.join(" ", words).strip();
    if (question.isEmpty()) {
      throw new IllegalArgumentException("ask needs a question: loupe ask \"what does the report say about revenue?\"");
    }
    if (llm == null) {
      throw new IllegalArgumentException("ask needs a language model: --llm MODEL.gguf (or set LOUPE_LLM)");
    }
    return new Ask(data, llm, question, retrieval, maxTokens);
  }

  private static Command parseBench(List<String> args, Map<String, String> env) {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("bench needs a target: loupe bench vectors|embed|ingest|http|llm|rag|gpu");
    }
    String target = args.getFirst();
    List<String> rest = args.subList(1, args.size());
    return switch (target) {
      case "vectors" -> new BenchVectors(rest);
      case "ingest" -> new BenchIngest(rest);
      case "llm" -> new BenchLlm(rest);
      case "gpu" -> new BenchGpu(rest);
      case "rag" -> new BenchRag(rest);
      case "http" -> new BenchHttp(rest, defaultDataDir(env));
      case "embed" -> {
        List<String> withData = new ArrayList<>(rest);
        if (!rest.contains("--data")) {
          withData.addAll(List.of("--data", defaultDataDir(env).toString()));
        }
        yield new BenchEmbed(withData);
      }
      default -> throw new IllegalArgumentException("unknown bench target '" + target + "'; expected vectors, embed, ingest, http, llm, rag or gpu");
    };
  }

  private static Command parseIngest(List<String> args, Map<String, String> env) {
    Path data = defaultDataDir(env);
    List<Path> paths = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--data")) {
        if (i + 1 >= args.size()) {
          throw new IllegalArgumentException("--data needs a folder");
        }
        data = Path.of(args.get(++i));
      } else if (a.startsWith("-")) {
        throw new IllegalArgumentException("unknown ingest option '" + a + "'");
      } else {
        paths.add(Path.of(a).toAbsolutePath().normalize());
      }
    }
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("ingest needs at least one file or folder: loupe ingest PATH...");
    }
    return new Ingest(data, paths);
  }

  private static Command parseModels(List<String> args, Map<String, String> env) {
    boolean hasData = args.stream().anyMatch(a -> a.equals("--data") || a.startsWith("--data="));
    if (hasData) {
      return new Models(args);
    }
    List<String> withData = new ArrayList<>(List.of("--data", defaultDataDir(env).toString()));
    withData.addAll(args);
    return new Models(withData);
  }

  /** {@code args}, preceded by {@code --data} and the default data folder unless they name one. */
  private static List<String> withDefaultData(List<String> args, Map<String, String> env) {
    if (args.stream().anyMatch(a -> a.equals("--data") || a.startsWith("--data="))) {
      return args;
    }
    List<String> withData = new ArrayList<>(List.of("--data", defaultDataDir(env).toString()));
    withData.addAll(args);
    return withData;
  }

  private static int parsePort(String value) {
    try {
      // Range is ServerConfig's to check, so the message is the same from every caller.
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("port '" + value + "' is not a number", e);
    }
  }

  private static void requireNoArguments(String command, List<String> rest) {
    if (!rest.isEmpty()) {
      throw new IllegalArgumentException(
          "unexpected argument '" + rest.getFirst() + "' for " + command);
    }
  }

  /**
   * {@code $LOUPE_DATA}, else {@code $XDG_DATA_HOME/loupe}, else {@code ~/.local/share/loupe}.
   * Blank and relative {@code XDG_DATA_HOME} values are ignored, as the XDG base directory
   * specification says.
   */
  static Path defaultDataDir(Map<String, String> env) {
    String loupeData = env.get("LOUPE_DATA");
    if (loupeData != null && !loupeData.isBlank()) {
      return Path.of(loupeData);
    }
    String xdg = env.get("XDG_DATA_HOME");
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg, "loupe");
    }
    String home = env.get("HOME");
    if (home == null || home.isBlank()) {
      home = System.getProperty("user.home");
    }
    return Path.of(home, ".local", "share", "loupe");
  }
}
