package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extractor;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.ContentInfo;
import dev.loupe.indexer.journal.ContentState;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * An ingester over real parts in a data folder: the journal, two Lucene indexes (text 32-d,
 * visual 16-d) and the hashing embedders; {@link #close()} closes them all, and a new rig on the
 * same folder is a restart.
 */
final class IngestRig implements AutoCloseable {
  static final int TEXT_DIM = 32, VISUAL_DIM = 16;

  final Path data;
  final IngestConfig config;
  final IngestJournal journal;
  final LuceneVectorIndex textIndex;
  final LuceneVectorIndex visualIndex;
  final HashEmbedder textEmbedder;
  final HashEmbedder visualEmbedder;
  final Ingester ingester;

  IngestRig(Path data) throws IOException, InterruptedException {
    this(data, config(data), Extractors.standardList(), true);
  }

  IngestRig(Path data, IngestConfig config, List<Extractor> extractors, boolean withVisualModel)
      throws IOException, InterruptedException {
    this(data, config, extractors, true, withVisualModel);
  }

  IngestRig(Path data, IngestConfig config, List<Extractor> extractors, boolean withTextModel, boolean withVisualModel)
      throws IOException, InterruptedException {
    this(data, config, extractors, withTextModel, withVisualModel, ingester -> {});
  }

  /** With {@code beforeStart} called on the ingester before it starts (to install test hooks). */
  IngestRig(Path data, IngestConfig config, List<Extractor> extractors, boolean withTextModel, boolean withVisualModel,
      java.util.function.Consumer<Ingester> beforeStart) throws IOException, InterruptedException {
    this.data = data;
    this.textEmbedder = withTextModel ? HashEmbedder.text(TEXT_DIM) : null;
    this.config = config;
    this.journal = IngestJournal.open(data.resolve("journal"));
    this.textIndex = LuceneVectorIndex.open(data.resolve("text-index"), new IndexSpec(TEXT_DIM, Similarity.COSINE),
        LuceneVectorIndex.Options.defaults());
    this.visualEmbedder = withVisualModel ? HashEmbedder.images(VISUAL_DIM) : null;
    this.visualIndex = withVisualModel
        ? LuceneVectorIndex.open(data.resolve("visual-index"), new IndexSpec(VISUAL_DIM, Similarity.COSINE),
            LuceneVectorIndex.Options.defaults())
        : null;
    this.ingester = new Ingester(config, journal, new Extractors(extractors), TextChunker.withDefaults(),
        textEmbedder, textIndex, visualEmbedder, visualIndex);
    beforeStart.accept(ingester);
    ingester.start();
  }

  /** Two workers, small queues and batches, no settle time (the files are written before the ingest). */
  static IngestConfig config(Path data) {
    return IngestConfig.defaults(data).withWorkers(2).withQueueCapacity(8).withEmbedBatch(4).withSettleTime(Duration.ZERO);
  }

  IngestSummary ingest(Path... paths) throws IOException, InterruptedException {
    return ingester.ingest(List.of(paths));
  }

  long embedded() {
    return (textEmbedder == null ? 0 : textEmbedder.inputs.get()) + (visualEmbedder == null ? 0 : visualEmbedder.inputs.get());
  }

  /** The item's metadata from whichever index holds it. */
  Optional<Metadata> item(String id) {
    Optional<Metadata> m = textIndex.get(id);
    return m.isPresent() || visualIndex == null ? m : visualIndex.get(id);
  }

  /** The items of content {@code sha} in either index, by ordinal, as far as {@code limit}. */
  Map<Integer, Metadata> items(String sha, int limit) {
    Map<Integer, Metadata> items = new TreeMap<>();
    for (int i = 0; i < limit; i++) {
      int ordinal = i;
      item(IngestJournal.itemId(sha, i)).ifPresent(m -> items.put(ordinal, m));
    }
    return items;
  }

  int indexSize() {
    return textIndex.size() + (visualIndex == null ? 0 : visualIndex.size());
  }

  List<SearchHit> all(VectorIndex index, String type) {
    List<SearchHit> hits = new ArrayList<>();
    for (SearchHit h : index.search(unit(index.spec().dimension()), VectorIndex.MAX_K)) {
      if (type == null || h.metadata().type().equals(type)) hits.add(h);
    }
    return hits;
  }

  private static float[] unit(int d) {
    float[] v = new float[d];
    java.util.Arrays.fill(v, 1f);
    return v;
  }

  /**
   * Exactly once: every distinct content of the files under {@code folder} is done, listed under
   * exactly its files, with its items {@code sha#0..n-1} in the indexes, nothing else in them, and
   * a thumbnail for each visual item and for no other.
   */
  void checkExactlyOnce(Path folder) throws IOException {
    Map<String, List<String>> pathsByContent = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(folder)) {
      for (Path f : walk.filter(Files::isRegularFile).sorted().toList()) {
        pathsByContent.computeIfAbsent(Ingester.sha256(f), k -> new ArrayList<>()).add(f.toRealPath().toString());
      }
    }
    long expected = 0;
    List<String> thumbs = new ArrayList<>();
    for (var e : pathsByContent.entrySet()) {
      String sha = e.getKey();
      ContentInfo info = journal.content(sha).orElseThrow(() -> new AssertionError("content of " + e.getValue() + " is unknown"));
      assertEquals(ContentState.DONE, info.state(), "content of " + e.getValue() + ": " + info);
      assertEquals(e.getValue(), info.paths(), "the files listed under " + sha);
      for (int i = 0; i < info.bound(); i++) {
        Optional<Metadata> m = item(IngestJournal.itemId(sha, i));
        assertTrue(m.isPresent(), "item " + i + " of " + e.getValue() + " is missing");
        String thumb = m.get().fields().get("thumbnail");
        if (thumb != null) {
          assertTrue(Files.isRegularFile(config.dataDir().resolve(thumb)), "thumbnail " + thumb + " of " + e.getValue());
          thumbs.add(thumb);
        }
      }
      expected += info.bound();
    }
    assertEquals(expected, indexSize(), "items in the indexes (more would be duplicates or orphans)");
    List<String> onDisk = new ArrayList<>();
    Path root = config.thumbnailDir();
    if (Files.isDirectory(root)) {
      try (Stream<Path> walk = Files.walk(root)) {
        walk.filter(Files::isRegularFile).forEach(p -> onDisk.add(config.dataDir().relativize(p).toString()));
      }
    }
    assertEquals(thumbs.stream().sorted().toList(), onDisk.stream().sorted().toList(), "thumbnails on disk");
    assertEquals(pathsByContent.size(), journal.status().contents(), "contents in the journal: " + journal.status());
  }

  @Override
  public void close() throws IOException {
    ingester.close();
    try {
      textIndex.close();
      if (visualIndex != null) visualIndex.close();
    } finally {
      journal.close();
    }
  }
}
