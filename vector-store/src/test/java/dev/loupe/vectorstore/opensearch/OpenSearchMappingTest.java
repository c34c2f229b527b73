package dev.loupe.vectorstore.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The parts of the OpenSearch backend that need no cluster: the mapping check, the filter
 * translation and the connection settings' validation (the cluster tests cover the rest).
 */
class OpenSearchMappingTest {

  private static JsonNode json(String text) throws IOException {
    return OpenSearchConnection.JSON.readTree(text);
  }

  private static JsonNode mapping(int metaDim, String metaSim, int fieldDim, String engine, String space) throws IOException {
    return json("""
        {"_meta":{"loupe":{"layout":"1","dimension":%d,"similarity":"%s"}},
         "properties":{"vector":{"type":"knn_vector","dimension":%d,"method":{"name":"hnsw","engine":"%s","space_type":"%s"}}}}
        """.formatted(metaDim, metaSim, fieldDim, engine, space));
  }

  @Test
  void accepts_the_mapping_loupe_creates() throws IOException {
    OpenSearchVectorIndex.checkMapping("loupe-text", mapping(384, "COSINE", 384, "lucene", "innerproduct"), new IndexSpec(384, Similarity.COSINE));
    OpenSearchVectorIndex.checkMapping("loupe-text", mapping(8, "EUCLIDEAN", 8, "lucene", "l2"), new IndexSpec(8, Similarity.EUCLIDEAN));
  }

  @Test
  void a_dimension_or_similarity_mismatch_names_both_sides() throws IOException {
    var dim = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkMapping("loupe-text",
        mapping(384, "COSINE", 384, "lucene", "innerproduct"), new IndexSpec(512, Similarity.COSINE)));
    assertTrue(dim.getMessage().contains("384") && dim.getMessage().contains("512") && dim.getMessage().contains("'loupe-text'"), dim.getMessage());
    var sim = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkMapping("loupe-text",
        mapping(384, "COSINE", 384, "lucene", "innerproduct"), new IndexSpec(384, Similarity.DOT_PRODUCT)));
    assertTrue(sim.getMessage().contains("COSINE") && sim.getMessage().contains("DOT_PRODUCT"), sim.getMessage());
  }

  @Test
  void a_faiss_or_mis_sized_vector_field_is_refused() throws IOException {
    var faiss = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkMapping("x",
        mapping(16, "COSINE", 16, "faiss", "innerproduct"), new IndexSpec(16, Similarity.COSINE)));
    assertTrue(faiss.getMessage().contains("faiss") && faiss.getMessage().contains("lucene"), faiss.getMessage());
    var size = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkMapping("x",
        mapping(16, "COSINE", 32, "lucene", "innerproduct"), new IndexSpec(16, Similarity.COSINE)));
    assertTrue(size.getMessage().contains("/32/") && size.getMessage().contains("/16/"), size.getMessage());
    var foreign = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkMapping("x",
        json("{\"properties\":{}}"), new IndexSpec(16, Similarity.COSINE)));
    assertTrue(foreign.getMessage().contains("not created by Loupe"), foreign.getMessage());
  }

  @Test
  void filters_translate_to_the_query_dsl_on_the_documents_fields() {
    assertEquals("{\"terms\":{\"meta.camera\":[\"canon\",\"nikon\"]}}",
        OpenSearchQueries.toQuery(new Filter.Terms("camera", Set.of("nikon", "canon"))).toString());
    assertEquals("{\"prefix\":{\"path\":\"/photos/\"}}", OpenSearchQueries.toQuery(new Filter.Prefix("path", "/photos/")).toString());
    assertEquals("{\"range\":{\"page\":{\"gte\":-2147483648,\"lte\":3}}}",
        OpenSearchQueries.toQuery(new Filter.Range("page", Long.MIN_VALUE, 3)).toString());
    assertEquals("{\"match_none\":{}}", OpenSearchQueries.toQuery(new Filter.Range("page", 1L << 40, 1L << 41)).toString());
    assertEquals("{\"bool\":{\"should\":[{\"terms\":{\"type\":[\"image\"]}},{\"range\":{\"timestamp\":{\"gte\":1,\"lte\":2}}}],\"minimum_should_match\":1}}",
        OpenSearchQueries.toQuery(new Filter.Or(List.of(Filter.term("type", "image"), new Filter.Range("timestamp", 1, 2)))).toString());
    assertEquals("{\"match_all\":{}}", OpenSearchQueries.toQuery(Filter.ALL).toString());
  }

  @Test
  void connection_settings_name_what_is_wrong() {
    var scheme = assertThrows(IllegalArgumentException.class, () -> OpenSearchConnection.Config.of(List.of(URI.create("ftp://h:1"))));
    assertTrue(scheme.getMessage().contains("ftp://h:1"), scheme.getMessage());
    assertThrows(IllegalArgumentException.class, () -> OpenSearchConnection.Config.of(List.of()));
    var user = assertThrows(IllegalArgumentException.class,
        () -> new OpenSearchConnection.Config(List.of(URI.create("http://h:9200")), "loupe", null, Duration.ZERO));
    assertTrue(user.getMessage().contains("'loupe'"), user.getMessage());
    assertEquals(List.of(URI.create("http://a:1"), URI.create("http://b:2")), OpenSearchConnection.Config.parseUrls("http://a:1, http://b:2"));
    var bad = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.checkIndexName("Loupe_Text"));
    assertTrue(bad.getMessage().contains("'Loupe_Text'"), bad.getMessage());
    var options = assertThrows(IllegalArgumentException.class, () -> OpenSearchVectorIndex.Options.defaults().withReplicas(-1));
    assertTrue(options.getMessage().contains("replicas -1"), options.getMessage());
  }
}
