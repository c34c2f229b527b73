package dev.loupe.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.bench.GeneratedClip;
import dev.loupe.embeddings.bench.TransformerModels;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.SearchRetriever;
import dev.loupe.rag.chat.ChatEngine;
import dev.loupe.rag.chat.ChatEvent;
import dev.loupe.rag.chat.ChatRequest;
import dev.loupe.rag.search.Searcher;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * {@code loupe bench rag}: retrieval and answering over a generated collection, with generated
 * models. N items (four passages to one picture, page or video frame) with seeded random words and
 * seeded clustered unit vectors go into Lucene text and visual indexes; a random-weight CLIP-shaped
 * ONNX model with int8 linear layers, as the catalog's export has, embeds the questions (for both
 * the passage and the picture side, as the real models would) and a random-weight llama of the
 * chosen size answers them. It reports:
 *
 * <ul>
 *   <li>retrieval p50/p99 of {@link SearchRetriever} including the query embedding, and the
 *       embedding's own p50/p99 measured alone;
 *   <li>time to first token split into retrieval, prompt prefill and first decode, and decode tokens/s;
 *   <li>a follow-up turn's prefilled and cached tokens (only the new tokens are prefilled);
 *   <li>one mid-answer retrieval (a forced {@code search} tool call): the search, then from the tool
 *       event to the first new token (injecting its tokens and decoding), against prefilling the
 *       whole context again in a fresh session.
 * </ul>
 *
 * The last line printed is one JSON object with every figure. Single-threaded use only.
 */
final class RagBench {
  static final String USAGE = "usage: loupe bench rag [--items N] [--queries Q] [--warmup W] [--turns T (0: retrieval only)] [--embedder tiny|vit-b32]"
      + " [--llm tiny|100m|1b] [--source-tokens N] [--threads T] [--tokenizer CLIP_TOKENIZER.json] [--dir DIR] [--seed S]";
  private static final ObjectMapper JSON = new ObjectMapper();

  record Config(int items, int queries, int warmup, int turns, String embedder, String llm, int sourceTokens, int threads,
      Path tokenizer, Path dir, long seed) {
    Config {
      if (warmup < 0 || warmup > 100_000) throw new IllegalArgumentException("--warmup " + warmup + " is outside [0, 100000]");
      if (items < 10 || items > 10_000_000) throw new IllegalArgumentException("--items " + items + " is outside [10, 10000000]");
      if (queries < 1 || queries > 100_000) throw new IllegalArgumentException("--queries " + queries + " is outside [1, 100000]");
      if (turns < 0 || turns > 100) {
        throw new IllegalArgumentException("--turns " + turns + " is outside [0, 100] (0 measures retrieval only)");
      }
      if (!List.of("tiny", "vit-b32").contains(embedder)) {
        throw new IllegalArgumentException("--embedder '" + embedder + "' must be tiny or vit-b32");
      }
      if (!List.of("tiny", "100m", "1b").contains(llm)) throw new IllegalArgumentException("--llm '" + llm + "' must be tiny, 100m or 1b");
      if (sourceTokens < 1 || sourceTokens > 100_000) {
        throw new IllegalArgumentException("--source-tokens " + sourceTokens + " is outside [1, 100000]");
      }
      if (threads < 1 || threads > 512) throw new IllegalArgumentException("--threads " + threads + " is outside [1, 512]");
    }
  }

  /**
   * Questions retrieved (and embedded) before the measured ones, by default: enough for the JIT to
   * compile Lucene's search paths, so that the percentiles describe a server that has been up a
   * while rather than its first seconds (20 left the first few hundred measured retrievals slower).
   */
  static final int DEFAULT_WARMUP = 300;

  private RagBench() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws IOException {
    Config c;
    try {
      c = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench rag: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      out.println(JSON.writeValueAsString(measure(c, out)));
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("loupe bench rag: " + e.getMessage());
      return 2;
    }
  }

  static Config parse(List<String> args) {
    int items = 100_000, queries = 200, warmup = DEFAULT_WARMUP, turns = 3, sourceTokens = ChatApi.DEFAULT_SOURCE_TOKENS, threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    String embedder = "vit-b32", llm = "100m";
    Path tokenizer = null, dir = null;
    long seed = 42;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (i + 1 >= args.size()) throw new IllegalArgumentException("option " + flag + " needs a value");
      String v = args.get(++i);
      try {
        switch (flag) {
          case "--items" -> items = Integer.parseInt(v);
          case "--queries" -> queries = Integer.parseInt(v);
          case "--warmup" -> warmup = Integer.parseInt(v);
          case "--turns" -> turns = Integer.parseInt(v);
          case "--embedder" -> embedder = v;
          case "--llm" -> llm = v;
          case "--threads" -> threads = Integer.parseInt(v);
          case "--source-tokens" -> sourceTokens = Integer.parseInt(v);
          case "--tokenizer" -> tokenizer = Path.of(v);
          case "--dir" -> dir = Path.of(v);
          case "--seed" -> seed = Long.parseLong(v);
          default -> throw new IllegalArgumentException("unknown option '" + flag + "'");
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " '" + v + "' is not a whole number");
      }
    }
    return new Config(items, queries, warmup, turns, embedder, llm, sourceTokens, threads, tokenizer, dir, seed);
  }

  private static Map<String, Object> measure(Config c, PrintStream out) throws IOException {
    Path work = c.dir() != null ? Files.createDirectories(c.dir()) : Files.createTempDirectory("loupe-bench-rag");
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("config", Map.of("items", c.items(), "queries", c.queries(), "warmup", c.warmup(), "turns", c.turns(), "embedder", c.embedder(),
        "llm", c.llm(), "source_tokens", c.sourceTokens(), "threads", c.threads(), "seed", c.seed()));
    boolean tiny = c.embedder().equals("tiny");
    // int8 weights, as the catalog's clip-vit-b32 (text_model_quantized.onnx) has them.
    Path clipDir = GeneratedClip.write(work.resolve("generated-clip-" + c.embedder() + "-int8"), c.embedder(),
        tiny ? GeneratedClip.TINY_VISION : TransformerModels.VIT_B32_VISION, tiny ? GeneratedClip.TINY_TEXT : TransformerModels.VIT_B32_TEXT,
        TransformerModels.Weights.INT8, c.tokenizer(), out);
    Path llmFile = work.resolve("random-" + c.llm() + "-q8_0.gguf");
    if (!Files.isRegularFile(llmFile)) {
      out.printf(Locale.ROOT, "writing a random-weight llama of the %s shape to %s...%n", c.llm(), llmFile);
      RandomModels.write(RandomModels.preset(c.llm(), GgmlType.Q8_0, c.seed()), llmFile);
    }
    try (OnnxEmbedder clip = OnnxEmbedder.open(clipDir, new OnnxEmbedder.Options(8, c.threads(), OnnxEmbedder.Device.CPU));
        Model model = Model.load(llmFile, ModelOptions.threads(c.threads()))) {
      int dim = clip.info().dimension();
      Path indexes = work.resolve("indexes-clustered-" + c.items() + "-" + dim + "-" + c.seed());
      try (LuceneVectorIndex text = LuceneVectorIndex.open(indexes.resolve("text"), new IndexSpec(dim, Similarity.COSINE),
              LuceneVectorIndex.Options.defaults());
          LuceneVectorIndex visual = LuceneVectorIndex.open(indexes.resolve("visual"), new IndexSpec(dim, Similarity.COSINE),
              LuceneVectorIndex.Options.defaults())) {
        Words words = new Words(c.seed());
        if (text.size() + visual.size() < c.items()) {
          long t0 = System.nanoTime();
          fill(text, visual, c.items(), dim, words, new Random(c.seed()));
          out.printf(Locale.ROOT, "indexed %,d generated items in %.1f s%n", c.items(), (System.nanoTime() - t0) / 1e9);
        }
        Searcher searcher = new Searcher(new Searcher.Parts(text, clip, "generated-text", visual, clip, "generated-clip",
            id -> List.of(), (index, id) -> Optional.empty()));
        SearchRetriever retriever = new SearchRetriever(searcher, s -> model.tokenizer().encode(s, false, false).length);
        RetrievalOptions options = RetrievalOptions.defaults(c.sourceTokens());

        Random queries = new Random(c.seed() + 1), warmups = new Random(c.seed() + 2);
        for (int i = 0; i < c.warmup(); i++) { // other questions than the measured ones
          String question = words.question(warmups);
          clip.embedText(question);
          retriever.retrieve(question, options);
        }
        double[] ms = new double[c.queries()], embedMs = new double[c.queries()];
        for (int i = 0; i < ms.length; i++) {
          String question = words.question(queries);
          // The question's embedding alone, then the whole retrieval (which embeds it again).
          long t = System.nanoTime();
          clip.embedText(question);
          embedMs[i] = (System.nanoTime() - t) / 1e6;
          t = System.nanoTime();
          retriever.retrieve(question, options);
          ms[i] = (System.nanoTime() - t) / 1e6;
        }
        double[] rest = new double[ms.length];
        for (int i = 0; i < ms.length; i++) rest[i] = ms[i] - embedMs[i];
        Arrays.sort(ms);
        Arrays.sort(embedMs);
        Arrays.sort(rest);
        json.put("retrieval_ms", Map.of("p50", pct(ms, 0.50), "p99", pct(ms, 0.99), "max", ms[ms.length - 1]));
        json.put("query_embedding_ms", Map.of("p50", pct(embedMs, 0.50), "p99", pct(embedMs, 0.99), "max", embedMs[embedMs.length - 1]));
        out.printf(Locale.ROOT, "retrieval incl. query embedding: p50 %.2f ms, p99 %.2f ms over %d queries%n",
            pct(ms, 0.5), pct(ms, 0.99), ms.length);
        json.put("search_ms_estimate", Map.of("p50", pct(rest, 0.50), "p99", pct(rest, 0.99)));
        out.printf(Locale.ROOT, "  of which the query embedding, measured alone: p50 %.2f ms, p99 %.2f ms;"
            + " the rest (each retrieval less its question's embedding alone): p50 %.2f ms, p99 %.2f ms%n",
            pct(embedMs, 0.5), pct(embedMs, 0.99), pct(rest, 0.5), pct(rest, 0.99));

        if (c.turns() == 0) {
          return json; // retrieval only
        }
        // Room for every turn's sources and answer, so that follow-ups are not cut by the context;
        // random weights make no use of a trained length, so it may be longer than the model's.
        int context = Math.min(32_768, Math.max(Main.CHAT_CONTEXT, (c.turns() + 1) * (2 * c.sourceTokens() + 700)));
        long memory = Math.max(1L << 30, 2 * Session.kvCacheBytes(model.config(), context, KvCacheType.F32));
        ChatEngine engine = new ChatEngine(model, retriever, ChatEngine.Settings.defaults(context).withMemoryBudget(memory),
            Clock.systemUTC());
        json.put("answer", answers(engine, words, queries, c.turns(), options, out));
        json.put("mid_answer_retrieval", midAnswer(engine, model, words, queries, context, options, out));
      }
    }
    return json;
  }

  /**
   * Four passages to one visual; words from {@link Words}; vectors from {@code bench vectors}'
   * clustered generator ({@link SyntheticVectors#forBenchmark}: about one cluster per 500 items,
   * as embeddings of a real collection cluster by topic), not isotropic noise, on which an HNSW
   * search degenerates towards a scan.
   */
  private static void fill(LuceneVectorIndex text, LuceneVectorIndex visual, int items, int dim, Words words, Random random)
      throws IOException {
    String[] visualTypes = {"page", "image", "frame"};
    SyntheticVectors vectors = SyntheticVectors.forBenchmark(dim, items, random.nextLong());
    for (int i = 0; i < items; i++) {
      float[] v = vectors.vector(i);
      int doc = i / 8;
      if (i % 5 != 4) {
        String passage = words.passage(random, 40 + random.nextInt(80));
        text.add("d" + doc + "#" + i, v, new Metadata("chunk", "/corpus/doc-" + doc + ".pdf", 1 + i % 8, 0L, passage,
            Map.of("sha", "d" + doc)));
      } else {
        String type = visualTypes[i % 3];
        visual.add("d" + doc + "#v" + i, v, new Metadata(type, "/corpus/doc-" + doc + (type.equals("frame") ? ".mp4" : ".pdf"),
            type.equals("frame") ? 0 : 1 + i % 8, type.equals("frame") ? 1_000L * (i % 600) : 0L, "doc-" + doc,
            Map.of("sha", "d" + doc)));
      }
    }
    text.commit();
    visual.commit();
  }

  /** Turns of one chat: time to first token split, decode speed, and what each follow-up prefilled. */
  private static List<Map<String, Object>> answers(ChatEngine engine, Words words, Random random, int turns,
      RetrievalOptions options, PrintStream out) {
    List<Map<String, Object>> rows = new ArrayList<>();
    String chat = null;
    for (int t = 0; t < turns; t++) {
      ChatRequest request = ChatRequest.of(words.question(random), options, 32).withTools(false, null);
      if (chat != null) request = request.inChat(chat);
      ChatEngine.Turn turn = engine.ask(request, e -> {}, () -> false);
      chat = turn.done().chatId();
      ChatEvent.Timings ti = turn.done().timings();
      double firstDecode = ti.firstTokenMillis() - ti.retrievalMillis() - ti.prefillMillis();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("turn", t + 1);
      row.put("retrieval_ms", ti.retrievalMillis());
      row.put("prefill_ms", ti.prefillMillis());
      row.put("first_decode_ms", firstDecode);
      row.put("first_token_ms", ti.firstTokenMillis());
      row.put("cached_tokens", ti.cachedTokens());
      row.put("prefill_tokens", ti.prefillTokens());
      row.put("decode_tokens_per_s", ti.tokensPerSecond());
      rows.add(row);
      out.printf(Locale.ROOT, "turn %d: first token %.1f ms = retrieval %.1f + prefill %.1f (%d new tokens, %d cached) + first decode"
              + " %.1f; decode %.1f tokens/s%n", t + 1, ti.firstTokenMillis(), ti.retrievalMillis(), ti.prefillMillis(),
          ti.prefillTokens(), ti.cachedTokens(), firstDecode, ti.tokensPerSecond());
    }
    engine.drop(chat);
    return rows;
  }

  /** A forced search mid-answer: its search, then injection to the next token, against prefilling the whole context anew. */
  private static Map<String, Object> midAnswer(ChatEngine engine, Model model, Words words, Random random, int context,
      RetrievalOptions options, PrintStream out) {
    long[] toolAt = {0};
    long[] nextToken = {0};
    double[] searchMs = {0};
    int[] injectedSources = {0};
    ChatRequest request = ChatRequest.of(words.question(random), options, 256)
        .withTools(true, "search").withHistory(List.of(), false);
    ChatEngine.Turn turn = engine.ask(request, e -> {
      if (e instanceof ChatEvent.Tool tool && toolAt[0] == 0) {
        toolAt[0] = System.nanoTime();
        searchMs[0] = tool.millis();
        injectedSources[0] = tool.sources().size();
      } else if (e instanceof ChatEvent.Token && toolAt[0] != 0 && nextToken[0] == 0) {
        nextToken[0] = System.nanoTime();
      }
    }, () -> false);
    Map<String, Object> m = new LinkedHashMap<>();
    if (toolAt[0] == 0 || nextToken[0] == 0) {
      m.put("note", "the model wrote no tool call or no token after it; finish " + turn.done().finishReason());
      out.println("mid-answer retrieval: " + m.get("note"));
      return m;
    }
    double injectToToken = (nextToken[0] - toolAt[0]) / 1e6;
    // The whole context at the end of the turn, prefilled again in a fresh session (what a pause
    // without KV reuse would cost): the same number of tokens, so the same work.
    int whole = Math.min(turn.cached() + turn.prefilled().length + turn.result().tokens().length, context - 1);
    int[] tokens = new int[whole];
    Random ids = new Random(7);
    for (int i = 0; i < whole; i++) tokens[i] = 3 + ids.nextInt(model.config().vocabSize() - 3);
    Session fresh = model.newSession(SessionOptions.of(context));
    long t = System.nanoTime();
    fresh.append(tokens);
    double reprefill = (System.nanoTime() - t) / 1e6;
    m.put("search_ms", searchMs[0]);
    m.put("injected_sources", injectedSources[0]);
    m.put("inject_to_next_token_ms", injectToToken);
    m.put("pause_to_next_token_ms", searchMs[0] + injectToToken);
    m.put("context_tokens", whole);
    m.put("reprefill_whole_context_ms", reprefill);
    out.printf(Locale.ROOT, "mid-answer retrieval: search %.1f ms + inject and next token %.1f ms = %.1f ms, against %.1f ms to"
        + " prefill the whole context of %d tokens again%n", searchMs[0], injectToToken, searchMs[0] + injectToToken, reprefill, whole);
    return m;
  }

  private static double pct(double[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  /** A seeded vocabulary of made-up words, and passages and questions drawn from it (Zipf-like). */
  private static final class Words {
    final String[] vocabulary = new String[5_000];

    Words(long seed) {
      Random r = new Random(seed ^ 0x5eed);
      String letters = "abcdefghijklmnoprstuvw";
      for (int i = 0; i < vocabulary.length; i++) {
        StringBuilder w = new StringBuilder();
        int n = 3 + r.nextInt(7);
        for (int k = 0; k < n; k++) w.append(letters.charAt(r.nextInt(letters.length())));
        vocabulary[i] = w.toString();
      }
    }

    String word(Random r) {
      // Squaring the uniform draw favours the first words, as real text favours common ones.
      double u = r.nextDouble();
      return vocabulary[(int) (u * u * vocabulary.length)];
    }

    String passage(Random r, int n) {
      StringBuilder s = new StringBuilder();
      for (int i = 0; i < n; i++) s.append(i == 0 ? "" : " ").append(word(r));
      return s.append('.').toString();
    }

    String question(Random r) {
      return "What do the documents say about " + word(r) + " and " + word(r) + "?";
    }
  }
}
