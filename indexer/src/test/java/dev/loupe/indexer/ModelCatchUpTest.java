package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.ContentInfo;
import dev.loupe.indexer.journal.ContentState;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.indexer.journal.Work;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.SearchHit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Contents indexed while a model was missing ({@code +notext}, {@code +novisual}) are ingested
 * again when the ingester starts with the model: their items get vectors and their visuals get
 * indexed, replacing the old items, once.
 */
class ModelCatchUpTest {
  @TempDir
  Path tmp;

  Path folder, data, txt, png, pdf;

  @BeforeEach
  void setUp() throws IOException {
    folder = Files.createDirectories(tmp.resolve("inbox")).toRealPath();
    data = tmp.resolve("data");
    txt = IngestFiles.text(folder.resolve("notes.txt"), "The pangolin report.\n\n" + IngestFiles.words(8, 400));
    png = IngestFiles.image(folder.resolve("photo.png"), "png", 40, 30, 8);
    pdf = IngestFiles.pdf(folder.resolve("doc.pdf"), "The okapi page.", IngestFiles.words(9, 60), 4);
  }

  private IngestRig rig(boolean text, boolean visual) throws IOException, InterruptedException {
    return new IngestRig(data, IngestRig.config(data), Extractors.standardList(), text, visual);
  }

  private ContentInfo content(IngestRig rig, Path file) throws IOException {
    return rig.journal.content(Ingester.sha256(file)).orElseThrow();
  }

  /** Ingests the folder with neither model: every content is recorded as incomplete. */
  private void ingestWithoutModels() throws IOException, InterruptedException {
    try (IngestRig rig = rig(false, false)) {
      assertEquals(3, rig.ingest(folder).done());
      assertEquals("tika+notext", content(rig, txt).extractor());
      assertEquals("image+novisual", content(rig, png).extractor());
      assertEquals("pdf+notext+novisual", content(rig, pdf).extractor());
      assertEquals(0, content(rig, png).bound(), "no item for an image without the image model");
    }
  }

  /** The state once both models completed everything: vectors for every chunk, the visuals indexed, nothing twice. */
  private void checkComplete(IngestRig rig) throws IOException {
    ContentInfo text = content(rig, txt), image = content(rig, png), doc = content(rig, pdf);
    assertEquals(List.of("tika", "image", "pdf"), List.of(text.extractor(), image.extractor(), doc.extractor()));
    List<SearchHit> chunks = rig.all(rig.textIndex, "chunk");
    assertEquals(rig.textIndex.size(), chunks.size(), "vector search finds every chunk: " + chunks.size());
    assertEquals(1, rig.all(rig.visualIndex, "image").size(), "the image");
    assertFalse(rig.all(rig.visualIndex, "page").isEmpty(), "the pdf's page renders");
    List<SearchHit> pangolin = rig.textIndex.keywordSearch("pangolin", 10, Filter.ALL);
    assertEquals(List.of(IngestJournal.itemId(text.sha(), 0)), pangolin.stream().map(SearchHit::id).toList(), "no duplicate");
    rig.checkExactlyOnce(folder);
  }

  @Test
  void contents_indexed_without_models_get_vectors_and_visuals_when_the_models_arrive() throws Exception {
    ingestWithoutModels();

    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)), rig.ingester.status().toString());

      checkComplete(rig);
      assertTrue(rig.textEmbedder.inputs.get() >= content(rig, txt).bound(), "the chunks were embedded");
      assertTrue(rig.visualEmbedder.inputs.get() >= 2, "the image and the page were embedded");
      IngestStatus status = rig.ingester.status();
      assertEquals(0, status.pending(), status.toString());
      assertEquals(3, status.done(), status.toString());
    }
  }

  @Test
  void contents_waiting_to_be_completed_count_as_pending() throws Exception {
    ingestWithoutModels();

    try (IngestRig rig = new IngestRig(data, IngestRig.config(data), Extractors.standardList(), true, true, Ingester::pause)) {
      assertTrue(rig.ingester.status().pending() >= 3, "counted from the start: " + rig.ingester.status());
      while (rig.ingester.status().queued() < 3) {
        Thread.sleep(10); // the catch-up hashes the files, then queues them for the paused workers
      }
      IngestStatus waiting = rig.ingester.status();
      assertEquals(3, waiting.pending(), waiting.toString());
      assertFalse(waiting.idle());

      rig.ingester.resume();
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)));
      assertEquals(0, rig.ingester.status().pending());
      checkComplete(rig);
    }
  }

  @Test
  void a_second_restart_with_the_models_embeds_nothing_again() throws Exception {
    ingestWithoutModels();
    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)));
    }

    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)));
      rig.ingest(folder);

      assertEquals(0, rig.embedded(), "nothing left to complete");
      checkComplete(rig);
    }
  }

  @Test
  void only_what_the_arrived_model_adds_is_completed() throws Exception {
    ingestWithoutModels();

    try (IngestRig rig = rig(true, false)) { // the text model alone
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)));

      assertEquals("tika", content(rig, txt).extractor());
      assertEquals("image+novisual", content(rig, png).extractor(), "left alone: nothing to add without the image model");
      assertEquals("pdf+novisual", content(rig, pdf).extractor(), "its text completed, its pages still waiting");
      assertEquals(rig.textIndex.size(), rig.all(rig.textIndex, "chunk").size(), "every chunk has its vector");
      assertEquals(0, rig.visualEmbedder == null ? 0 : rig.visualEmbedder.inputs.get());
    }
    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)));
      checkComplete(rig);
      long pdfChunks = rig.items(content(rig, pdf).sha(), 100).values().stream().filter(m -> m.type().equals("chunk")).count();
      assertEquals(pdfChunks, rig.textEmbedder.inputs.get(),
          "of the texts, only the pdf's, whose pages were missing, is embedded again (its chunks with its pages)");
    }
  }

  @Test
  void a_crash_after_the_new_items_are_committed_but_before_the_journal_knows_is_recovered_without_duplicates() throws Exception {
    ingestWithoutModels();
    AtomicBoolean crash = new AtomicBoolean(true);
    try (IngestRig rig = new IngestRig(data, IngestRig.config(data), Extractors.standardList(), true, true,
        ingester -> ingester.afterCommit(() -> {
          if (crash.get()) throw new IllegalStateException("simulated crash after the index commit");
        }))) {
      assertFalse(rig.ingester.awaitIdle(Duration.ofDays(1)), "the writer stopped at its first commit");
      assertEquals(IngestStatus.State.STOPPED, rig.ingester.status().state());
    }

    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)), rig.ingester.status().toString());
      checkComplete(rig);
    }
  }

  @Test
  void a_crash_before_the_new_items_are_committed_leaves_the_old_items_and_is_finished_at_the_next_start() throws Exception {
    ingestWithoutModels();
    String sha = Ingester.sha256(txt);
    int oldBound;
    try (IngestJournal journal = IngestJournal.open(data.resolve("journal"))) { // a run killed mid-catch-up
      journal.recover();
      Work.Ingest work = journal.reingest(sha).orElseThrow();
      oldBound = work.cleanBound();
      assertEquals(journal.content(sha).orElseThrow().bound(), oldBound, "the old items are to be deleted with the new ones' commit");
      journal.sync();
    }

    try (IngestRig rig = rig(true, true)) {
      assertTrue(rig.ingester.awaitIdle(Duration.ofDays(1)), rig.ingester.status().toString());
      checkComplete(rig);
      assertEquals(ContentState.DONE, content(rig, txt).state());
    }
  }
}
