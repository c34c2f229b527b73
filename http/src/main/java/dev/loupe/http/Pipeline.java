package dev.loupe.http;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.model.InstalledModel;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.embeddings.model.ModelManifest;
import dev.loupe.embeddings.model.ModelUnavailableException;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.embeddings.text.Tokenizer;
import dev.loupe.indexer.BackgroundPriority;
import dev.loupe.indexer.ContentProcessor;
import dev.loupe.indexer.IngestConfig;
import dev.loupe.indexer.IngestSettings;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.chunk.TokenCounter;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.isolate.ChildProcessor;
import dev.loupe.indexer.isolate.RemoteIndexes;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.rag.search.Searcher;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.durable.DirectoryLock;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import dev.loupe.vectorstore.opensearch.OpenSearchConnection;
import dev.loupe.vectorstore.opensearch.OpenSearchVectorIndex;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The ingest side of a data folder, opened together and closed in reverse order: the installed
 * embedders, the journal, the text and visual indexes and the {@link Ingester} (started, so it
 * has recovered what a crash left).
 *
 * <p>Layout under the data folder: {@code index/text} (passage chunks, BM25 and, with a passage
 * model, its vectors), {@code index/visual} (CLIP vectors; opened only with CLIP installed),
 * {@code journal/}, {@code thumbs/}, {@code models/}.
 *
 * <p>Text is chunked by the passage model's own tokenizer, in chunks the model reads whole; without
 * the model, by {@link TextChunker#withDefaults()}'s approximate count.
 */
final class Pipeline implements AutoCloseable {
  /** The passage model chunks are embedded with, when installed. */
  static final String TEXT_MODEL = "all-minilm-l6-v2";
  /** The image model, when installed. */
  static final String VISUAL_MODEL = "clip-vit-b32";
  /** Dimension of the text index when no passage model is installed (all-MiniLM-L6-v2's). */
  static final int DEFAULT_TEXT_DIMENSION = 384;

  /**
   * A model the pipeline opened, for the OpenAI-compatible endpoints to share: its folder, its
   * embedder and, when it reads text, its own tokenizer (to count tokens; null otherwise).
   */
  record OpenModel(InstalledModel installed, Embedder embedder, Tokenizer tokenizer) {}

  private final List<AutoCloseable> open;
  private final List<OpenModel> models;
  private final Ingester ingester;
  private final HybridIndex textIndex;
  private final HybridIndex visualIndex;
  private final TextChunker chunker;
  private final Searcher searcher;

  private Pipeline(List<AutoCloseable> open, List<OpenModel> models, Ingester ingester, HybridIndex textIndex,
      HybridIndex visualIndex, TextChunker chunker, Searcher searcher) {
    this.open = open;
    this.models = List.copyOf(models);
    this.ingester = ingester;
    this.textIndex = textIndex;
    this.visualIndex = visualIndex;
    this.chunker = chunker;
    this.searcher = searcher;
  }

  /**
   * Searches never wait for a reader refresh: they see what the ingester has committed (it
   * commits whenever its queue runs dry, and marks files done only after the commit, so a file
   * counted as done is searchable). Reading every write at once would make each search during
   * ingestion pay for a refresh; on two cores that turned 2 ms searches into seconds.
   */
  static final LuceneVectorIndex.Options SEARCH_WHILE_INGESTING = LuceneVectorIndex.Options.defaults().withReadYourWrites(false);

  /**
   * The OpenSearch counterpart of {@link #SEARCH_WHILE_INGESTING}: searches see the ingester's
   * last commit; one shard with one replica per index.
   */
  static final OpenSearchVectorIndex.Options OPENSEARCH_OPTIONS = OpenSearchVectorIndex.Options.defaults().withReadYourWrites(false);

  static Pipeline open(Path dataDir, PrintStream err) throws IOException, InterruptedException {
    return open(dataDir, StoreConfig.LUCENE, err, false);
  }

  /** The models that process contents, and how text is chunked; what a server and its ingestion child both open. */
  record Processing(Embedder text, Embedder visual, TextChunker chunker, List<OpenModel> models) {}

  /** Opens the installed models (adding what needs closing to {@code open}) and the chunker that goes with them. */
  static Processing openProcessing(Path dataDir, IngestSettings settings, List<AutoCloseable> open, PrintStream err) throws IOException {
    ModelManager models = new ModelManager(dataDir.resolve("models"));
    List<OpenModel> opened = new ArrayList<>();
    InstalledModel textModel = installed(models, TEXT_MODEL, "passages are indexed for keyword search only", err);
    Embedder text = textModel == null ? null : embedder(textModel);
    if (text != null) open.add(text);
    TextChunker chunker = new TextChunker(settings.chunkTokens(), settings.chunkOverlap(), TokenCounter.approximate());
    if (textModel != null) {
      Tokenizer tokenizer = passageTokenizer(textModel);
      open.add(tokenizer); // closed after the ingester, which chunks with it
      chunker = passageChunker(tokenizer, settings);
      opened.add(new OpenModel(textModel, text, tokenizer));
    }
    InstalledModel visualModel = installed(models, VISUAL_MODEL, "images, pages and video frames are skipped", err);
    Embedder visual = visualModel == null ? null : embedder(visualModel);
    if (visual != null) {
      open.add(visual);
      Tokenizer tokenizer = visualModel.manifest().text() == null ? null : passageTokenizer(visualModel);
      if (tokenizer != null) open.add(tokenizer);
      opened.add(new OpenModel(visualModel, visual, tokenizer));
    }
    return new Processing(text, visual, chunker, opened);
  }

  /**
   * Opens the pipeline with its indexes in {@code store}: {@code index/text} and {@code
   * index/visual} under the data folder, or the OpenSearch indexes {@code <prefix>text} and
   * {@code <prefix>visual} over one connection. When {@code isolated}, extraction and embedding
   * of ingested files run in a child process ({@link IngestWorker}) at background priority and
   * this process writes what it returns, so ingestion's garbage collection, JIT compilation and
   * native crashes do not pause or kill the searches.
   */
  static Pipeline open(Path dataDir, StoreConfig store, PrintStream err, boolean isolated) throws IOException, InterruptedException {
    return open(dataDir, store, err, isolated, java.util.function.UnaryOperator.identity());
  }

  /**
   * As {@link #open(Path, StoreConfig, PrintStream, boolean)}, with each opened index passed
   * through {@code tier} (the GPU hot tier of {@code serve --gpu}, or the identity) before the
   * ingester and the searcher see it, so every write goes through what {@code tier} returns.
   */
  static Pipeline open(Path dataDir, StoreConfig store, PrintStream err, boolean isolated,
      java.util.function.UnaryOperator<HybridIndex> tier) throws IOException, InterruptedException {
    IngestSettings settings = Settings.load(dataDir).ingest(); // a bad setting fails before anything opens
    List<AutoCloseable> open = new ArrayList<>();
    boolean done = false;
    try {
      Processing processing = openProcessing(dataDir, settings, open, err);
      Embedder text = processing.text(), visual = processing.visual();
      TextChunker chunker = processing.chunker();
      IngestJournal journal = openJournal(dataDir);
      open.add(journal);
      int textDim = text == null ? DEFAULT_TEXT_DIMENSION : text.info().dimension();
      OpenSearchConnection cluster = null;
      if (store.isOpenSearch()) {
        cluster = OpenSearchConnection.open(store.opensearch());
        open.add(cluster); // closed after the indexes
      }
      IndexSpec textSpec = new IndexSpec(textDim, Similarity.COSINE);
      IndexSpec visualSpec = visual == null ? null : new IndexSpec(visual.info().dimension(), Similarity.COSINE);
      RemoteIndexes remoteIndexes = isolated && !store.isOpenSearch() && Main.isolatedIndexWriter()
          ? startIndexWriter(dataDir, textSpec, visualSpec, err) : null;
      HybridIndex textIndex;
      HybridIndex visualIndex = null;
      if (remoteIndexes != null) {
        open.add(remoteIndexes); // closed after the indexes, whose close commits through it
        textIndex = tiered(tier, remoteIndexes.text(), open);
        if (visual != null) visualIndex = tiered(tier, remoteIndexes.visual(), open);
      } else {
        textIndex = tiered(tier, openIndex(dataDir, store, cluster, "text", textSpec), open);
        if (visual != null) visualIndex = tiered(tier, openIndex(dataDir, store, cluster, "visual", visualSpec), open);
      }
      ContentProcessor remote = isolated ? new ChildProcessor(IngestWorker.command(dataDir)) : null;
      if (remote != null) open.add(remote); // closed after the ingester, whose workers use it
      Ingester ingester = new Ingester(settings.apply(IngestConfig.defaults(dataDir)), journal, Extractors.standard(), chunker,
          text, textIndex, visual, visualIndex, remote);
      open.add(ingester);
      ingester.start();
      done = true;
      // Hits show where their content is now (the journal), not where it was first ingested.
      Searcher searcher = new Searcher(new Searcher.Parts(textIndex, text, TEXT_MODEL, visualIndex, visual, VISUAL_MODEL,
          ingester::paths, VectorIndex::vector));
      return new Pipeline(open, processing.models(), ingester, textIndex, visualIndex, chunker, searcher);
    } finally {
      if (!done) {
        closeAll(open, err);
      }
    }
  }

  Ingester ingester() {
    return ingester;
  }

  /** {@code tier} applied to {@code index}, added to {@code open}; the bare index is closed if {@code tier} fails. */
  private static HybridIndex tiered(java.util.function.UnaryOperator<HybridIndex> tier, HybridIndex index, List<AutoCloseable> open)
      throws IOException {
    HybridIndex result;
    try {
      result = tier.apply(index);
    } catch (RuntimeException e) {
      index.close();
      throw e;
    }
    open.add(result);
    return result;
  }

  /**
   * Read-only views of {@code index/text} and {@code index/visual} with their writers in a child
   * process ({@link IndexWriterWorker}), or null, said on {@code err}, when that process cannot
   * start: the caller then writes in-process.
   */
  private static RemoteIndexes startIndexWriter(Path dataDir, IndexSpec textSpec, IndexSpec visualSpec, PrintStream err)
      throws IOException {
    LuceneVectorIndex text = null, visual = null;
    try {
      text = LuceneVectorIndex.openReadOnly(dataDir.resolve("index").resolve("text"), textSpec, SEARCH_WHILE_INGESTING);
      if (visualSpec != null) {
        visual = LuceneVectorIndex.openReadOnly(dataDir.resolve("index").resolve("visual"), visualSpec, SEARCH_WHILE_INGESTING);
      }
      return RemoteIndexes.start(IndexWriterWorker.command(dataDir, textSpec.dimension(), visualSpec == null ? 0 : visualSpec.dimension()),
          text, visual);
    } catch (ChildProcessor.CannotStart e) {
      err.println("loupe: " + e.getMessage() + "; the server writes its indexes itself");
      closeQuietly(text, visual);
      return null;
    } catch (IOException | RuntimeException e) {
      closeQuietly(text, visual);
      throw e;
    }
  }

  private static void closeQuietly(LuceneVectorIndex... views) {
    for (LuceneVectorIndex v : views) {
      try {
        if (v != null) v.close();
      } catch (IOException e) {
        // a read-only view holds nothing to lose
      }
    }
  }

  /** The index {@code name} ("text", "visual") in the chosen store. */
  private static HybridIndex openIndex(Path dataDir, StoreConfig store, OpenSearchConnection cluster, String name, IndexSpec spec)
      throws IOException {
    return store.isOpenSearch()
        ? OpenSearchVectorIndex.open(cluster, store.indexPrefix() + name, spec, OPENSEARCH_OPTIONS)
        : LuceneVectorIndex.open(dataDir.resolve("index").resolve(name), spec, SEARCH_WHILE_INGESTING);
  }

  /** The passage index (BM25, and vectors with the passage model). */
  HybridIndex textIndex() {
    return textIndex;
  }

  /** The models opened, passage model first; empty when none is installed. */
  List<OpenModel> models() {
    return models;
  }

  /** The visual index, or null when no image model is installed. */
  HybridIndex visualIndex() {
    return visualIndex;
  }

  /** Search over this folder's text and visual indexes, with the installed models. */
  Searcher searcher() {
    return searcher;
  }

  /** How extracted text is cut into passages. */
  TextChunker chunker() {
    return chunker;
  }

  /** Stops the ingester, then closes the indexes (which commit), the journal and the embedders. */
  @Override
  public void close() {
    closeAll(open, System.err);
  }

  static IngestJournal openJournal(Path dataDir) throws IOException {
    try {
      return IngestJournal.open(dataDir.resolve("journal"));
    } catch (DirectoryLock.HeldException e) {
      throw new IOException("the data folder " + dataDir + " is in use (is `loupe serve` running on it?): " + e.getMessage(), e);
    }
  }

  /** The installed model, or null after saying on {@code err} what is lost without it and how to install it. */
  private static InstalledModel installed(ModelManager models, String name, String without, PrintStream err) throws IOException {
    try {
      return models.installedModel(name);
    } catch (ModelUnavailableException e) {
      err.println("loupe: model " + name + " is not available, so " + without + " (" + e.fix() + ")");
      return null;
    }
  }

  /**
   * The model's embedder, opened at background priority: ONNX Runtime starts its intra-op threads
   * with the session, and they must not compute ingestion's embeddings at the priority of the
   * server's request threads (a query's own text embedding runs on them too, slower only while
   * ingestion keeps the cores busy).
   */
  private static Embedder embedder(InstalledModel model) throws IOException {
    try {
      return BackgroundPriority.call(() -> OnnxEmbedder.open(model.dir(), model.manifest(), OnnxEmbedder.Options.defaults()));
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("could not open model " + model.dir() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The passage model's own tokenizer, loaded from its folder as its embedder loads it, for the
   * chunker to count with; the caller closes it.
   *
   * @throws IllegalArgumentException when the model has no text encoder
   */
  static Tokenizer passageTokenizer(InstalledModel model) throws IOException {
    ModelManifest.TextEncoder text = model.manifest().text();
    if (text == null) {
      throw new IllegalArgumentException("model " + model.manifest().name() + " in " + model.dir() + " has no text encoder to chunk passages for");
    }
    return Tokenizer.load(model.dir().resolve(text.tokenizer()), text.contextLength(), Tokenizer.Padding.LONGEST);
  }

  /** Chunks of the configured size counted by {@code tokenizer}, shrunk to what its model reads whole. */
  static TextChunker passageChunker(Tokenizer tokenizer, IngestSettings settings) {
    return TextChunker.forTokenizer(tokenizer, settings.chunkTokens(), settings.chunkOverlap());
  }

  static void closeAll(List<AutoCloseable> open, PrintStream err) {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        err.println("loupe: closing " + open.get(i) + " failed: " + e.getMessage());
      }
    }
  }
}
