package dev.loupe.vectorstore.lucene;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex.Fusion;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BM25 keyword search and reciprocal rank fusion of {@link LuceneVectorIndex}. */
class LuceneHybridSearchTest {

  @TempDir Path dir;

  private static LuceneVectorIndex open(Path dir, int dim) throws IOException {
    return LuceneVectorIndex.open(
        dir, new IndexSpec(dim, Similarity.COSINE), new LuceneVectorIndex.Options(16, 100, false, 100, 1));
  }

  private static Metadata meta(String type, String text) {
    return new Metadata(type, "/" + type, 0, 0L, text, Map.of());
  }

  /** A unit vector in the plane at {@code degrees} from the query direction (1, 0). */
  private static float[] at(double degrees) {
    double r = Math.toRadians(degrees);
    return new float[] {(float) Math.cos(r), (float) Math.sin(r)};
  }

  private static List<String> ids(List<SearchHit> hits) {
    return hits.stream().map(SearchHit::id).toList();
  }

  @Test
  void more_like_this_text_keeps_the_passages_distinctive_terms_not_its_common_ones() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      // Ten passages share the common words; one shares the rare ones.
      for (int i = 0; i < 10; i++) {
        index.addKeywordOnly("common" + i, meta("chunk", "the report of the team about the project and the budget " + i));
      }
      index.addKeywordOnly("rare", meta("chunk", "a zeppelin moored at the aerodrome"));
      index.addKeywordOnly("other", meta("chunk", "a lighthouse on the cape"));
      String passage = "the report of the team about the project and the budget: a zeppelin at the aerodrome";

      // With two terms, the rarest two decide: only the zeppelin passage has them.
      assertEquals(List.of("rare"), ids(index.similarTextSearch(passage, 2, 5, Filter.ALL)));
      // With all terms the common passages come in too, after it.
      List<String> all = ids(index.similarTextSearch(passage, 1024, 20, Filter.ALL));
      assertEquals("rare", all.getFirst());
      assertTrue(all.size() > 5, all.toString()); // "the" and "a" match nearly everything
      assertEquals(List.of(), index.similarTextSearch("words no passage has: quux", 5, 5, Filter.ALL));
      assertEquals(List.of("rare"), ids(index.similarTextSearch(passage, 2, 5, Filter.term("type", "chunk"))));
      assertThrows(IllegalArgumentException.class, () -> index.similarTextSearch(passage, 0, 5, Filter.ALL));
    }
  }

  @Test
  void a_keyword_only_item_is_found_by_keywords_never_by_vector_and_survives_a_reopen() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      index.addKeywordOnly("plain", meta("chunk", "the okapi lives in the forest"));
      index.add("vec", at(0), meta("chunk", "a lion on the plain"));
      assertThrows(IllegalArgumentException.class, () -> index.addKeywordOnly("vec", meta("chunk", "again")));
      index.commit();
    }
    try (LuceneVectorIndex index = open(dir, 2)) {
      assertEquals(2, index.size());
      assertTrue(index.contains("plain"));
      assertEquals("the okapi lives in the forest", index.get("plain").orElseThrow().text());
      assertEquals(List.of("plain"), ids(index.keywordSearch("okapi", 5, Filter.ALL)));
      assertEquals(List.of("vec"), ids(index.search(at(0), 5)), "vector search never returns a keyword-only item");
      assertEquals(List.of("plain"), ids(index.hybridSearch("okapi", at(0), 5, Filter.ALL, Fusion.DEFAULT)).subList(0, 1));

      index.update("plain", at(90), meta("chunk", "the okapi lives in the forest"));
      assertEquals(List.of("vec", "plain"), ids(index.search(at(0), 5)), "a vector given later makes it a vector item");
      assertTrue(index.delete("plain"));
      assertEquals(1, index.size());
    }
  }

  @Test
  void a_keyword_only_match_ranks_first_when_the_vector_weight_is_zero() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      index.add("zebra", at(179), meta("text", "zebra stripes on the savanna"));
      for (int i = 0; i < 5; i++) {
        index.add("near" + i, at(i), meta("text", "lorem ipsum dolor " + i));
      }
      List<SearchHit> keywordOnly =
          index.hybridSearch("Zebra", at(0), 3, Filter.ALL, new Fusion(1f, 0f, 60, 100));
      assertEquals(List.of("zebra"), ids(keywordOnly));
      assertEquals(1f / 61, keywordOnly.getFirst().score(), 1e-7f);

      // The control: with only the vector ranking the far keyword match drops out of the top 3.
      List<SearchHit> vectorOnly =
          index.hybridSearch("zebra", at(0), 3, Filter.ALL, new Fusion(0f, 1f, 60, 100));
      assertEquals(List.of("near0", "near1", "near2"), ids(vectorOnly));
      assertEquals(1f / 61, vectorOnly.getFirst().score(), 1e-7f);
    }
  }

  @Test
  void fused_scores_equal_the_hand_computed_weighted_reciprocal_rank_fusion() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      // BM25 on "apple": a (three occurrences) before b (one), both four tokens long.
      // Vector ranking for a query at 0 degrees: b (10), c (20), a (30), d (80).
      index.add("a", at(30), meta("text", "apple apple apple pie"));
      index.add("b", at(10), meta("text", "apple pie crumble tart"));
      index.add("c", at(20), meta("text", "banana split sundae cream"));
      index.add("d", at(80), meta("text", "cherry"));
      assertEquals(List.of("a", "b"), ids(index.keywordSearch("apple", 10, Filter.ALL)));
      assertEquals(List.of("b", "c", "a", "d"), ids(index.search(at(0), 10)));

      // keyword weight 2, vector weight 1, rank constant 10, all candidates.
      List<SearchHit> hits =
          index.hybridSearch("apple", at(0), 10, Filter.ALL, new Fusion(2f, 1f, 10, 100));
      assertEquals(List.of("a", "b", "c", "d"), ids(hits));
      float[] expected = {
        2f / 11 + 1f / 13, // a: keyword rank 1, vector rank 3
        2f / 12 + 1f / 11, // b: keyword rank 2, vector rank 1
        1f / 12, //           c: vector rank 2
        1f / 14 //            d: vector rank 4
      };
      for (int i = 0; i < expected.length; i++) {
        assertEquals(expected[i], hits.get(i).score(), 1e-6f, hits.get(i).id());
      }

      // Only the top 2 of each ranking take part: a loses its vector rank 3, d drops out.
      List<SearchHit> top2 =
          index.hybridSearch("apple", at(0), 10, Filter.ALL, new Fusion(2f, 1f, 10, 2));
      assertEquals(List.of("b", "a", "c"), ids(top2));
      assertEquals(2f / 12 + 1f / 11, top2.get(0).score(), 1e-6f);
      assertEquals(2f / 11, top2.get(1).score(), 1e-6f);
      assertEquals(1f / 12, top2.get(2).score(), 1e-6f);

      // k cuts the fused list, not the rankings.
      assertEquals(List.of("a", "b"), ids(index.hybridSearch("apple", at(0), 2, Filter.ALL, new Fusion(2f, 1f, 10, 100))));
    }
  }

  @Test
  void filters_apply_to_the_keyword_and_the_vector_ranking() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      index.add("text-exact", at(0), meta("text", "zebra zebra zebra")); // best in both rankings
      index.add("image-keyword", at(170), meta("image", "a zebra at night"));
      index.add("image-vector", at(5), meta("image", "a horse"));
      Filter images = Filter.term("type", "image");

      assertEquals(List.of("image-keyword"), ids(index.keywordSearch("zebra", 10, images)));
      assertEquals("image-vector", index.search(at(0), 10, images).getFirst().id());
      assertTrue(ids(index.search(at(0), 10, images)).stream().noneMatch("text-exact"::equals));

      List<SearchHit> hybrid = index.hybridSearch("zebra", at(0), 10, images, Fusion.DEFAULT);
      assertEquals(2, hybrid.size(), hybrid.toString());
      for (SearchHit h : hybrid) {
        assertEquals("image", h.metadata().type(), h.toString());
      }
      // Unfiltered, the text item leads both rankings.
      assertEquals("text-exact", index.hybridSearch("zebra", at(0), 10, Filter.ALL, Fusion.DEFAULT).getFirst().id());
    }
  }

  @Test
  void keyword_search_returns_stored_metadata_and_ignores_text_without_terms() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      Metadata m = new Metadata("page", "/docs/manual.pdf", 12, 1_700_000_000_000L, "Torque the bolts to 40 Nm", Map.of("lang", "en"));
      index.add("p12", at(0), m);
      List<SearchHit> hits = index.keywordSearch("bolts torque", 5, Filter.ALL);
      assertEquals(1, hits.size());
      assertEquals(m, hits.getFirst().metadata());
      assertTrue(hits.getFirst().score() > 0);
      assertTrue(index.keywordSearch("  ... ", 5, Filter.ALL).isEmpty());
      assertTrue(index.keywordSearch("nothing matches", 5, Filter.ALL).isEmpty());
    }
  }

  @Test
  void hybrid_search_validates_its_arguments() throws IOException {
    try (LuceneVectorIndex index = open(dir, 2)) {
      index.add("a", at(0), meta("text", "alpha"));
      assertThrows(IllegalArgumentException.class, () -> index.hybridSearch(null, at(0), 1, Filter.ALL, Fusion.DEFAULT));
      var dim = assertThrows(IllegalArgumentException.class, () -> index.hybridSearch("alpha", new float[3], 1, Filter.ALL, Fusion.DEFAULT));
      assertTrue(dim.getMessage().contains("3"), dim.getMessage());
      assertThrows(IllegalArgumentException.class, () -> index.hybridSearch("alpha", at(0), 0, Filter.ALL, Fusion.DEFAULT));
      assertThrows(IllegalArgumentException.class, () -> index.hybridSearch("alpha", at(0), 1, Filter.ALL, null));
      var field = assertThrows(IllegalArgumentException.class, () -> index.keywordSearch("alpha", 1, Filter.term("colour", "red")));
      assertTrue(field.getMessage().contains("colour"), field.getMessage());
    }
  }
}
