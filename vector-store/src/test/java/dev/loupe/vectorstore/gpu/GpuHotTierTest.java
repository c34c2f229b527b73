package dev.loupe.vectorstore.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hot tier over a real Lucene store, through the fake CUDA driver. */
class GpuHotTierTest {
  private static final long SEED = 0xC0FFEEL;

  @TempDir Path dir;

  @Test
  void mirrors_a_stored_index_and_answers_knn_exactly_from_the_device() throws Exception {
    IndexSpec spec = new IndexSpec(16, Similarity.COSINE);
    Random random = new Random(SEED);
    FlatVectorIndex oracle = FlatVectorIndex.inMemory(spec, Encoding.F16, 1);
    try (LuceneVectorIndex lucene = LuceneVectorIndex.open(dir, spec, LuceneVectorIndex.Options.defaults())) {
      for (int i = 0; i < 400; i++) {
        float[] v = GpuFlatIndexTest.gaussian(random, 16);
        Metadata m = new Metadata("image", "/p/" + i, 0, 0L, "photo number " + i, Map.of("album", i % 2 == 0 ? "even" : "odd"));
        lucene.add("v" + i, v, m);
        oracle.add("v" + i, v, m);
      }
      lucene.addKeywordOnly("words", Metadata.of("text", "/t"));
      lucene.add("gone", GpuFlatIndexTest.gaussian(random, 16), Metadata.of("image", "/gone"));
      lucene.commit();
      lucene.delete("gone"); // deleted after the commit: a live-docs bit, which the mirror must honour
    }
    LuceneVectorIndex reopened = LuceneVectorIndex.open(dir, spec, LuceneVectorIndex.Options.defaults());
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); GpuHotTier tier = GpuHotTier.open(reopened, reopened, ctx, Encoding.F16)) {
      assertEquals(400, tier.mirror().size(), "keyword-only items are not mirrored");
      assertEquals(401, tier.size());

      for (int q = 0; q < 5; q++) {
        float[] query = GpuFlatIndexTest.gaussian(random, 16);
        Filter odd = Filter.and(new Filter.Terms("album", java.util.Set.of("odd")));
        assertEquals(GpuFlatIndexTest.ids(oracle.search(query, 10)), GpuFlatIndexTest.ids(tier.search(query, 10)), "seed " + SEED);
        assertEquals(GpuFlatIndexTest.ids(oracle.search(query, 10, odd)), GpuFlatIndexTest.ids(tier.search(query, 10, odd)),
            "seed " + SEED);
      }
    }
  }

  @Test
  void writes_through_the_tier_reach_the_store_and_the_mirror() throws Exception {
    IndexSpec spec = new IndexSpec(4, Similarity.DOT_PRODUCT);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu())) {
      LuceneVectorIndex lucene = LuceneVectorIndex.open(dir, spec, LuceneVectorIndex.Options.defaults());
      try (GpuHotTier tier = GpuHotTier.open(lucene, lucene, ctx, Encoding.F16)) {
        tier.add("a", new float[] {1, 0, 0, 0}, Metadata.of("image", "/a"));
        tier.add("b", new float[] {0, 1, 0, 0}, Metadata.of("image", "/b"));
        tier.addKeywordOnly("c", new Metadata("text", "/c", 0, 0L, "lighthouse at dusk", Map.of()));
        tier.update("c", new float[] {0, 0, 2, 0}, new Metadata("text", "/c", 0, 0L, "lighthouse at dusk", Map.of()));
        assertTrue(tier.delete("a"));
        assertFalse(tier.delete("a"));

        SearchHit top = tier.search(new float[] {0, 0, 1, 0}, 1).getFirst();
        assertEquals("c", top.id());
        assertEquals(2f, top.score(), 1e-3f);
        assertEquals(2, tier.mirror().size());
        assertEquals(2, lucene.size());
        assertEquals("c", tier.keywordSearch("lighthouse", 5, Filter.ALL).getFirst().id());
        // Beyond the kernels' k the store answers.
        assertEquals(2, tier.search(new float[] {1, 1, 1, 1}, 300).size());
      }
    }
  }
}
