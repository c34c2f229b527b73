package dev.loupe.http;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.indexer.IngestConfig;
import dev.loupe.indexer.IngestStatus;
import dev.loupe.indexer.IngestSummary;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.FileFailure;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.indexer.journal.JournalStatus;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code loupe ingest PATH...} and {@code loupe status}: the one-shot ingest and the journal's
 * counts, over the data folder's stores. Wires the indexer's parts the way {@code serve} will.
 *
 * <p>Layout under the data folder: {@code index/text} (passage chunks, BM25 and, with a passage
 * model, its vectors), {@code index/visual} (CLIP vectors of images, pages and frames),
 * {@code journal/}, {@code thumbs/}, {@code models/}.
 */
final class IngestCommand {
  /** The passage model chunks are embedded with, when installed. */
  static final String TEXT_MODEL = "all-minilm-l6-v2";
  /** The image model, when installed; the visual index's dimension is its own. */
  static final String VISUAL_MODEL = "clip-vit-b32";
  /** Dimension of the text index when no passage model is installed (all-MiniLM-L6-v2's). */
  static final int DEFAULT_TEXT_DIMENSION = 384;

  private IngestCommand() {}

  static int ingest(Path dataDir, List<Path> paths, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    for (Path p : paths) {
      if (!Files.exists(p)) {
        err.println("loupe ingest: " + p + " does not exist");
        return 2;
      }
    }
    Files.createDirectories(dataDir);
    ModelManager models = new ModelManager(dataDir.resolve("models"));
    List<AutoCloseable> open = new ArrayList<>();
    try {
      Embedder text = embedder(models, TEXT_MODEL, "passages are indexed for keyword search only", err);
      if (text != null) open.add(text);
      Embedder visual = embedder(models, VISUAL_MODEL, "images, pages and video frames are skipped", err);
      if (visual != null) open.add(visual);
      IngestJournal journal = openJournal(dataDir);
      open.add(journal);
      int textDim = text == null ? DEFAULT_TEXT_DIMENSION : text.info().dimension();
      LuceneVectorIndex textIndex = LuceneVectorIndex.open(dataDir.resolve("index/text"), new IndexSpec(textDim, Similarity.COSINE),
          LuceneVectorIndex.Options.defaults());
      open.add(textIndex);
      LuceneVectorIndex visualIndex = null;
      if (visual != null) {
        visualIndex = LuceneVectorIndex.open(dataDir.resolve("index/visual"), new IndexSpec(visual.info().dimension(), Similarity.COSINE),
            LuceneVectorIndex.Options.defaults());
        open.add(visualIndex);
      }
      Ingester ingester = new Ingester(IngestConfig.defaults(dataDir), journal, Extractors.standard(), TextChunker.withDefaults(),
          text, textIndex, visual, visualIndex);
      open.add(ingester);
      ingester.start();
      IngestSummary summary;
      ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("loupe-progress").unstarted(r));
      boolean terminal = System.console() != null;
      progress.scheduleAtFixedRate(() -> err.print(progressLine(ingester.status(), terminal)), 1, terminal ? 1 : 10, TimeUnit.SECONDS);
      try {
        summary = ingester.ingest(paths);
      } finally {
        progress.shutdownNow();
        if (terminal) err.println();
      }
      out.printf(Locale.ROOT, "%d files: %d done, %d failed; %d items%n", summary.files(), summary.done(), summary.failed(), summary.items());
      for (FileFailure f : summary.failures()) {
        out.printf(Locale.ROOT, "  failed %s: %s (%s)%n", f.path(), f.failure().message(), f.failure().reason());
      }
      return summary.failed() == 0 ? 0 : 1;
    } finally {
      closeAll(open, err);
    }
  }

  static int status(Path dataDir, PrintStream out, PrintStream err) throws IOException {
    if (!Files.isDirectory(dataDir.resolve("journal"))) {
      out.println("nothing ingested yet under " + dataDir);
      return 0;
    }
    try (IngestJournal journal = openJournal(dataDir)) {
      JournalStatus s = journal.status();
      out.printf(Locale.ROOT, "%d files: %d done, %d pending, %d failed; %d items from %d distinct contents%n",
          s.files(), s.done(), s.pending(), s.failed(), s.items(), s.contents());
      s.failedByReason().forEach((reason, n) -> out.printf(Locale.ROOT, "  %s: %d%n", reason, n));
      for (FileFailure f : journal.failures()) {
        out.printf(Locale.ROOT, "  failed %s: %s%n", f.path(), f.failure().message());
      }
      return 0;
    }
  }

  private static IngestJournal openJournal(Path dataDir) throws IOException {
    try {
      return IngestJournal.open(dataDir.resolve("journal"));
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().contains("lock")) {
        throw new IOException("the data folder " + dataDir + " is in use (is `loupe serve` running on it?): " + e.getMessage(), e);
      }
      throw e;
    }
  }

  private static Embedder embedder(ModelManager models, String name, String without, PrintStream err) throws IOException {
    try {
      var installed = models.installedModel(name);
      return OnnxEmbedder.open(installed.dir(), installed.manifest(), OnnxEmbedder.Options.defaults());
    } catch (dev.loupe.embeddings.model.ModelUnavailableException e) {
      err.println("loupe: model " + name + " is not available, so " + without + " (" + e.fix() + ")");
      return null;
    }
  }

  static String progressLine(IngestStatus s, boolean terminal) {
    String eta = s.eta() == null ? "" : String.format(Locale.ROOT, ", about %d s left", s.eta().toSeconds());
    String line = String.format(Locale.ROOT, "ingest: %d files seen, %d done, %d failed, %d in progress; %d items; %.1f files/s%s",
        s.seen(), s.done(), s.failed(), s.pending(), s.items(), s.filesPerSecond(), eta);
    return terminal ? "\r" + line + "\u001b[K" : line + System.lineSeparator();
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
