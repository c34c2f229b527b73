package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extractors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Ingester#processor}: what an ingestion child runs, the ingester's own extraction and embedding. */
class ContentProcessorTest {
  @TempDir Path dir;

  private ContentProcessor processor(boolean withText) {
    IngestConfig config = IngestConfig.defaults(dir.resolve("data")).withEmbedBatch(4).withSettleTime(Duration.ZERO);
    return Ingester.processor(config, Extractors.standard(), TextChunker.withDefaults(),
        withText ? HashEmbedder.text(16) : null, HashEmbedder.images(8));
  }

  @Test
  void a_pdf_becomes_passages_with_vectors_and_page_renders_with_thumbnails() throws Exception {
    Path pdf = IngestFiles.pdf(dir.resolve("in/guide.pdf"), "Bread and butter on the first page.", "The lighthouse keeper on the second.", 7);
    try (ContentProcessor p = processor(true)) {
      var items = assertInstanceOf(ContentProcessor.Items.class, p.process("a".repeat(64), pdf));
      assertTrue(items.extractor().startsWith("pdf"), items.extractor());
      long passages = items.items().stream().filter(i -> !i.visual()).count();
      long visuals = items.items().stream().filter(ContentProcessor.Item::visual).count();
      assertTrue(passages >= 2 && visuals >= 2, items.items().toString());
      for (int i = 0; i < items.items().size(); i++) {
        var item = items.items().get(i);
        assertEquals(i, item.ordinal());
        assertEquals(item.visual() ? 8 : 16, item.vector().length);
        assertEquals(pdf.toString(), item.metadata().path());
        if (item.visual()) {
          assertTrue(Files.isRegularFile(dir.resolve("data").resolve(item.metadata().fields().get("thumbnail"))), item.toString());
        }
      }
    }
  }

  @Test
  void without_a_text_model_passages_have_no_vector_and_the_label_says_so() throws Exception {
    Path txt = IngestFiles.text(dir.resolve("in/notes.txt"), "Notes about a red kite over the harbour.");
    try (ContentProcessor p = processor(false)) {
      var items = assertInstanceOf(ContentProcessor.Items.class, p.process("b".repeat(64), txt));
      assertTrue(items.extractor().endsWith(Ingester.NO_TEXT), items.extractor());
      assertEquals(1, items.items().size());
      assertNull(items.items().getFirst().vector());
      assertNotNull(items.items().getFirst().metadata().text());
    }
  }

  @Test
  void a_broken_file_fails_and_a_vanished_one_is_gone() throws Exception {
    Path broken = Files.writeString(Files.createDirectories(dir.resolve("in")).resolve("broken.pdf"), "%PDF-1.7 not really");
    try (ContentProcessor p = processor(true)) {
      var failed = assertInstanceOf(ContentProcessor.Failed.class, p.process("c".repeat(64), broken));
      assertTrue(failed.message().contains("broken.pdf"), failed.message());
      assertInstanceOf(ContentProcessor.Gone.class, p.process("d".repeat(64), dir.resolve("in/vanished.txt")));
    }
  }
}
