package dev.loupe.embeddings.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.TestData;
import dev.loupe.embeddings.model.ModelManifest.ModelFile;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The built-in catalog, and the manifest rules for files that are not pinned. */
class ModelCatalogTest {

  private final ModelCatalog catalog = ModelCatalog.builtIn();

  @Test
  void the_built_in_catalog_reads_every_entry_of_its_index_with_the_default_model_first() {
    assertEquals(
        List.of("clip-vit-b32", "clip-vit-l14", "all-minilm-l6-v2", "bge-small-en-v1.5"),
        catalog.all().stream().map(ModelManifest::name).toList());
    assertEquals(ModelCatalog.DEFAULT_MODEL, catalog.all().getFirst().name());
  }

  @Test
  void pinned_entries_pin_every_file_at_a_commit_and_the_others_say_they_are_not_pinned() {
    for (String name : List.of("clip-vit-b32", "all-minilm-l6-v2")) {
      ModelManifest m = catalog.get(name);
      assertTrue(m.pinned(), name);
      assertTrue(m.source().revision().matches("[0-9a-f]{40}"), name + " is pinned to a commit");
    }
    for (String name : List.of("clip-vit-l14", "bge-small-en-v1.5")) {
      ModelManifest m = catalog.get(name);
      assertFalse(m.pinned(), name);
      assertEquals(ModelFile.UNKNOWN_SIZE, m.totalBytes(), name);
      assertTrue(m.description().contains("not pinned"), name);
    }
  }

  @Test
  void the_entries_have_the_dimensions_and_pooling_of_their_families() {
    assertEquals(512, catalog.get("clip-vit-b32").dimension());
    assertEquals(768, catalog.get("clip-vit-l14").dimension());
    assertEquals(ModelManifest.Pooling.MEAN, catalog.get("all-minilm-l6-v2").text().pooling());
    assertEquals(ModelManifest.Pooling.CLS, catalog.get("bge-small-en-v1.5").text().pooling());
    assertEquals(384, catalog.get("bge-small-en-v1.5").dimension());
  }

  @Test
  void the_clip_b32_pin_is_the_published_one() {
    ModelManifest m = catalog.get("clip-vit-b32");

    assertEquals(155_846_147, m.totalBytes());
    assertEquals("https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/d15189d7028b43f1d3e65039190477f6af591c2a/tokenizer.json",
        m.source().urlOf(m.file("tokenizer.json")));
  }

  @Test
  void the_minilm_tokenizer_pin_matches_the_shared_test_copy() throws Exception {
    Path copy = TestData.shared("tokenizers/all-MiniLM-L6-v2/tokenizer.json");
    ModelFile pinned = catalog.get("all-minilm-l6-v2").file("tokenizer.json");

    assertEquals(pinned.bytes(), Files.size(copy));
    assertEquals(pinned.sha256(), Digests.of(copy));
  }

  @Test
  void an_unknown_name_lists_the_known_ones() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> catalog.get("gpt"));

    assertEquals("unknown model 'gpt'; known models: clip-vit-b32, clip-vit-l14, all-minilm-l6-v2, bge-small-en-v1.5", e.getMessage());
  }

  @Test
  void a_manifest_file_without_size_and_digest_is_unpinned() throws Exception {
    ModelManifest m = ModelManifest.parse(json("""
        {"path": "model.onnx"}, {"path": "tokenizer.json", "bytes": 5, "sha256": "%s"}
        """.formatted("a".repeat(64))), "test");

    assertEquals(new ModelFile("model.onnx", ModelFile.UNKNOWN_SIZE, null), m.file("model.onnx"));
    assertTrue(m.file("tokenizer.json").pinned());
    assertFalse(m.pinned());
  }

  @Test
  void a_digest_without_a_size_is_rejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelManifest.parse(json("""
        {"path": "model.onnx", "sha256": "%s"}, {"path": "tokenizer.json"}
        """.formatted("b".repeat(64))), "test"));

    assertTrue(e.getMessage().endsWith("file model.onnx has a sha256 but no size; a pinned file needs both"), e.getMessage());
  }

  private static ByteArrayInputStream json(String files) {
    String text = """
        {"name": "t", "family": "bert", "dimension": 4,
         "source": {"url": "https://example.org/{revision}/", "revision": "main"},
         "files": [%s],
         "text": {"onnx": "model.onnx", "tokenizer": "tokenizer.json", "contextLength": 8,
                  "output": "last_hidden_state", "pooling": "mean"}}
        """.formatted(files);
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }
}
