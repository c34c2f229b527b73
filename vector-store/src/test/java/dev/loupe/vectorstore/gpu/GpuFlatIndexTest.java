package dev.loupe.vectorstore.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.gpu.FakeCuda;
import dev.loupe.gpu.GpuContext;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.flat.FlatVectorIndex;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The GPU index against the CPU exact index (the oracle), through the fake CUDA driver: same ids
 * in the same order, scores within fp16 tolerance, on awkward sizes, with filters, deletes,
 * updates and compaction.
 */
class GpuFlatIndexTest {
  private static final long SEED = 0x6e0d1e5L;

  @Test
  void fp16_answers_equal_the_cpu_exact_index_for_every_similarity_on_awkward_sizes() throws IOException {
    for (Similarity similarity : Similarity.values()) {
      for (int n : new int[] {1, 7, 13, 100, 207, 511, 1025}) {
        duel(Encoding.F16, similarity, n, 20, 10, Filter.ALL, false);
      }
    }
  }

  @Test
  void int8_answers_equal_the_cpu_exact_index_after_reranking() throws IOException {
    for (Similarity similarity : Similarity.values()) {
      duel(Encoding.I8, similarity, 600, 32, 10, Filter.ALL, false);
    }
  }

  @Test
  void filters_deletes_updates_and_compaction_keep_answers_equal_to_the_cpu_index() throws IOException {
    Filter kind = Filter.and(new Filter.Terms("kind", java.util.Set.of("a")));
    duel(Encoding.F16, Similarity.COSINE, 900, 16, 7, kind, true);
    duel(Encoding.I8, Similarity.EUCLIDEAN, 300, 8, 5, kind, true);
  }

  @Test
  void a_batch_of_queries_answers_as_each_query_alone() throws IOException {
    Random random = new Random(SEED);
    IndexSpec spec = new IndexSpec(12, Similarity.DOT_PRODUCT);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); GpuFlatIndex gpu = GpuFlatIndex.create(ctx, spec, Encoding.F16)) {
      for (int i = 0; i < 300; i++) {
        gpu.add("v" + i, gaussian(random, 12), Metadata.of("image", "/p/" + i));
      }
      List<float[]> queries = new ArrayList<>();
      for (int q = 0; q < 9; q++) {
        queries.add(gaussian(random, 12));
      }
      List<List<SearchHit>> batch = gpu.searchBatch(queries, 5, Filter.ALL);
      for (int q = 0; q < queries.size(); q++) {
        assertEquals(ids(gpu.search(queries.get(q), 5, Filter.ALL)), ids(batch.get(q)), "seed " + SEED + " query " + q);
      }
    }
  }

  @Test
  void refuses_f32_k_above_the_kernel_limit_and_vectors_of_the_wrong_dimension() {
    IndexSpec spec = new IndexSpec(4, Similarity.COSINE);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu())) {
      IllegalArgumentException f32 = assertThrows(IllegalArgumentException.class, () -> GpuFlatIndex.create(ctx, spec, Encoding.F32));
      assertEquals("the GPU index stores f16 or i8, not f32", f32.getMessage());
      try (GpuFlatIndex gpu = GpuFlatIndex.create(ctx, spec, Encoding.F16)) {
        IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () -> gpu.search(new float[] {1, 0, 0, 0}, 257, Filter.ALL));
        assertEquals("k 257 is outside [1, 256] for the GPU index", k.getMessage());
        IllegalArgumentException dim = assertThrows(IllegalArgumentException.class,
            () -> gpu.add("x", new float[3], Metadata.of("image", "/x")));
        assertEquals("vector dimension 3 does not match index dimension 4", dim.getMessage());
      }
    }
  }

  @Test
  void compaction_returns_device_rows_of_deleted_items() {
    IndexSpec spec = new IndexSpec(8, Similarity.COSINE);
    Random random = new Random(SEED);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); GpuFlatIndex gpu = GpuFlatIndex.create(ctx, spec, Encoding.F16)) {
      for (int i = 0; i < 100; i++) {
        gpu.add("v" + i, gaussian(random, 8), Metadata.of("image", "/p"));
      }
      for (int i = 0; i < 100; i += 2) {
        assertTrue(gpu.delete("v" + i));
      }
      assertFalse(gpu.delete("v0"));
      assertEquals(50, gpu.tombstoned());

      gpu.compact();

      assertEquals(0, gpu.tombstoned());
      assertEquals(50, gpu.size());
      assertTrue(gpu.contains("v99"));
      assertFalse(gpu.contains("v98"));
    }
  }

  /** Builds the same items in the CPU and GPU index, optionally churns them, and compares answers. */
  private static void duel(Encoding encoding, Similarity similarity, int n, int dim, int k, Filter filter, boolean churn)
      throws IOException {
    Random random = new Random(SEED + n * 7919L + dim + similarity.ordinal());
    IndexSpec spec = new IndexSpec(dim, similarity);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); GpuFlatIndex gpu = GpuFlatIndex.create(ctx, spec, encoding);
        FlatVectorIndex cpu = FlatVectorIndex.inMemory(spec, encoding, 1)) {
      for (int i = 0; i < n; i++) {
        float[] v = gaussian(random, dim);
        Metadata m = new Metadata("image", "/p/" + i, 0, 0L, "", Map.of("kind", i % 3 == 0 ? "a" : "b"));
        cpu.add("v" + i, v, m);
        gpu.add("v" + i, v, m);
      }
      if (churn) {
        for (int i = 0; i < n; i += 4) {
          assertTrue(cpu.delete("v" + i));
          assertTrue(gpu.delete("v" + i));
        }
        for (int i = 1; i < n; i += 10) {
          float[] v = gaussian(random, dim);
          Metadata m = new Metadata("image", "/p/" + i, 0, 0L, "", Map.of("kind", "a"));
          cpu.update("v" + i, v, m);
          gpu.update("v" + i, v, m);
        }
        compare(cpu, gpu, random, dim, k, filter, "before compaction");
        gpu.compact();
      }
      compare(cpu, gpu, random, dim, k, filter, encoding + " " + similarity + " n=" + n);
    }
  }

  private static void compare(FlatVectorIndex cpu, GpuFlatIndex gpu, Random random, int dim, int k, Filter filter, String what) {
    assertEquals(cpu.size(), gpu.size(), what);
    for (int q = 0; q < 5; q++) {
      float[] query = gaussian(random, dim);
      List<SearchHit> expected = cpu.search(query, k, filter), actual = gpu.search(query, k, filter);
      String context = "seed " + SEED + ", " + what + ", query " + q;
      assertEquals(ids(expected), ids(actual), context);
      for (int i = 0; i < expected.size(); i++) {
        assertEquals(expected.get(i).score(), actual.get(i).score(), 2e-3f * Math.max(1f, Math.abs(expected.get(i).score())), context);
        assertEquals(expected.get(i).metadata(), actual.get(i).metadata(), context);
      }
    }
  }

  static float[] gaussian(Random random, int dim) {
    float[] v = new float[dim];
    for (int i = 0; i < dim; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  static List<String> ids(List<SearchHit> hits) {
    return hits.stream().map(SearchHit::id).toList();
  }
}
