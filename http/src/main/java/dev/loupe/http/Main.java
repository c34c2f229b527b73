package dev.loupe.http;

import dev.loupe.embeddings.bench.EmbedBench;
import dev.loupe.embeddings.model.ModelCommand;
import dev.loupe.indexer.bench.IngestBench;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.VectorBench;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import dev.loupe.vectorstore.opensearch.OpenSearchVectorIndex;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code loupe} command and Loupe's composition root: the only place that chooses and builds
 * implementations. Everything below it receives what it needs.
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  /** Embedding dimension of the default store; matches the default CLIP-style embedder. */
  static final IndexSpec DEFAULT_SPEC = new IndexSpec(512, Similarity.COSINE);

  private Main() {}

  public static void main(String[] args) throws Exception {
    int code = run(args, System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Runs one command line and returns the exit code: 0 on success, 2 for a bad command line
   * (after one line naming the problem and the usage on {@code err}), 1 when serving or a
   * {@code models} command fails.
   * {@code serve} returns only once the server has been closed.
   */
  public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
    return run(args, System.getenv(), out, err);
  }

  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err)
      throws Exception {
    return run(args, env, System.in, out, err);
  }

  /** As {@link #run(String[], Map, PrintStream, PrintStream)}, {@code loupe chat} reading its lines from {@code in}. */
  static int run(String[] args, Map<String, String> env, InputStream in, PrintStream out, PrintStream err)
      throws Exception {
    if (args.length > 0 && args[0].equals(IngestWorker.COMMAND)) {
      return IngestWorker.run(args, err); // loupe serve's ingestion child, not in the usage
    }
    if (args.length > 0 && args[0].equals(IndexWriterWorker.COMMAND)) {
      return IndexWriterWorker.run(args, err); // loupe serve's index writer child, not in the usage
    }
    Command command;
    try {
      command = Command.parse(List.of(args), env);
    } catch (IllegalArgumentException e) {
      return usageError(e, err);
    }
    return switch (command) {
      case Command.Help() -> {
        out.print(Command.USAGE);
        yield 0;
      }
      case Command.Version() -> {
        out.println("loupe " + Version.NUMBER);
        yield 0;
      }
      case Command.BenchVectors(List<String> benchArgs) ->
          VectorBench.run(benchArgs.toArray(String[]::new));
      case Command.BenchEmbed(List<String> benchArgs) ->
          EmbedBench.run(benchArgs.toArray(String[]::new), out, err);
      case Command.BenchHttp(List<String> benchArgs, Path data) -> HttpBench.run(benchArgs, data, out, err);
      case Command.BenchIngest(List<String> benchArgs) ->
          IngestBench.run(benchArgs.toArray(String[]::new), out, err);
      case Command.BenchLlm(List<String> benchArgs) -> LlmBench.run(benchArgs, out, err);
      case Command.BenchGpu(List<String> benchArgs) -> GpuBench.run(benchArgs, dev.loupe.gpu.Gpu.detect(), out, err);
      case Command.BenchRag(List<String> benchArgs) -> RagBench.run(benchArgs, out, err);
      case Command.Ingest(Path dataDir, List<Path> paths) -> failsAsOne("ingest", err, () -> IngestCommand.ingest(dataDir, paths, out, err));
      case Command.Status(Path dataDir) -> failsAsOne("status", err, () -> IngestCommand.status(dataDir, out, err));
      case Command.Models(List<String> modelArgs) -> models(modelArgs, out, err);
      case Command.Keys(List<String> keyArgs) -> KeysCommand.run(keyArgs, out, err);
      case Command.Generate(List<String> llmArgs) -> LlmCommand.generate(llmArgs, out, err);
      case Command.Chat(List<String> llmArgs) -> LlmCommand.chat(llmArgs, in, out, err);
      case Command.Convert(List<String> llmArgs) -> LlmCommand.convert(llmArgs, out, err);
      case Command.Serve(ServerConfig config, StoreConfig store, Path llm, ChatOptions chat, boolean gpu) -> serve(config, store, llm, chat, gpu, err);
      case Command.Ask(Path dataDir, Path llm, String question, boolean retrieval, int maxTokens) ->
          failsAsOne("ask", err, () -> AskCommand.ask(dataDir, llm, question, retrieval, maxTokens, out, err));
    };
  }

  /** {@code loupe models}: embedders by {@link ModelCommand}, language models ({@code pull}, {@code verify}, {@code list}) by {@link LlmModels}. */
  private static int models(List<String> args, PrintStream out, PrintStream err) throws Exception {
    if (LlmModels.handles(args)) {
      return LlmModels.run(args, out, err);
    }
    int code = ModelCommand.run(args.toArray(String[]::new), out, err);
    if (code == 0 && args.contains("list")) {
      LlmModels.list(args, out);
    }
    return code;
  }

  private interface Run {
    int run() throws IOException, InterruptedException;
  }

  /** Runs a command whose I/O failures (a data folder in use, a damaged journal) are one line and exit 1. */
  private static int failsAsOne(String command, PrintStream err, Run body) throws InterruptedException {
    try {
      return body.run();
    } catch (IOException e) {
      err.println("loupe " + command + ": " + e.getMessage());
      return 1;
    }
  }

  private static int usageError(IllegalArgumentException e, PrintStream err) {
    err.println("loupe: " + e.getMessage());
    err.println();
    err.print(Command.USAGE);
    return 2;
  }

  private static int serve(ServerConfig config, StoreConfig storeConfig, Path llm, ChatOptions chat, boolean gpu, PrintStream err)
      throws IOException, InterruptedException {
    LoupeServer server;
    try {
      if (!config.loopback() && ApiKeys.in(config.dataDir()).list().isEmpty()) {
        // Before the pipeline opens (models load): the fix is one command away.
        err.println("loupe: " + Auth.noKeysMessage(config));
        return 2;
      }
      server = start(config, storeConfig, llm, chat, gpu);
    } catch (IllegalArgumentException e) {
      return usageError(e, err);
    } catch (IOException e) { // a port taken, a data folder in use, a bad loupe.properties
      err.println("loupe: " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime()
        .addShutdownHook(Thread.ofPlatform().name("loupe-shutdown").unstarted(() -> stop(server)));
    server.awaitClose();
    return 0;
  }

  private static void stop(LoupeServer server) {
    try {
      server.close();
    } catch (IOException e) {
      log.error("could not close the store cleanly; its last commit is what survives", e);
    }
  }

  /**
   * Whether {@code serve} extracts and embeds in a child process ({@link IngestWorker}): yes,
   * unless the system property {@code loupe.ingest.isolated} is {@code false} (then the server
   * does it on its own threads, at background priority). When the child cannot start, the server
   * processes the files itself and says so in its log.
   */
  static boolean isolatedIngestion() {
    return !"false".equals(System.getProperty("loupe.ingest.isolated"));
  }

  /**
   * Whether, with isolated ingestion, the Lucene indexes' writers live in a child process too
   * ({@link IndexWriterWorker}) and the server searches read-only views refreshed at each commit:
   * yes, unless the system property {@code loupe.index.isolated} is {@code false}.
   */
  static boolean isolatedIndexWriter() {
    return !"false".equals(System.getProperty("loupe.index.isolated"));
  }

  /**
   * Creates the data and watch folders if missing, opens the default store and starts serving.
   * The caller owns the returned server and must close it.
   *
   * @throws IllegalArgumentException if a folder exists but is not a directory
   */
  public static LoupeServer start(ServerConfig config) throws IOException {
    return start(config, StoreConfig.LUCENE, null);
  }

  /**
   * Like {@link #start(ServerConfig)}, with the indexes in {@code storeConfig}'s store: the data
   * folder's Lucene indexes, or an OpenSearch cluster's (checked and created at start-up).
   */
  public static LoupeServer start(ServerConfig config, StoreConfig storeConfig) throws IOException {
    return start(config, storeConfig, null);
  }

  /**
   * As {@link #start(ServerConfig)}, answering chat with the GGUF model {@code llm} (null: chat
   * answers 503 with how to load one). The server owns the model and closes it.
   *
   * @throws IllegalArgumentException if {@code llm} is not a readable model
   */
  public static LoupeServer start(ServerConfig config, Path llm) throws IOException {
    return start(config, StoreConfig.LUCENE, llm);
  }

  /** With the indexes in {@code storeConfig}'s store and chat answered by {@code llm} (either may be the default). */
  public static LoupeServer start(ServerConfig config, StoreConfig storeConfig, Path llm) throws IOException {
    return start(config, storeConfig, llm, ChatOptions.DEFAULTS, false);
  }

  /**
   * As {@link #start(ServerConfig, StoreConfig, Path)}, chat's KV caches sized by {@code
   * chatOptions}; with {@code gpu}, each index of the pipeline gets the GPU hot tier ({@link
   * GpuServe}), or stays on the CPU path when there is no GPU (a log line says which).
   */
  static LoupeServer start(ServerConfig config, StoreConfig storeConfig, Path llm, ChatOptions chatOptions, boolean gpu)
      throws IOException {
    createDirectory(config.dataDir(), "data");
    for (Path watch : config.watchDirs()) {
      createDirectory(watch, "watch");
    }
    Pipeline pipeline;
    try {
      pipeline = Pipeline.open(config.dataDir(), storeConfig, System.err, isolatedIngestion(),
          gpu ? GpuServe.hotTier(dev.loupe.gpu.Gpu.detect()) : java.util.function.UnaryOperator.identity());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while opening the ingest pipeline");
    }
    Store store = null;
    boolean started = false;
    dev.loupe.rag.chat.ChatEngine chat = null;
    try {
      chat = llm == null ? null : openChat(LlmModels.resolve(config.dataDir(), llm), pipeline.searcher(), chatOptions,
          gpu ? dev.loupe.gpu.Gpu.detect() : null);
      // With CLIP the pipeline holds the visual index; without it, serve opens the (empty) store itself.
      store = pipeline.visualIndex() != null ? new Store(storeConfig.kind(), pipeline.visualIndex())
          : storeConfig.isOpenSearch() ? openDefaultOpenSearchStore(storeConfig) : openDefaultStore(config.dataDir());
      pipeline.ingester().watch(config.watchDirs());
      LoupeServer server = LoupeServer.start(config, store, pipeline, chat);
      if (chat != null) {
        dev.loupe.rag.chat.ChatEngine engine = chat;
        server.ownChatModel(() -> {
          try (dev.loupe.llm.model.Model model = engine.model()) {
            engine.close();
          }
        });
      }
      started = true;
      return server;
    } finally {
      if (!started) {
        if (chat != null) {
          chat.close();
          chat.model().close();
        }
        pipeline.close();
        if (store != null) {
          store.index().close();
        }
      }
    }
  }

  /** Most positions of a chat's KV cache, whatever the model was trained for: 4,096 keeps 256 chats' caches small. */
  static final int CHAT_CONTEXT = 4_096;

  /**
   * Loads the GGUF language model {@code llm} and builds the chat engine over {@code searcher}
   * (null: chat without retrieval). The caller owns the engine's model.
   *
   * @throws IllegalArgumentException naming the file when it is missing or not a model Loupe runs
   */
  static dev.loupe.rag.chat.ChatEngine openChat(Path llm, dev.loupe.rag.search.Searcher searcher) throws IOException {
    return openChat(llm, searcher, ChatOptions.DEFAULTS);
  }

  /**
   * As {@link #openChat(Path, dev.loupe.rag.search.Searcher)}, each chat's context and all chats'
   * cache memory from {@code options}.
   *
   * @throws IllegalArgumentException also when the context is more than the model's, or one chat's
   *     cache does not fit the memory budget (naming the flags that fix it)
   */
  static dev.loupe.rag.chat.ChatEngine openChat(Path llm, dev.loupe.rag.search.Searcher searcher, ChatOptions options)
      throws IOException {
    return openChat(llm, searcher, options, null);
  }

  /**
   * As {@link #openChat(Path, dev.loupe.rag.search.Searcher, ChatOptions)}; with {@code gpu} (not
   * null), each chat's session runs on the CUDA backend when the device takes the model, else on the
   * CPU with a log line saying why ({@link dev.loupe.llm.cuda.CudaBackend#device}). The caller closes
   * the engine (its device model with it) and then its model.
   */
  static dev.loupe.rag.chat.ChatEngine openChat(Path llm, dev.loupe.rag.search.Searcher searcher, ChatOptions options,
      dev.loupe.gpu.Gpu.Detection gpu) throws IOException {
    if (!Files.isRegularFile(llm)) {
      throw new IllegalArgumentException("language model " + llm + " is not a file; install the small instruct model with "
          + LlmModels.fixCommand(LlmModels.QWEN_05B.name()) + " and pass --llm " + LlmModels.QWEN_05B.name()
          + ", or pass the path of another GGUF file to --llm");
    }
    dev.loupe.llm.model.Model model;
    try {
      model = dev.loupe.llm.model.Model.load(llm,
          dev.loupe.llm.model.ModelOptions.defaults().withActivationMode(options.activations()));
    } catch (OutOfMemoryError e) { // the off-heap copies of its weights do not fit (InterleavedRows says which limit)
      throw new IllegalArgumentException("cannot load the language model " + llm + ": " + e.getMessage(), e);
    }
    try {
      dev.loupe.rag.Retriever retriever = searcher == null ? dev.loupe.rag.Retriever.none()
          : new dev.loupe.rag.SearchRetriever(searcher, text -> model.tokenizer().encode(text, false, false).length);
      int context = options.contextFor(model.config().contextLength(), llm.getFileName().toString());
      dev.loupe.rag.chat.ChatEngine.Settings settings =
          dev.loupe.rag.chat.ChatEngine.Settings.defaults(context).withMemoryBudget(options.memory());
      GpuChatStates device = gpu == null ? null : GpuChatStates.open(model, gpu, context);
      dev.loupe.rag.chat.ChatEngine engine;
      try {
        engine = device == null
            ? new dev.loupe.rag.chat.ChatEngine(model, retriever, settings, java.time.Clock.systemDefaultZone())
            : new dev.loupe.rag.chat.ChatEngine(model, retriever, settings, java.time.Clock.systemDefaultZone(), device);
      } catch (IllegalArgumentException e) {
        if (device != null) {
          device.close();
        }
        throw new IllegalArgumentException(e.getMessage() + " (--llm-context N, --chat-memory SIZE)", e);
      }
      log.info("chat answers with {} ({} positions per chat, {} MiB for all chats' caches{})", model, context,
          options.memory() >> 20, device == null ? "" : ", on the GPU");
      return engine;
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * The store {@code loupe serve} answers from: the Lucene hybrid index of images, pages and frames
   * in {@code <dataDir>/index/visual}, where {@code loupe ingest} writes them (passages go to
   * {@code index/text}; the search API that reads both arrives with the HTTP issue).
   */
  static Store openDefaultStore(Path dataDir) throws IOException {
    Path dir = dataDir.resolve("index").resolve("visual");
    return new Store("lucene", LuceneVectorIndex.open(dir, DEFAULT_SPEC, LuceneVectorIndex.Options.defaults()));
  }

  /** The OpenSearch twin of {@link #openDefaultStore}: the (empty) visual index on the cluster. */
  static Store openDefaultOpenSearchStore(StoreConfig storeConfig) throws IOException {
    return new Store("opensearch", OpenSearchVectorIndex.open(storeConfig.opensearch(), storeConfig.indexPrefix() + "visual",
        DEFAULT_SPEC, Pipeline.OPENSEARCH_OPTIONS));
  }

  private static void createDirectory(Path dir, String what) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException(what + " folder " + dir + " exists but is not a directory");
    }
    Files.createDirectories(dir);
  }
}
