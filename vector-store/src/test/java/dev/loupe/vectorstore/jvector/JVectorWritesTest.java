package dev.loupe.vectorstore.jvector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import dev.loupe.vectorstore.jvector.JVectorIndex.Options;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adds, updates and deletes, alone and beside concurrent searches. */
class JVectorWritesTest {
  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);

  @TempDir Path dir;

  private static int index(SearchHit hit) {
    return Integer.parseInt(hit.id().substring(1));
  }

  @Test
  void deleted_items_are_never_returned_before_or_after_the_graph_is_repaired()
      throws IOException {
    int n = 2400, dim = 16;
    SyntheticVectors data = new SyntheticVectors(dim, 12, 0.8f, SEED);
    Options pq = Options.defaults().withPqThreshold(1000);
    for (Options options : List.of(Options.defaults(), pq)) {
      Path d = dir.resolve(options == pq ? "pq" : "exact");
      try (JVectorIndex index = JVectorIndex.open(d, new IndexSpec(dim, Similarity.COSINE), options)) {
        for (int i = 0; i < n; i++) {
          index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
        }
        Set<Integer> deleted = new HashSet<>();
        // Delete in rounds so some searches meet nodes still marked deleted in the graph and
        // others a graph that removeDeletedNodes has repaired.
        for (int round = 0; round < 3; round++) {
          for (int i = round; i < n; i += 5) {
            assertTrue(index.delete("v" + i));
            deleted.add(i);
          }
          assertEquals(n - deleted.size(), index.size());
          for (int q = 0; q < 15; q++) {
            // The nearest item of all is deleted on purpose for half of the queries.
            float[] query = q % 2 == 0 ? data.vector(round + 5 * q) : data.query(q);
            for (Filter filter : List.of(Filter.ALL, Filter.term("type", "page"))) {
              List<SearchHit> hits = index.search(query, 20, filter);
              assertEquals(20, hits.size(), "round " + round + " query " + q + " " + filter);
              for (SearchHit hit : hits) {
                assertFalse(deleted.contains(index(hit)), "deleted " + hit.id() + " returned");
              }
            }
          }
        }
        assertFalse(index.delete("v0"), "second delete");
        assertTrue(index.get("v0").isEmpty());
      }
    }
  }

  @Test
  void deleting_everything_leaves_an_empty_index_that_accepts_new_items() throws IOException {
    SyntheticVectors data = new SyntheticVectors(8, 2, 0.8f, SEED + 1);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(8, Similarity.EUCLIDEAN), Options.defaults())) {
      for (int i = 0; i < 700; i++) {
        index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
      }
      for (int i = 0; i < 700; i++) {
        assertTrue(index.delete("v" + i));
      }
      assertEquals(0, index.size());
      assertTrue(index.search(data.query(0), 5).isEmpty());
      index.add("v0", data.vector(0), JVectorRecallTest.meta(0));
      assertEquals("v0", index.search(data.vector(0), 5).getFirst().id());
    }
  }

  @Test
  void updates_move_items_and_repeated_updates_trigger_a_dense_rebuild_without_losing_any()
      throws IOException {
    int n = 700, dim = 16;
    SyntheticVectors data = new SyntheticVectors(dim, 8, 0.8f, SEED + 2);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, Similarity.DOT_PRODUCT), Options.defaults())) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
      }
      // Three rounds of updates leave 2100 dead ordinals beside 700 live ones: a rebuild.
      for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < n; i++) {
          index.update("v" + i, data.vector(round * n + i), JVectorRecallTest.meta(i + round));
        }
      }
      assertEquals(n, index.size());
      for (int i = 0; i < n; i += 50) {
        float[] moved = data.vector(3 * n + i);
        SearchHit top = index.search(moved, 1).getFirst();
        assertEquals("v" + i, top.id());
        assertEquals(Similarity.DOT_PRODUCT.score(moved, moved), top.score(), 1e-4f);
        assertEquals(JVectorRecallTest.meta(i + 3), top.metadata());
      }
      var dup = assertThrows(IllegalArgumentException.class, () -> index.add("v1", data.vector(1), JVectorRecallTest.meta(1)));
      assertTrue(dup.getMessage().contains("'v1'"), dup.getMessage());
      var unknown = assertThrows(IllegalArgumentException.class, () -> index.update("nope", data.vector(1), JVectorRecallTest.meta(1)));
      assertTrue(unknown.getMessage().contains("'nope'"), unknown.getMessage());
    }
  }

  @Test
  void dot_product_scores_are_raw_inner_products_of_unnormalized_vectors_even_below_minus_one()
      throws IOException {
    int n = 600, dim = 8;
    SyntheticVectors data = new SyntheticVectors(dim, 4, 0.8f, SEED + 3);
    SplittableRandom random = new SplittableRandom(SEED + 3);
    List<float[]> vectors = new ArrayList<>();
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, Similarity.DOT_PRODUCT), Options.defaults())) {
      for (int i = 0; i < n; i++) {
        float[] v = data.vector(i);
        v[0] = Math.abs(v[0]) + 0.1f; // positive first component
        float scale = (float) (0.5 + 4 * random.nextDouble());
        for (int j = 0; j < dim; j++) {
          v[j] *= scale;
        }
        vectors.add(v);
        index.add("v" + i, v, JVectorRecallTest.meta(i));
      }
      // Every inner product with this query is below -1.5, so jvector's own score (1 + dot) / 2
      // is negative: a threshold of 0 inside jvector would return nothing.
      float[] away = new float[dim];
      away[0] = -30f;
      List<SearchHit> hits = index.search(away, 10);
      assertEquals(10, hits.size());
      for (SearchHit hit : hits) {
        assertEquals(Similarity.DOT_PRODUCT.score(away, vectors.get(index(hit))), hit.score(), 1e-4f, hit.id());
        assertTrue(hit.score() < -1.5, "score " + hit.score() + " of " + hit.id());
      }
      // Ordinary queries: the exact best inner products, mostly found.
      int found = 0;
      for (int q = 0; q < 20; q++) {
        float[] query = data.query(q);
        List<Integer> byScore = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          byScore.add(i);
        }
        byScore.sort((a, b) -> Float.compare(
            Similarity.DOT_PRODUCT.score(query, vectors.get(b)),
            Similarity.DOT_PRODUCT.score(query, vectors.get(a))));
        Set<String> expected = new HashSet<>();
        byScore.stream().limit(10).forEach(i -> expected.add("v" + i));
        for (SearchHit hit : index.search(query, 10)) {
          assertEquals(Similarity.DOT_PRODUCT.score(query, vectors.get(index(hit))), hit.score(), 1e-4f);
          found += expected.contains(hit.id()) ? 1 : 0;
        }
      }
      assertTrue(found >= 180, "found " + found + " of 200 true top-10 (seed " + SEED + ")");
    }
  }

  @Test
  void ram_bytes_used_grows_with_the_items_and_with_product_quantization() throws IOException {
    int dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 8, 0.8f, SEED + 4);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, Similarity.COSINE), Options.defaults().withPqThreshold(400))) {
      long empty = index.ramBytesUsed();
      for (int i = 0; i < 399; i++) {
        index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
      }
      long before = index.ramBytesUsed();
      assertTrue(before - empty >= 399L * dim * Float.BYTES, empty + " -> " + before);
      index.add("v399", data.vector(399), JVectorRecallTest.meta(399));
      assertTrue(index.usesProductQuantization());
      // 256 centroids x 32 dimensions of codebook plus 8 bytes of code per vector.
      assertTrue(index.ramBytesUsed() - before >= 256L * dim * Float.BYTES, before + " -> " + index.ramBytesUsed());
    }
  }

  @Test
  void options_reject_out_of_range_values_naming_them() {
    var degree = assertThrows(IllegalArgumentException.class, () -> new Options(1, 100, 1.2f, 1.2f, 100_000, 0, 100));
    assertTrue(degree.getMessage().contains("maxDegree 1"), degree.getMessage());
    var overflow = assertThrows(IllegalArgumentException.class, () -> new Options(32, 100, 0.5f, 1.2f, 100_000, 0, 100));
    assertTrue(overflow.getMessage().contains("0.5"), overflow.getMessage());
    var alpha = assertThrows(IllegalArgumentException.class, () -> new Options(32, 100, 1.2f, Float.NaN, 100_000, 0, 100));
    assertTrue(alpha.getMessage().contains("NaN"), alpha.getMessage());
    var threshold = assertThrows(IllegalArgumentException.class, () -> Options.defaults().withPqThreshold(10));
    assertTrue(threshold.getMessage().contains("pqThreshold 10"), threshold.getMessage());
    var ef = assertThrows(IllegalArgumentException.class, () -> Options.defaults().withEfSearch(0));
    assertTrue(ef.getMessage().contains("efSearch 0"), ef.getMessage());
    var subspaces = assertThrows(
        IllegalArgumentException.class,
        () -> JVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), new Options(32, 100, 1.2f, 1.2f, 100_000, 8, 100)));
    assertTrue(subspaces.getMessage().contains("8") && subspaces.getMessage().contains("4"), subspaces.getMessage());
  }

  @Test
  void searches_running_beside_writes_only_see_items_that_were_added() throws Exception {
    int dim = 16, initial = 1200;
    SyntheticVectors data = new SyntheticVectors(dim, 10, 0.8f, SEED + 5);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, Similarity.COSINE), Options.defaults().withPqThreshold(1000))) {
      for (int i = 0; i < initial; i++) {
        index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
      }
      Set<String> everAdded = ConcurrentHashMap.newKeySet();
      for (int i = 0; i < initial; i++) {
        everAdded.add("v" + i);
      }
      AtomicBoolean done = new AtomicBoolean();
      ExecutorService pool = Executors.newFixedThreadPool(2);
      List<Future<Integer>> readers = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        int reader = r;
        readers.add(pool.submit(() -> {
          int count = 0;
          while (!done.get() && count < 5000) {
            Filter filter = count % 2 == 0 ? Filter.ALL : Filter.term("type", "page");
            List<SearchHit> hits = index.search(data.query(reader * 10_000 + count), 10, filter);
            Set<String> ids = new HashSet<>();
            for (SearchHit h : hits) {
              assertTrue(everAdded.contains(h.id()), "unknown id " + h.id());
              assertTrue(ids.add(h.id()), "id twice in " + hits);
            }
            count++;
          }
          return count;
        }));
      }
      // Searches use PQ throughout. The deletes make the graph repair itself every ~60 writes,
      // and the dead ordinals of deletes and updates force a dense rebuild (retraining PQ).
      for (int w = 0; w < 1500; w++) {
        int i = initial + w;
        everAdded.add("v" + i);
        index.add("v" + i, data.vector(i), JVectorRecallTest.meta(i));
        index.delete("v" + (w % initial));
        index.update("v" + i, data.query(w), JVectorRecallTest.meta(i));
      }
      done.set(true);
      int searches = 0;
      for (Future<Integer> f : readers) {
        searches += f.get();
      }
      pool.shutdown();
      assertTrue(searches > 0);
      assertTrue(index.usesProductQuantization());
      // Deletes of v0..v1199 succeed once each; the last 300 find nothing to delete.
      assertEquals(1500, index.size());
    }
  }
}
