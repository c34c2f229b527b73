package dev.loupe.vectorstore.jvector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Recall of the jvector graph against a brute-force oracle, with and without PQ. */
class JVectorRecallTest {
  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);
  private static final int K = 10;

  @TempDir Path dir;

  static Metadata meta(int i) {
    return new Metadata(
        i % 3 == 0 ? "image" : "page",
        "/r/" + i,
        i % 7,
        i,
        "",
        Map.of("shard", Integer.toString(i % 4)));
  }

  /** Exact top-k of {@code [0, n)} passing {@code keep}, by {@link Similarity#score}. */
  static Set<String> oracle(
      Similarity sim, SyntheticVectors data, int n, float[] q, int k, IntPredicate keep) {
    record Scored(int i, float score) {}
    List<Scored> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (keep.test(i)) {
        all.add(new Scored(i, sim.score(q, data.vector(i))));
      }
    }
    all.sort(Comparator.comparingDouble(s -> -s.score()));
    Set<String> ids = new HashSet<>();
    all.stream().limit(k).forEach(s -> ids.add("v" + s.i()));
    return ids;
  }

  /** Recall@K over {@code queries} queries; also checks scores against the reference. */
  static double recall(
      JVectorIndex index, SyntheticVectors data, int n, int queries, Filter filter, IntPredicate keep) {
    Similarity sim = index.spec().similarity();
    int found = 0, expectedTotal = 0;
    for (int q = 0; q < queries; q++) {
      float[] query = data.query(q);
      List<SearchHit> hits = index.search(query, K, filter);
      Set<String> expected = oracle(sim, data, n, query, K, keep);
      assertEquals(expected.size(), hits.size(), "hits for query " + q + " (seed " + SEED + ")");
      for (int h = 0; h < hits.size(); h++) {
        SearchHit hit = hits.get(h);
        int i = Integer.parseInt(hit.id().substring(1));
        assertTrue(keep.test(i), hit.id() + " does not pass the filter");
        assertEquals(sim.score(query, data.vector(i)), hit.score(), 1e-4f, "score of " + hit.id());
        if (h > 0) {
          assertTrue(hits.get(h - 1).score() >= hit.score(), "hits out of order: " + hits);
        }
        if (expected.contains(hit.id())) {
          found++;
        }
      }
      expectedTotal += expected.size();
    }
    return found / (double) expectedTotal;
  }

  @ParameterizedTest
  @EnumSource(Similarity.class)
  void graph_search_without_pq_finds_at_least_nine_in_ten_true_neighbours(Similarity sim)
      throws IOException {
    int n = 3000, dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 30, 0.8f, SEED);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, sim), Options.defaults())) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
      assertFalse(index.usesProductQuantization());
      double recall = recall(index, data, n, 40, Filter.ALL, i -> true);
      assertTrue(recall >= 0.9, "recall@10 " + recall + " for " + sim + " (seed " + SEED + ")");
    }
  }

  @ParameterizedTest
  @EnumSource(Similarity.class)
  void pq_search_with_exact_reranking_finds_at_least_nine_in_ten_true_neighbours(Similarity sim)
      throws IOException {
    int n = 3000, dim = 64;
    SyntheticVectors data = new SyntheticVectors(dim, 30, 0.8f, SEED + 1);
    Options options = Options.defaults().withPqThreshold(1000);
    try (JVectorIndex index = JVectorIndex.open(dir, new IndexSpec(dim, sim), options)) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
        // Turns on exactly at the threshold; later adds are encoded as they come.
        assertEquals(i + 1 >= 1000, index.usesProductQuantization(), "PQ after " + (i + 1));
      }
      double recall = recall(index, data, n, 40, Filter.ALL, i -> true);
      assertTrue(recall >= 0.9, "PQ recall@10 " + recall + " for " + sim + " (seed " + SEED + ")");
    }
  }

  @Test
  void pq_is_trained_again_when_a_large_index_is_reopened() throws IOException {
    int n = 1200, dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 12, 0.8f, SEED + 2);
    IndexSpec spec = new IndexSpec(dim, Similarity.COSINE);
    Options options = Options.defaults().withPqThreshold(1000);
    try (JVectorIndex index = JVectorIndex.open(dir, spec, options)) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
    }
    try (JVectorIndex index = JVectorIndex.open(dir, spec, options)) {
      assertTrue(index.usesProductQuantization());
      double recall = recall(index, data, n, 20, Filter.ALL, i -> true);
      assertTrue(recall >= 0.9, "recall@10 after reopen " + recall + " (seed " + SEED + ")");
    }
  }

  @Test
  void a_filter_too_broad_for_an_exact_scan_is_applied_inside_the_graph_walk()
      throws IOException {
    // 3000 items, a third of them images: 1000 matches > 4 x efSearch, so the graph is walked.
    int n = 3000, dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 30, 0.8f, SEED + 3);
    try (JVectorIndex index =
        JVectorIndex.open(dir, new IndexSpec(dim, Similarity.COSINE), Options.defaults())) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
      double images = recall(index, data, n, 30, Filter.term("type", "image"), i -> i % 3 == 0);
      assertTrue(images >= 0.9, "filtered recall@10 " + images + " (seed " + SEED + ")");
      Filter shard = new Filter.Or(List.of(Filter.term("shard", "1"), Filter.term("shard", "2")));
      double shards = recall(index, data, n, 30, shard, i -> i % 4 == 1 || i % 4 == 2);
      assertTrue(shards >= 0.9, "filtered recall@10 " + shards + " (seed " + SEED + ")");
    }
  }

  @Test
  void a_selective_filter_is_answered_exactly() throws IOException {
    int n = 3000, dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 30, 0.8f, SEED + 4);
    try (JVectorIndex index =
        JVectorIndex.open(dir, new IndexSpec(dim, Similarity.EUCLIDEAN), Options.defaults())) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
      // page 3 and shard 0: i % 7 == 3 and i % 4 == 0, about 107 items.
      Filter filter = Filter.and(new Filter.Range("page", 3, 3), Filter.term("shard", "0"));
      double recall = recall(index, data, n, 20, filter, i -> i % 7 == 3 && i % 4 == 0);
      assertEquals(1.0, recall, "an exact scan misses nothing (seed " + SEED + ")");
    }
  }
}
