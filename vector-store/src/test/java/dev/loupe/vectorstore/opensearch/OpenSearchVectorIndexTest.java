package dev.loupe.vectorstore.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex.Fusion;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.TestIndexes;
import dev.loupe.vectorstore.VectorIndexContractTest;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The OpenSearch backend on the real 2-node test cluster: the shared {@link
 * VectorIndexContractTest contract}, the mapping checks, and keyword and hybrid search.
 */
@ExtendWith(OpenSearchTestCluster.class)
class OpenSearchVectorIndexTest {

  private static void deleteIndex(String name) throws IOException {
    try (OpenSearchConnection c = OpenSearchConnection.open(OpenSearchTestCluster.config())) {
      c.send("DELETE", "/" + name, Map.of(), null);
    }
  }

  @Nested
  class Contract extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "opensearch";
    }

    @Override
    protected double minRecall() {
      return 0.95;
    }

    @AfterEach
    void delete_the_tests_index() throws IOException {
      deleteIndex(TestIndexes.openSearchIndexName(dir));
    }
  }

  private static OpenSearchVectorIndex open(String name, IndexSpec spec) throws IOException {
    return OpenSearchVectorIndex.open(OpenSearchTestCluster.config(), name, spec,
        OpenSearchVectorIndex.Options.defaults().withReplicas(0));
  }

  private static Metadata meta(String type, String text) {
    return new Metadata(type, "/" + type, 0, 0L, text, Map.of());
  }

  private static List<String> ids(List<SearchHit> hits) {
    return hits.stream().map(SearchHit::id).toList();
  }

  @Test
  void refuses_an_index_with_another_dimension_naming_both() throws IOException {
    String name = "loupe-test-mapping-dimension";
    deleteIndex(name);
    try {
      open(name, new IndexSpec(384, Similarity.COSINE)).close();
      var e = assertThrows(IllegalArgumentException.class, () -> open(name, new IndexSpec(512, Similarity.COSINE)).close());
      assertTrue(e.getMessage().contains("384") && e.getMessage().contains("512") && e.getMessage().contains(name), e.getMessage());
    } finally {
      deleteIndex(name);
    }
  }

  @Test
  void refuses_an_index_loupe_did_not_create_and_one_mapped_for_another_engine() throws IOException {
    String plain = "loupe-test-mapping-foreign";
    String faissLike = "loupe-test-mapping-engine";
    deleteIndex(plain);
    deleteIndex(faissLike);
    try (OpenSearchConnection c = OpenSearchConnection.open(OpenSearchTestCluster.config())) {
      c.send("PUT", "/" + plain, Map.of(), "{\"settings\":{\"number_of_replicas\":0}}");
      var foreign = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.open(c, plain,
          new IndexSpec(8, Similarity.COSINE), OpenSearchVectorIndex.Options.defaults()));
      assertTrue(foreign.getMessage().contains("not created by Loupe"), foreign.getMessage());
      // Loupe's _meta but the vector field mapped with l2 (as for EUCLIDEAN) while COSINE is asked for.
      c.send("PUT", "/" + faissLike, Map.of(), """
          {"settings":{"number_of_replicas":0,"index.knn":true},
           "mappings":{"_meta":{"loupe":{"layout":"1","dimension":8,"similarity":"COSINE"}},
             "properties":{"vector":{"type":"knn_vector","dimension":8,
               "method":{"name":"hnsw","engine":"lucene","space_type":"l2"}}}}}""");
      var engine = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.open(c, faissLike,
          new IndexSpec(8, Similarity.COSINE), OpenSearchVectorIndex.Options.defaults()));
      assertTrue(engine.getMessage().contains("l2") && engine.getMessage().contains("innerproduct"), engine.getMessage());
    } finally {
      deleteIndex(plain);
      deleteIndex(faissLike);
    }
  }

  @Test
  void rejects_an_invalid_index_name() {
    var e = assertThrows(IllegalArgumentException.class, () -> open("Loupe Text", new IndexSpec(8, Similarity.COSINE)));
    assertTrue(e.getMessage().contains("'Loupe Text'"), e.getMessage());
  }

  @Test
  void keyword_similar_text_and_hybrid_search_rank_like_the_embedded_index() throws IOException {
    String name = "loupe-test-hybrid";
    deleteIndex(name);
    try (OpenSearchVectorIndex index = open(name, new IndexSpec(2, Similarity.COSINE))) {
      for (int i = 0; i < 10; i++) {
        index.addKeywordOnly("common" + i, meta("chunk", "the report of the team about the project and the budget " + i));
      }
      index.addKeywordOnly("rare", meta("chunk", "a zeppelin moored at the aerodrome"));
      index.add("lion", new float[] {1, 0}, meta("chunk", "a lion on the plain"));
      index.add("okapi", new float[] {0, 1}, meta("image", "the okapi lives in the forest"));
      String passage = "the report of the team about the project and the budget: a zeppelin at the aerodrome";
      assertEquals(List.of("rare"), ids(index.similarTextSearch(passage, 2, 5, Filter.ALL)));
      assertEquals(List.of(), index.similarTextSearch("words no passage has: quux", 5, 5, Filter.ALL));
      assertEquals(List.of("okapi"), ids(index.keywordSearch("okapi", 5, Filter.ALL)));
      assertEquals(List.of(), ids(index.keywordSearch("okapi", 5, Filter.term("type", "chunk"))));
      assertEquals(List.of("lion", "okapi"), ids(index.search(new float[] {1, 0.1f}, 5)), "keyword-only items have no vector");
      // Fused: "okapi" is first by keyword and second by vector; "lion" only first by vector.
      List<SearchHit> fused = index.hybridSearch("okapi forest", new float[] {1, 0.1f}, 3, Filter.ALL, Fusion.DEFAULT);
      assertEquals("okapi", fused.getFirst().id());
      assertEquals(1f / 61 + 1f / 62, fused.getFirst().score(), 1e-6f);
      assertEquals("lion", fused.get(1).id());
      assertEquals(1f / 61, fused.get(1).score(), 1e-6f);
    } finally {
      deleteIndex(name);
    }
  }
}
