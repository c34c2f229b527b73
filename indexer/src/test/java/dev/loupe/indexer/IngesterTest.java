package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractor;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.Action;
import dev.loupe.indexer.journal.ContentInfo;
import dev.loupe.indexer.journal.ContentState;
import dev.loupe.indexer.journal.FileFailure;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngesterTest {
  @TempDir
  Path tmp;

  Path folder, data;

  @BeforeEach
  void setUp() throws IOException {
    folder = Files.createDirectories(tmp.resolve("inbox")).toRealPath();
    data = tmp.resolve("data");
  }

  private String sha(Path file) throws IOException {
    return Ingester.sha256(file);
  }

  private String real(Path p) throws IOException {
    return p.toRealPath().toString();
  }

  @Test
  void a_folder_of_pdfs_images_documents_and_a_video_becomes_items_of_each_kind() throws Exception {
    Path pdf = IngestFiles.pdf(folder.resolve("docs/report.pdf"), "The zanzibar lighthouse report.", "Second page about copper kettles.", 1);
    Path png = IngestFiles.image(folder.resolve("pics/quadrants.png"), "png", 80, 60, 2);
    Path jpg = IngestFiles.image(folder.resolve("pics/photo.jpg"), "jpg", 90, 70, 3);
    Path txt = IngestFiles.text(folder.resolve("notes.txt"), "Remember the quokka festival.\n\n" + IngestFiles.words(4, 40));
    Path docx = IngestFiles.docx(folder.resolve("docs/letter.docx"), "A letter", List.of("Dear marmoset committee,", "Regards."));
    Path mp4 = IngestFiles.video(folder.resolve("clip.mp4"));

    try (IngestRig rig = new IngestRig(data)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(6, summary.files(), summary.toString());
      assertEquals(6, summary.done(), summary.failures().toString());
      assertEquals(0, summary.failed());
      assertEquals(rig.indexSize(), summary.items());

      Map<Integer, Metadata> pdfItems = rig.items(sha(pdf), 20);
      Set<String> pdfTypes = pdfItems.values().stream().map(Metadata::type).collect(Collectors.toSet());
      assertEquals(Set.of("page", "embedded-image", "chunk"), pdfTypes, pdfItems.toString());
      Metadata firstChunk = pdfItems.values().stream().filter(m -> m.type().equals("chunk")).findFirst().orElseThrow();
      assertEquals(1, firstChunk.page());
      assertEquals(real(pdf), firstChunk.path());
      assertEquals("application/pdf", firstChunk.fields().get("mime"));
      assertEquals("pdf", firstChunk.fields().get("extractor"));
      assertEquals(sha(pdf), firstChunk.fields().get("sha"));
      assertTrue(firstChunk.text().contains("zanzibar"), firstChunk.text());
      Metadata embedded = pdfItems.values().stream().filter(m -> m.type().equals("embedded-image")).findFirst().orElseThrow();
      assertEquals(2, embedded.page());
      assertTrue(Files.isRegularFile(rig.config.dataDir().resolve(embedded.fields().get("thumbnail"))), embedded.toString());

      for (Path image : List.of(png, jpg)) {
        Map<Integer, Metadata> items = rig.items(sha(image), 5);
        assertEquals(1, items.size(), image + ": " + items);
        Metadata m = items.get(0);
        assertEquals("image", m.type());
        assertEquals(image.getFileName().toString(), m.text(), "the file name is the image's keyword text");
        assertTrue(rig.visualIndex.contains(IngestJournal.itemId(sha(image), 0)));
        assertTrue(Files.isRegularFile(rig.config.dataDir().resolve(m.fields().get("thumbnail"))));
      }

      Map<Integer, Metadata> frames = rig.items(sha(mp4), 20);
      assertFalse(frames.isEmpty());
      assertTrue(frames.values().stream().allMatch(m -> m.type().equals("frame")), frames.toString());
      assertEquals(0L, frames.get(0).timestamp(), "the first keyframe is at 0 ms");
      assertTrue(frames.values().stream().anyMatch(m -> m.timestamp() > 0), "a later keyframe: " + frames);

      Map<Integer, Metadata> docItems = rig.items(sha(docx), 5);
      assertEquals("chunk", docItems.get(0).type());
      assertEquals("tika", docItems.get(0).fields().get("extractor"));
      assertTrue(docItems.get(0).text().contains("marmoset"));

      List<SearchHit> hits = rig.textIndex.keywordSearch("quokka", 5, Filter.ALL);
      assertEquals(1, hits.size(), hits.toString());
      assertEquals(IngestJournal.itemId(sha(txt), 0), hits.getFirst().id());

      IngestStatus status = rig.ingester.status();
      assertEquals(6, status.done());
      assertTrue(status.idle(), status.toString());
      assertEquals(rig.indexSize(), status.items());
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_duplicate_file_is_stored_once_and_listed_under_both_paths() throws Exception {
    Path a = IngestFiles.text(folder.resolve("a/notes.txt"), IngestFiles.words(7, 60));
    Path b = Files.copy(a, Files.createDirectories(folder.resolve("b")).resolve("copy.txt"));
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      ContentInfo c = rig.journal.content(sha(a)).orElseThrow();
      assertEquals(List.of(real(a), real(b)), c.paths());
      assertEquals(c.bound(), rig.indexSize(), "one set of items");
      assertEquals(List.of(real(a), real(b)), rig.ingester.paths(IngestJournal.itemId(sha(a), 0)));
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_renamed_file_keeps_its_items_without_being_embedded_again() throws Exception {
    Path a = IngestFiles.pdf(folder.resolve("old-name.pdf"), IngestFiles.words(1, 50), IngestFiles.words(2, 50), 5);
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      long embedded = rig.embedded();
      int items = rig.indexSize();
      Path moved = Files.move(a, Files.createDirectories(folder.resolve("sub")).resolve("new-name.pdf"));

      rig.ingest(folder);

      assertEquals(embedded, rig.embedded(), "nothing embedded again");
      assertEquals(items, rig.indexSize());
      assertEquals(List.of(real(moved)), rig.journal.content(sha(moved)).orElseThrow().paths());
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_file_rewritten_at_the_same_size_within_one_millisecond_is_ingested_again() throws Exception {
    Path file = IngestFiles.text(folder.resolve("log.txt"), "The first wombat version.");
    FileTime first = FileTime.from(java.time.Instant.ofEpochSecond(1_700_000_000L, 123_000_100));
    Files.setLastModifiedTime(file, first);
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.getLastModifiedTime(file).equals(first),
        "skipped: the file system keeps times coarser than nanoseconds (" + Files.getLastModifiedTime(file) + ")");
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      Files.writeString(file, "The other koala version."); // as many bytes
      Files.setLastModifiedTime(file, FileTime.from(java.time.Instant.ofEpochSecond(1_700_000_000L, 123_000_900)));

      rig.ingest(folder);

      assertEquals(List.of(IngestJournal.itemId(sha(file), 0)),
          rig.textIndex.keywordSearch("koala", 5, Filter.ALL).stream().map(SearchHit::id).toList());
      assertTrue(rig.textIndex.keywordSearch("wombat", 5, Filter.ALL).isEmpty(), "the first version is gone");
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_modified_file_has_its_items_replaced_in_one_commit() throws Exception {
    Path file = IngestFiles.text(folder.resolve("draft.txt"), IngestFiles.words(10, 200));
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      String before = sha(file);
      int oldItems = rig.journal.content(before).orElseThrow().bound();
      FileTime time = Files.getLastModifiedTime(file);
      Files.writeString(file, IngestFiles.words(11, 150));
      Files.setLastModifiedTime(file, FileTime.fromMillis(time.toMillis() + 2_000));
      String after = sha(file);
      List<String> states = new ArrayList<>();
      rig.ingester.afterCommit(() -> states.add(
          rig.textIndex.contains(IngestJournal.itemId(before, 0)) + "/" + rig.textIndex.contains(IngestJournal.itemId(after, 0))));

      rig.ingest(folder);

      assertTrue(states.contains("false/true"), "a commit with the new items and without the old: " + states);
      assertFalse(states.contains("true/true") || states.contains("false/false"),
          "every commit holds exactly one version of the file: " + states);
      for (int i = 0; i < oldItems; i++) {
        assertFalse(rig.textIndex.contains(IngestJournal.itemId(before, i)));
      }
      assertTrue(rig.journal.content(before).isEmpty(), "the old content is forgotten");
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_deleted_file_loses_its_items_and_thumbnails() throws Exception {
    Path image = IngestFiles.image(folder.resolve("gone.png"), "png", 64, 64, 9);
    Path kept = IngestFiles.image(folder.resolve("kept.png"), "png", 64, 64, 10);
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      String sha = sha(image);
      Path thumb = rig.config.dataDir().resolve(rig.item(IngestJournal.itemId(sha, 0)).orElseThrow().fields().get("thumbnail"));
      assertTrue(Files.isRegularFile(thumb));
      Files.delete(image);

      rig.ingest(folder);

      assertFalse(rig.visualIndex.contains(IngestJournal.itemId(sha, 0)));
      assertFalse(Files.exists(thumb), thumb + " is deleted");
      assertTrue(rig.visualIndex.contains(IngestJournal.itemId(sha(kept), 0)));
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_corrupt_file_among_good_ones_fails_with_its_reason_and_the_others_are_indexed() throws Exception {
    for (int i = 0; i < 6; i++) {
      IngestFiles.text(folder.resolve("good-" + i + ".txt"), IngestFiles.words(20 + i, 30));
    }
    Path corrupt = Files.write(folder.resolve("good-3-broken.pdf"), "%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".getBytes());
    Path image = Files.write(folder.resolve("truncated.png"),
        java.util.Arrays.copyOf(Files.readAllBytes(IngestFiles.image(tmp.resolve("full.png"), "png", 64, 64, 1)), 60));
    try (IngestRig rig = new IngestRig(data)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(8, summary.files());
      assertEquals(6, summary.done(), summary.failures().toString());
      assertEquals(2, summary.failed());
      Map<String, FileFailure> failures = summary.failures().stream().collect(Collectors.toMap(FileFailure::path, f -> f));
      assertEquals("corrupt", failures.get(real(corrupt)).failure().reason(), failures.toString());
      assertTrue(failures.get(real(corrupt)).failure().message().contains(corrupt.getFileName().toString()));
      assertEquals("corrupt", failures.get(real(image)).failure().reason(), failures.toString());
      assertEquals(2, rig.ingester.status().failed());
      assertEquals(Map.of("corrupt", 2), rig.ingester.status().failedByReason());
      assertFalse(Files.exists(rig.config.thumbnailDir().resolve(sha(image))), "no thumbnail of a failed file");

      long embedded = rig.embedded();
      rig.ingest(folder);
      assertEquals(embedded, rig.embedded(), "a failed file is not retried until it changes");
      assertEquals(2, rig.ingester.status().failed());
    }
  }

  @Test
  void a_file_over_a_limit_fails_as_over_limit_and_a_large_image_gets_a_small_thumbnail() throws Exception {
    Path photo = IngestFiles.image(folder.resolve("wide.png"), "png", 600, 400, 51);
    Path big = IngestFiles.text(folder.resolve("big.txt"), IngestFiles.words(50, 100).repeat((int) (Files.size(photo) / 500 + 2)));
    ExtractionLimits limits = ExtractionLimits.defaults();
    limits = new ExtractionLimits(Files.size(photo) + 1, limits.maxPixels(), limits.maxPdfPages(), limits.maxVideoDuration(),
        limits.maxTimePerFile(), limits.minEmbeddedImagePixels(), limits.renderDpi(), limits.keyframeInterval(), limits.sceneThreshold());
    assertTrue(Files.size(big) > limits.maxFileBytes(), "the text file is the larger one");
    try (IngestRig rig = new IngestRig(data, IngestRig.config(data).withLimits(limits), Extractors.standardList(), true)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(1, summary.failed());
      assertEquals("over_limit", summary.failures().getFirst().failure().reason());
      assertTrue(summary.failures().getFirst().failure().message().contains("maxFileBytes"), summary.failures().toString());
      Path thumb = rig.config.dataDir().resolve(rig.item(IngestJournal.itemId(sha(photo), 0)).orElseThrow().fields().get("thumbnail"));
      java.awt.image.BufferedImage t = javax.imageio.ImageIO.read(thumb.toFile());
      assertEquals(256, t.getWidth());
      assertEquals(171, t.getHeight());
    }
  }

  @Test
  void a_file_modified_into_a_corrupt_one_loses_its_old_items_and_fails() throws Exception {
    Path file = IngestFiles.image(folder.resolve("picture.png"), "png", 48, 48, 60);
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      String before = sha(file);
      assertTrue(rig.visualIndex.contains(IngestJournal.itemId(before, 0)));
      FileTime time = Files.getLastModifiedTime(file);
      Files.write(file, java.util.Arrays.copyOf(Files.readAllBytes(file), 50));
      Files.setLastModifiedTime(file, FileTime.fromMillis(time.toMillis() + 2_000));

      IngestSummary summary = rig.ingest(folder);

      assertEquals(1, summary.failed(), summary.toString());
      assertFalse(rig.visualIndex.contains(IngestJournal.itemId(before, 0)), "the old picture is gone from search");
      assertFalse(Files.exists(rig.config.thumbnailDir().resolve(before)));
      assertEquals(0, rig.indexSize());
      assertTrue(rig.journal.content(before).isEmpty());
    }
  }

  @Test
  void a_file_that_grows_after_it_was_indexed_ends_up_indexed_once_and_complete() throws Exception {
    Path file = IngestFiles.text(folder.resolve("log.txt"), "first half about the albatross.\n\n");
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
      String half = sha(file);
      Files.writeString(file, "second half about the pelican.\n", java.nio.file.StandardOpenOption.APPEND);
      Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 1_000));

      rig.ingest(folder);

      assertTrue(rig.journal.content(half).isEmpty());
      List<SearchHit> hits = rig.textIndex.keywordSearch("albatross pelican", 10, Filter.ALL);
      assertEquals(1, hits.size(), hits.toString());
      assertTrue(hits.getFirst().metadata().text().contains("albatross") && hits.getFirst().metadata().text().contains("pelican"));
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_paused_ingester_takes_no_file_until_resumed() throws Exception {
    for (int i = 0; i < 5; i++) {
      IngestFiles.text(folder.resolve("f" + i + ".txt"), IngestFiles.words(30 + i, 20));
    }
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingester.pause();
      assertEquals(IngestStatus.State.PAUSED, rig.ingester.status().state());
      AtomicInteger done = new AtomicInteger(-1);
      Thread oneShot = Thread.ofPlatform().start(() -> {
        try {
          done.set(rig.ingest(folder).done());
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      while (rig.ingester.status().queued() < 5) {
        Thread.sleep(10); // the scan hands every file over; none is taken while paused
      }
      IngestStatus paused = rig.ingester.status();
      assertEquals(0, paused.extracting() + paused.embedding() + paused.writing() + paused.done(), paused.toString());
      assertEquals(5, paused.pending());
      assertEquals(0, rig.embedded());

      rig.ingester.resume();
      oneShot.join();

      assertEquals(5, done.get());
      assertEquals(IngestStatus.State.RUNNING, rig.ingester.status().state());
      rig.checkExactlyOnce(folder);
    }
  }

  /** Fails every file it is given until {@link #heal} is set, then reads it as text. */
  static final class FlakyExtractor implements Extractor {
    final AtomicBoolean heal = new AtomicBoolean();
    final Extractor delegate = Extractors.standard().named("tika").orElseThrow();

    @Override
    public String name() {
      return "flaky";
    }

    @Override
    public boolean accepts(String mediaType) {
      return mediaType.equals("text/plain");
    }

    @Override
    public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
      sink.accept(new Extracted.Text("a piece sent before the failure", 0, 0));
      if (!heal.get()) {
        throw new ExtractionException(ExtractionException.Reason.CORRUPT, file + " is broken today");
      }
      delegate.extract(file, limits, sink);
    }
  }

  @Test
  void retry_ingests_a_failed_file_again_and_pieces_of_a_failed_attempt_are_discarded() throws Exception {
    Path file = IngestFiles.text(folder.resolve("flaky.txt"), "the narwhal paragraph.");
    FlakyExtractor flaky = new FlakyExtractor();
    try (IngestRig rig = new IngestRig(data, IngestRig.config(data), List.of(flaky), true)) {
      IngestSummary first = rig.ingest(folder);
      assertEquals(1, first.failed());
      assertEquals("corrupt", first.failures().getFirst().failure().reason());
      assertEquals(0, rig.indexSize(), "nothing of the failed attempt is indexed");

      flaky.heal.set(true);
      assertEquals(Action.INGEST, rig.ingester.retry(file));
      assertTrue(rig.ingester.awaitIdle(java.time.Duration.ofDays(1)));

      ContentInfo c = rig.journal.content(sha(file)).orElseThrow();
      assertEquals(ContentState.DONE, c.state());
      assertEquals("flaky", c.extractor());
      assertEquals(1, rig.textIndex.keywordSearch("narwhal", 5, Filter.ALL).size());
      assertEquals(Action.UNCHANGED, rig.ingester.retry(file), "a file that did not fail is left alone");
    }
  }

  @Test
  void without_an_image_model_visuals_are_skipped_and_recorded_and_text_is_indexed() throws Exception {
    Path image = IngestFiles.image(folder.resolve("photo.png"), "png", 64, 48, 3);
    Path pdf = IngestFiles.pdf(folder.resolve("doc.pdf"), "The okapi page.", "More.", 4);
    try (IngestRig rig = new IngestRig(data, IngestRig.config(data), Extractors.standardList(), false)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(2, summary.done());
      assertEquals("image+novisual", rig.journal.content(sha(image)).orElseThrow().extractor());
      assertEquals(0, rig.journal.content(sha(image)).orElseThrow().bound());
      assertEquals("pdf+novisual", rig.journal.content(sha(pdf)).orElseThrow().extractor());
      assertEquals(1, rig.textIndex.keywordSearch("okapi", 5, Filter.ALL).size());
      assertFalse(Files.exists(rig.config.thumbnailDir()) && Files.list(rig.config.thumbnailDir()).findAny().isPresent(),
          "no thumbnails without visual items");
    }
  }

  @Test
  void without_a_text_model_chunks_are_indexed_for_keyword_search_alone() throws Exception {
    Path txt = IngestFiles.text(folder.resolve("notes.txt"), "The pangolin report.\n\n" + IngestFiles.words(8, 400));
    Path png = IngestFiles.image(folder.resolve("photo.png"), "png", 40, 30, 8);
    try (IngestRig rig = new IngestRig(data, IngestRig.config(data), Extractors.standardList(), false, true)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(2, summary.done(), summary.failures().toString());
      ContentInfo c = rig.journal.content(sha(txt)).orElseThrow();
      assertEquals("tika+notext", c.extractor(), "recorded, to embed when the model arrives");
      assertTrue(c.bound() > 1, "the text is chunked: " + c.bound());
      assertEquals(c.bound(), rig.textIndex.size());
      List<SearchHit> hits = rig.textIndex.keywordSearch("pangolin", 5, Filter.ALL);
      assertEquals(List.of(IngestJournal.itemId(sha(txt), 0)), hits.stream().map(SearchHit::id).toList());
      float[] any = new float[IngestRig.TEXT_DIM];
      java.util.Arrays.fill(any, 1f);
      assertTrue(rig.textIndex.search(any, 10).isEmpty(), "vector search returns no keyword-only chunk");
      assertEquals("image", rig.journal.content(sha(png)).orElseThrow().extractor(), "the image model is there");
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_file_moved_while_its_ingest_was_interrupted_is_ingested_from_where_it_is_now() throws Exception {
    Path before = IngestFiles.pdf(folder.resolve("p/report.pdf"), IngestFiles.words(70, 60), IngestFiles.words(71, 60), 70);
    String sha = sha(before);
    try (IngestJournal previous = IngestJournal.open(data.resolve("journal"))) { // a run killed mid-ingest
      var a = Files.readAttributes(before, java.nio.file.attribute.BasicFileAttributes.class);
      assertEquals(Action.INGEST, previous.hashed(before, sha, a.size(), IngestJournal.mtime(a.lastModifiedTime())).action());
      previous.reserve(sha, 8);
      previous.sync();
    }
    Path after = Files.move(before, folder.resolve("moved.pdf"));
    try (IngestRig rig = new IngestRig(data)) {
      IngestSummary summary = rig.ingest(folder);

      assertEquals(1, summary.done(), summary.toString());
      assertEquals(List.of(real(after)), rig.journal.content(sha).orElseThrow().paths());
      rig.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_restart_resumes_nothing_when_everything_was_committed() throws Exception {
    IngestFiles.text(folder.resolve("a.txt"), IngestFiles.words(40, 30));
    IngestFiles.image(folder.resolve("b.png"), "png", 32, 32, 41);
    try (IngestRig rig = new IngestRig(data)) {
      rig.ingest(folder);
    }
    try (IngestRig again = new IngestRig(data)) {
      again.ingest(folder);
      assertEquals(0, again.embedded(), "an unchanged folder is never embedded again");
      again.checkExactlyOnce(folder);
    }
  }

  @Test
  void a_single_file_can_be_ingested_by_name() throws Exception {
    Path file = IngestFiles.text(folder.resolve("single.txt"), "the lone axolotl.");
    IngestFiles.text(folder.resolve("other.txt"), "not named.");
    try (IngestRig rig = new IngestRig(data)) {
      IngestSummary s = rig.ingest(file);
      assertEquals(1, s.files());
      assertEquals(1, s.done());
      assertEquals(1, rig.journal.status().files(), "only the named file");
      assertNotNull(rig.textIndex.keywordSearch("axolotl", 1, Filter.ALL).getFirst());
      assertNull(rig.ingester.status().eta());
    }
  }

  @Test
  void a_watched_folder_picks_up_a_new_file_and_a_deletion() throws Exception {
    IngestFiles.text(folder.resolve("first.txt"), "the first walrus.");
    IngestConfig config = IngestRig.config(data).withSettleTime(java.time.Duration.ofMillis(50));
    try (IngestRig rig = new IngestRig(data, config, Extractors.standardList(), true)) {
      rig.ingester.watch(List.of(folder));
      assertTrue(rig.ingester.awaitScan(1, java.time.Duration.ofDays(1)));
      assertEquals(1, rig.textIndex.keywordSearch("walrus", 5, Filter.ALL).size());

      Path second = IngestFiles.text(folder.resolve("second.txt"), "the second walrus.");
      assertTrue(rig.ingester.awaitScan(rig.ingester.rescan(), java.time.Duration.ofDays(1)));
      assertEquals(2, rig.textIndex.keywordSearch("walrus", 5, Filter.ALL).size());

      Files.delete(second);
      assertTrue(rig.ingester.awaitScan(rig.ingester.rescan(), java.time.Duration.ofDays(1)));
      assertEquals(1, rig.textIndex.keywordSearch("walrus", 5, Filter.ALL).size());
      rig.checkExactlyOnce(folder);
    }
  }
}
