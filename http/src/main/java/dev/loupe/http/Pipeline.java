package dev.loupe.http;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.embeddings.model.ModelUnavailableException;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.indexer.IngestConfig;
import dev.loupe.indexer.IngestSettings;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.chunk.TokenCounter;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.durable.DirectoryLock;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
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
 */
final class Pipeline implements AutoCloseable {
  /** The passage model chunks are embedded with, when installed. */
  static final String TEXT_MODEL = "all-minilm-l6-v2";
  /** The image model, when installed. */
  static final String VISUAL_MODEL = "clip-vit-b32";
  /** Dimension of the text index when no passage model is installed (all-MiniLM-L6-v2's). */
  static final int DEFAULT_TEXT_DIMENSION = 384;

  private final List<AutoCloseable> open;
  private final Ingester ingester;
  private final LuceneVectorIndex visualIndex;

  private Pipeline(List<AutoCloseable> open, Ingester ingester, LuceneVectorIndex visualIndex) {
    this.open = open;
    this.ingester = ingester;
    this.visualIndex = visualIndex;
  }

  static Pipeline open(Path dataDir, PrintStream err) throws IOException, InterruptedException {
    ModelManager models = new ModelManager(dataDir.resolve("models"));
    List<AutoCloseable> open = new ArrayList<>();
    boolean done = false;
    try {
      Embedder text = embedder(models, TEXT_MODEL, "passages are indexed for keyword search only", err);
      if (text != null) open.add(text);
      Embedder visual = embedder(models, VISUAL_MODEL, "images, pages and video frames are skipped", err);
      if (visual != null) open.add(visual);
      IngestJournal journal = openJournal(dataDir);
      open.add(journal);
      int textDim = text == null ? DEFAULT_TEXT_DIMENSION : text.info().dimension();
      LuceneVectorIndex textIndex = LuceneVectorIndex.open(dataDir.resolve("index/text"),
          new IndexSpec(textDim, Similarity.COSINE), LuceneVectorIndex.Options.defaults());
      open.add(textIndex);
      LuceneVectorIndex visualIndex = null;
      if (visual != null) {
        visualIndex = LuceneVectorIndex.open(dataDir.resolve("index/visual"),
            new IndexSpec(visual.info().dimension(), Similarity.COSINE), LuceneVectorIndex.Options.defaults());
        open.add(visualIndex);
      }
      IngestSettings settings = Settings.load(dataDir).ingest();
      TextChunker chunker = new TextChunker(settings.chunkTokens(), settings.chunkOverlap(), TokenCounter.approximate());
      Ingester ingester = new Ingester(settings.apply(IngestConfig.defaults(dataDir)), journal, Extractors.standard(), chunker,
          text, textIndex, visual, visualIndex);
      open.add(ingester);
      ingester.start();
      done = true;
      return new Pipeline(open, ingester, visualIndex);
    } finally {
      if (!done) {
        closeAll(open, err);
      }
    }
  }

  Ingester ingester() {
    return ingester;
  }

  /** The visual index, or null when no image model is installed. */
  LuceneVectorIndex visualIndex() {
    return visualIndex;
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

  private static Embedder embedder(ModelManager models, String name, String without, PrintStream err) throws IOException {
    try {
      var installed = models.installedModel(name);
      return OnnxEmbedder.open(installed.dir(), installed.manifest(), OnnxEmbedder.Options.defaults());
    } catch (ModelUnavailableException e) {
      err.println("loupe: model " + name + " is not available, so " + without + " (" + e.fix() + ")");
      return null;
    }
  }

  private static void closeAll(List<AutoCloseable> open, PrintStream err) {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        err.println("loupe: closing " + open.get(i) + " failed: " + e.getMessage());
      }
    }
  }
}
