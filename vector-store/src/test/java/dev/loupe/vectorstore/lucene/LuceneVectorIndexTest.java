package dev.loupe.vectorstore.lucene;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.VectorIndexContractTest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.store.FSDirectory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Lucene index under the {@link VectorIndexContractTest contract}, with float and with
 * scalar-quantized HNSW, plus the behaviour only this implementation has.
 */
class LuceneVectorIndexTest {

  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);

  @TempDir Path dir;

  @Nested
  class Hnsw extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "lucene";
    }

    @Override
    protected double minRecall() {
      return 0.95;
    }
  }

  @Nested
  class ScalarQuantizedHnsw extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "lucene-sq";
    }

    @Override
    protected double minRecall() {
      return 0.9;
    }
  }

  private static LuceneVectorIndex open(Path dir, IndexSpec spec) throws IOException {
    return LuceneVectorIndex.open(dir, spec, new LuceneVectorIndex.Options(16, 100, false, 100, 2));
  }

  private static float[] gaussian(SplittableRandom random, int dim, double scale) {
    float[] v = new float[dim];
    for (int i = 0; i < dim; i++) {
      v[i] = (float) (scale * random.nextGaussian());
    }
    return v;
  }

  @ParameterizedTest
  @EnumSource(Similarity.class)
  void scores_of_unnormalized_vectors_match_the_reference_similarity(Similarity sim)
      throws IOException {
    // Norms far from 1 exercise both branches of Lucene's inner-product scaling (negative and
    // positive dots) and distances well above 1.
    int n = 300, dim = 24;
    SplittableRandom random = new SplittableRandom(SEED);
    float[][] vectors = new float[n][];
    try (LuceneVectorIndex index = open(dir, new IndexSpec(dim, sim))) {
      for (int i = 0; i < n; i++) {
        vectors[i] = gaussian(random, dim, 0.2 + 2 * random.nextDouble());
        index.add("v" + i, vectors[i], Metadata.of("text", "/v/" + i));
      }
      for (int q = 0; q < 10; q++) {
        float[] query = gaussian(random, dim, 1.5);
        // Nearly every item, so the low ranks have negative dots and large distances.
        List<SearchHit> hits = index.search(query, n);
        assertTrue(hits.size() >= n * 9 / 10, hits.size() + " hits of " + n);
        for (SearchHit h : hits) {
          float expected = sim.score(query, vectors[Integer.parseInt(h.id().substring(1))]);
          assertEquals(
              expected, h.score(), 1e-4f * Math.max(1f, Math.abs(expected)),
              h.id() + " under " + sim + " (seed " + SEED + ")");
        }
      }
    }
  }

  @Test
  void without_read_your_writes_searches_see_what_was_committed_and_commit_makes_writes_visible() throws IOException {
    LuceneVectorIndex.Options options = new LuceneVectorIndex.Options(16, 100, false, 100, 1).withReadYourWrites(false);
    try (LuceneVectorIndex index = LuceneVectorIndex.open(dir, new IndexSpec(3, Similarity.COSINE), options)) {
      index.add("a", new float[] {1, 0, 0}, Metadata.of("text", "/a"));
      index.commit();
      index.add("b", new float[] {0, 1, 0}, Metadata.of("text", "/b"));
      assertEquals(List.of("a"), index.search(new float[] {0, 1, 0}, 5).stream().map(SearchHit::id).toList(),
          "b is written but not committed");
      assertTrue(index.get("b").isEmpty());
      index.delete("a");
      assertEquals(1, index.search(new float[] {1, 0, 0}, 5).size(), "the delete of a is not committed either");

      index.commit();
      assertEquals(List.of("b"), index.search(new float[] {1, 0, 0}, 5).stream().map(SearchHit::id).toList());
      assertTrue(index.get("b").isPresent());
    }
    try (LuceneVectorIndex index = open(dir, new IndexSpec(3, Similarity.COSINE))) {
      index.add("c", new float[] {0, 0, 1}, Metadata.of("text", "/c"));
      assertEquals("c", index.search(new float[] {0, 0, 1}, 1).getFirst().id(), "the default reads its writes");
    }
  }

  @Test
  void vectors_wider_than_lucenes_default_limit_of_1024_dimensions_are_indexed() throws IOException {
    int dim = 1536; // e.g. a large text embedding model
    SplittableRandom random = new SplittableRandom(SEED);
    try (LuceneVectorIndex index = open(dir, new IndexSpec(dim, Similarity.COSINE))) {
      float[] a = gaussian(random, dim, 1);
      index.add("a", a, Metadata.of("text", "/a"));
      index.add("b", gaussian(random, dim, 1), Metadata.of("text", "/b"));
      SearchHit top = index.search(a, 1).getFirst();
      assertEquals("a", top.id());
      assertEquals(1f, top.score(), 1e-4f);
    }
    try (LuceneVectorIndex index = open(dir, new IndexSpec(dim, Similarity.COSINE))) {
      assertEquals(2, index.size());
    }
  }

  @Test
  void a_lucene_index_that_loupe_did_not_write_is_rejected_by_name() throws IOException {
    try (var fs = FSDirectory.open(dir);
        var writer = new IndexWriter(fs, new IndexWriterConfig())) {
      Document doc = new Document();
      doc.add(new StringField("id", "foreign", Field.Store.YES));
      writer.addDocument(doc);
      writer.commit();
    }
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> open(dir, new IndexSpec(4, Similarity.COSINE)).close());
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not written by Loupe"), e.getMessage());
  }

  @Test
  void a_refused_reopen_leaves_the_index_unchanged() throws IOException {
    float[] v = {1, 2, 3, 4};
    try (LuceneVectorIndex index = open(dir, new IndexSpec(4, Similarity.EUCLIDEAN))) {
      index.add("a", v, Metadata.of("text", "/a"));
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> open(dir, new IndexSpec(4, Similarity.DOT_PRODUCT)).close());
    try (LuceneVectorIndex index = open(dir, new IndexSpec(4, Similarity.EUCLIDEAN))) {
      assertEquals(1, index.size());
      assertEquals(1f, index.search(v, 1).getFirst().score(), 1e-6f);
    }
  }

  @Test
  void a_second_instance_cannot_open_a_directory_that_is_in_use() throws IOException {
    IndexSpec spec = new IndexSpec(2, Similarity.COSINE);
    try (LuceneVectorIndex index = open(dir, spec)) {
      index.add("a", new float[] {1, 0}, Metadata.of("text", "/a"));
      assertThrows(IOException.class, () -> open(dir, spec).close());
      assertEquals(1, index.search(new float[] {1, 0}, 1).size());
    }
  }

  @Test
  void free_field_names_are_visible_before_commit_and_survive_reopen() throws IOException {
    IndexSpec spec = new IndexSpec(2, Similarity.COSINE);
    try (LuceneVectorIndex index = open(dir, spec)) {
      assertEquals(Set.of(), index.fieldNames());
      index.add("a", new float[] {1, 0}, new Metadata("text", "/a", 0, 0, "", Map.of("lens", "35mm")));
      assertEquals(Set.of("lens"), index.fieldNames());
      assertEquals(1, index.search(new float[] {1, 0}, 5, Filter.term("lens", "35mm")).size());
      index.commit();
      index.add("b", new float[] {0, 1}, new Metadata("text", "/b", 0, 0, "", Map.of("iso", "400")));
      assertEquals(Set.of("iso", "lens"), index.fieldNames());
    }
    try (LuceneVectorIndex index = open(dir, spec)) {
      assertEquals(Set.of("iso", "lens"), index.fieldNames());
      List<SearchHit> hits = index.search(new float[] {1, 0}, 5, Filter.term("iso", "400"));
      assertEquals(List.of("b"), hits.stream().map(SearchHit::id).toList());
      assertEquals(Map.of("iso", "400"), hits.getFirst().metadata().fields());
    }
  }

  @Test
  void page_ranges_outside_the_int_domain_are_clamped_or_empty() throws IOException {
    try (LuceneVectorIndex index = open(dir, new IndexSpec(2, Similarity.COSINE))) {
      index.add("p3", new float[] {1, 0}, new Metadata("page", "/doc.pdf", 3, 0, "", Map.of()));
      float[] q = {1, 0};
      assertEquals(1, index.search(q, 5, new Filter.Range("page", Long.MIN_VALUE, Long.MAX_VALUE)).size());
      assertEquals(0, index.search(q, 5, new Filter.Range("page", 1L << 40, 1L << 41)).size());
      assertEquals(0, index.search(q, 5, new Filter.Range("page", 4, Long.MAX_VALUE)).size());
    }
  }

  @Test
  void ram_bytes_used_counts_the_mapped_vector_files() throws IOException {
    int n = 2000, dim = 64;
    SplittableRandom random = new SplittableRandom(SEED);
    try (LuceneVectorIndex index = open(dir, new IndexSpec(dim, Similarity.DOT_PRODUCT))) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, gaussian(random, dim, 1), Metadata.of("text", "/v"));
      }
      index.commit();
      index.search(new float[dim], 1); // refresh onto the flushed segments
      long floats = (long) n * dim * Float.BYTES;
      long used = index.ramBytesUsed();
      assertTrue(used >= floats, "ramBytesUsed " + used + " < raw vector bytes " + floats);
      // The graph adds at most a few hundred bytes per node at M=16; metadata is not counted.
      assertTrue(used < floats + n * 1024L + (64L << 20), "ramBytesUsed " + used);
    }
  }

  @Test
  void options_reject_values_lucene_cannot_use() {
    assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(0, 100, false, 100, 1));
    var e = assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(513, 100, false, 100, 1));
    assertTrue(e.getMessage().contains("513"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(16, 0, false, 100, 1));
    assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(16, 100, false, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(16, 100, false, VectorIndex.MAX_K + 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new LuceneVectorIndex.Options(16, 100, false, 100, 0));
    LuceneVectorIndex.Options defaults = LuceneVectorIndex.Options.defaults();
    assertEquals(32, defaults.maxConn());
    assertEquals(200, defaults.beamWidth());
    assertEquals(Runtime.getRuntime().availableProcessors(), defaults.mergeWorkers());
  }

  @Test
  void operations_after_close_fail_with_a_message_naming_the_directory() throws IOException {
    LuceneVectorIndex index = open(dir, new IndexSpec(2, Similarity.COSINE));
    index.close();
    index.close(); // idempotent
    var e = assertThrows(IllegalStateException.class, () -> index.search(new float[] {1, 0}, 1));
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    assertThrows(IllegalStateException.class, () -> index.add("a", new float[] {1, 0}, Metadata.of("text", "/a")));
  }
}
