package dev.loupe.vectorstore.lucene;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scalar-quantized HNSW option: really quantized on disk, and still accurate. */
class LuceneScalarQuantizationTest {

  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);

  @TempDir Path dir;

  private static long filesEndingWith(Path dir, String suffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
    }
  }

  @Test
  void quantized_search_keeps_recall_of_at_least_0_9_against_exact_brute_force() throws IOException {
    int n = 4000, dim = 96, queries = 30, k = 10;
    SyntheticVectors data = new SyntheticVectors(dim, 40, 0.8f, SEED);
    IndexSpec spec = new IndexSpec(dim, Similarity.COSINE);
    LuceneVectorIndex.Options options = new LuceneVectorIndex.Options(16, 100, true, 100, 2);
    try (LuceneVectorIndex index = LuceneVectorIndex.open(dir, spec, options)) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), Metadata.of("image", "/img/" + i));
        if (i == n / 2) {
          index.commit(); // at least two segments, so the per-segment results are merged
        }
      }
      index.commit();
      assertTrue(filesEndingWith(dir, ".veq") > 0, "no quantized vector file (.veq) in " + dir);

      int found = 0;
      for (int q = 0; q < queries; q++) {
        float[] query = data.query(q);
        List<SearchHit> hits = index.search(query, k);
        assertEquals(k, hits.size());
        record Scored(int i, float score) {}
        List<Scored> all = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          all.add(new Scored(i, spec.similarity().score(query, data.vector(i))));
        }
        all.sort(Comparator.comparingDouble(s -> -s.score()));
        Set<String> exact = new HashSet<>();
        all.subList(0, k).forEach(s -> exact.add("v" + s.i()));
        for (SearchHit h : hits) {
          if (exact.contains(h.id())) {
            found++;
          }
          // Candidates are rescored with the float vectors, so scores are exact.
          float reference = spec.similarity().score(query, data.vector(Integer.parseInt(h.id().substring(1))));
          assertEquals(reference, h.score(), 1e-4f, h.id() + " (seed " + SEED + ")");
        }
      }
      double recall = found / (double) (queries * k);
      assertTrue(recall >= 0.9, "recall@10 " + recall + " < 0.9 (seed " + SEED + ")");
    }
  }

  @Test
  void the_float_option_writes_no_quantized_vectors() throws IOException {
    SyntheticVectors data = new SyntheticVectors(16, 2, 0.8f, SEED);
    LuceneVectorIndex.Options options = new LuceneVectorIndex.Options(16, 100, false, 100, 1);
    try (LuceneVectorIndex index = LuceneVectorIndex.open(dir, new IndexSpec(16, Similarity.COSINE), options)) {
      for (int i = 0; i < 200; i++) {
        index.add("v" + i, data.vector(i), Metadata.of("image", "/img"));
      }
      index.commit();
    }
    assertEquals(0, filesEndingWith(dir, ".veq"));
    assertTrue(filesEndingWith(dir, ".vec") > 0, "no float vector file (.vec) in " + dir);
  }
}
