package dev.loupe.indexer.extract.pdf;

import static dev.loupe.indexer.extract.Extraction.extract;
import static dev.loupe.indexer.extract.Extraction.fails;
import static dev.loupe.indexer.extract.Extraction.failsLate;
import static dev.loupe.indexer.extract.Extraction.limits;
import static dev.loupe.indexer.extract.Extraction.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.TestData;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.Extracted.Kind;
import dev.loupe.indexer.extract.Extracted.Text;
import dev.loupe.indexer.extract.Extracted.Visual;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PdfExtractorTest {

  @TempDir Path dir;
  private final PdfExtractor pdf = new PdfExtractor();

  private static final String PAGE_1 = "Loupe indexes the watch folder.\nIt keeps going after a crash.\n\nA second paragraph on page one.";
  private static final String PAGE_2 = "";
  private static final String PAGE_3 = "Page three talks about lighthouses.";

  private Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private Path threePages() throws IOException {
    return write("three.pdf", PdfFixtures.pdf(List.of(PdfFixtures.Page.text(PAGE_1), PdfFixtures.Page.text(PAGE_2),
        PdfFixtures.Page.text(PAGE_3)), List.of(), "Field notes", "Ada Lovelace"));
  }

  @Test
  void accepts_pdfs_only() {
    assertTrue(pdf.accepts("application/pdf"));
    assertTrue(!pdf.accepts("application/postscript") && !pdf.accepts("image/png") && !pdf.accepts("text/plain"));
    assertEquals("pdf", pdf.name());
  }

  @Test
  void gives_the_text_of_each_page_with_its_page_number_and_offset() throws Exception {
    List<Text> texts = only(extract(pdf, threePages()), Text.class);

    assertEquals(2, texts.size(), "the empty page 2 gives no text: " + texts);
    assertEquals(1, texts.get(0).page());
    assertEquals(0, texts.get(0).offset());
    assertEquals("Loupe indexes the watch folder.\nIt keeps going after a crash.\n\nA second paragraph on page one.",
        texts.get(0).text(), "lines kept, paragraphs separated by a blank line");
    assertEquals(3, texts.get(1).page());
    assertEquals(texts.get(0).text().length(), texts.get(1).offset(), "offset = characters of the pages before");
    assertEquals(PAGE_3, texts.get(1).text());
  }

  @Test
  void gives_metadata_first_then_each_page_in_order() throws Exception {
    List<Extracted> pieces = extract(pdf, threePages());

    Extracted.Metadata metadata = assertInstanceOf(Extracted.Metadata.class, pieces.get(0));
    assertEquals("Field notes", metadata.fields().get("title"));
    assertEquals("Ada Lovelace", metadata.fields().get("author"));
    assertEquals("2024-03-05T10:30Z", metadata.fields().get("created"));
    assertEquals("3", metadata.fields().get("pages"));
    // Streaming order: each page's pieces before the next page's.
    List<String> order = pieces.stream().skip(1).map(p -> switch (p) {
      case Text t -> "text" + t.page();
      case Visual v -> v.kind().type + v.page();
      case Extracted.Metadata m -> "metadata";
    }).toList();
    assertEquals(List.of("text1", "page1", "page2", "text3", "page3"), order);
  }

  @Test
  void renders_each_page_at_the_configured_dpi() throws Exception {
    List<Visual> renders = only(extract(pdf, threePages(), limits().renderDpi(36).build()), Visual.class);

    assertEquals(3, renders.size());
    for (int i = 0; i < 3; i++) {
      Visual v = renders.get(i);
      assertEquals(Kind.PAGE_RENDER, v.kind());
      assertEquals(i + 1, v.page());
      assertEquals(-1, v.timestampMs());
      assertEquals(306, v.pixels().width(), "Letter is 612 points wide: 306 pixels at 36 dpi");
      assertEquals(396, v.pixels().height());
    }
    RgbImage first = renders.get(0).pixels();
    assertEquals(255, first.sample(2, 2, 0), "the margin is white");
    assertTrue(darkPixels(first) > 50, "the text is drawn");
  }

  @Test
  void renders_within_the_pixel_limit_keeping_the_page_shape() throws Exception {
    List<Visual> renders = only(extract(pdf, threePages(), limits().renderDpi(300).maxPixels(20_000).build()), Visual.class);

    for (Visual v : renders) {
      long pixels = (long) v.pixels().width() * v.pixels().height();
      assertTrue(pixels <= 20_000, "render of " + v.pixels().width() + "x" + v.pixels().height());
      assertTrue(pixels > 19_000, "scaled down no more than needed: " + pixels);
      assertEquals(792.0 / 612.0, (double) v.pixels().height() / v.pixels().width(), 0.02);
    }
  }

  @Test
  void extracts_embedded_images_once_each_with_their_page_and_skips_small_ones() throws Exception {
    BufferedImage a = PdfFixtures.quadrants(100, 80, 1), b = PdfFixtures.quadrants(120, 90, 2), tiny = PdfFixtures.quadrants(6, 6, 3);
    Path file = write("images.pdf", PdfFixtures.pdf(List.of(
        new PdfFixtures.Page("Page one has a picture.", List.of(0, 0, 2)),
        new PdfFixtures.Page("Page two reuses it and adds another.", List.of(0, 1))), List.of(a, b, tiny), null, null));

    List<Visual> embedded = only(extract(pdf, file), Visual.class).stream().filter(v -> v.kind() == Kind.EMBEDDED_IMAGE).toList();

    assertEquals(2, embedded.size(), "image a is drawn three times on two pages, the 6x6 one is under 64x64");
    assertEquals(1, embedded.get(0).page());
    assertArrayEquals(ImageDecoder.toRgb(a), embedded.get(0).pixels());
    assertEquals(2, embedded.get(1).page());
    assertArrayEquals(ImageDecoder.toRgb(b), embedded.get(1).pixels());
  }

  @Test
  void the_minimum_embedded_image_size_is_configurable() throws Exception {
    BufferedImage tiny = PdfFixtures.quadrants(6, 6, 3);
    Path file = write("tiny.pdf", PdfFixtures.pdf(List.of(new PdfFixtures.Page("Icon.", List.of(0))), List.of(tiny), null, null));

    List<Visual> embedded = only(extract(pdf, file, limits().minEmbeddedImagePixels(36).build()), Visual.class).stream()
        .filter(v -> v.kind() == Kind.EMBEDDED_IMAGE).toList();

    assertEquals(1, embedded.size());
    assertArrayEquals(ImageDecoder.toRgb(tiny), embedded.get(0).pixels());
  }

  @Test
  void an_embedded_image_over_the_pixel_limit_fails_the_file() throws Exception {
    Path file = write("bomb.pdf", PdfFixtures.pdf(List.of(new PdfFixtures.Page("Big picture.", List.of(0))),
        List.of(PdfFixtures.quadrants(300, 200, 4)), null, null));

    failsLate(Reason.OVER_LIMIT, pdf, file, limits().maxPixels(50_000).build(), new java.util.ArrayList<>(),
        "page 1", "300x200 = 60000 pixels", "limit of 50000 pixels (maxPixels)");
  }

  @Test
  void a_pdf_with_a_user_password_fails_as_encrypted() throws Exception {
    byte[] plain = PdfFixtures.pdf(List.of(PdfFixtures.Page.text("Secret.")), List.of(), null, null);
    Path file = write("locked.pdf", PdfFixtures.encrypted(plain, "owner-pw", "user-pw"));

    fails(Reason.ENCRYPTED, pdf, file, ExtractionLimits.defaults(), "password");
  }

  @Test
  void a_pdf_with_only_an_owner_password_is_read() throws Exception {
    byte[] plain = PdfFixtures.pdf(List.of(PdfFixtures.Page.text("Not so secret.")), List.of(), null, null);
    Path file = write("owner-only.pdf", PdfFixtures.encrypted(plain, "owner-pw", ""));

    List<Text> texts = only(extract(pdf, file), Text.class);

    assertEquals("Not so secret.", texts.get(0).text());
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.1, 0.5, 0.9, 0.99})
  void a_truncated_pdf_fails_as_corrupt(double kept) throws Exception {
    byte[] whole = PdfFixtures.pdf(List.of(PdfFixtures.Page.text(PAGE_1), PdfFixtures.Page.text(PAGE_3)),
        List.of(PdfFixtures.quadrants(100, 100, 5)), "t", "a");
    Path file = write("cut.pdf", Arrays.copyOf(whole, (int) (whole.length * kept)));

    fails(Reason.CORRUPT, pdf, file, ExtractionLimits.defaults(), "truncated");
  }

  @Test
  void a_file_that_is_no_pdf_fails_as_corrupt() throws Exception {
    byte[] junk = new byte[4000];
    new java.util.Random(42).nextBytes(junk);
    byte[] head = "%PDF-1.7\n".getBytes(StandardCharsets.US_ASCII), tail = "\n%%EOF\n".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, junk, 0, head.length);
    System.arraycopy(tail, 0, junk, junk.length - tail.length, tail.length);
    Path file = write("junk.pdf", junk);

    fails(Reason.CORRUPT, pdf, file, ExtractionLimits.defaults());
  }

  @Test
  void an_empty_file_fails_as_corrupt() throws Exception {
    fails(Reason.CORRUPT, pdf, write("empty.pdf", new byte[0]), ExtractionLimits.defaults(), "empty");
  }

  @Test
  void more_pages_than_the_limit_fail_before_any_page_is_read() throws Exception {
    fails(Reason.OVER_LIMIT, pdf, threePages(), limits().maxPdfPages(2).build(), "3 pages", "limit of 2 pages", "maxPdfPages");
  }

  @Test
  void a_file_over_the_size_limit_fails_before_it_is_opened() throws Exception {
    Path file = threePages();

    fails(Reason.OVER_LIMIT, pdf, file, limits().maxFileBytes(100).build(), Files.size(file) + " bytes", "limit of 100 bytes",
        "maxFileBytes");
  }

  @Test
  void a_file_that_takes_longer_than_the_time_limit_fails() throws Exception {
    // A budget of one nanosecond is spent before the document is loaded; what the worker thread
    // handed on before the caller gave up may vary, nothing comes after.
    failsLate(Reason.OVER_LIMIT, pdf, threePages(), limits().maxTimePerFile(Duration.ofNanos(1)).build(),
        new java.util.ArrayList<>(), "took longer than the limit of 1 ns per file (maxTimePerFile)");
  }

  @Test
  void a_missing_file_is_an_io_error() {
    org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.NoSuchFileException.class,
        () -> extract(pdf, dir.resolve("absent.pdf")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"PDFBOX-3110-poems-beads.pdf", "data-000001.pdf"})
  void the_shared_samples_give_the_text_pdfbox_expects(String name) throws Exception {
    Path file = TestData.shared("pdfs/" + name);
    String expected = Files.readString(file.resolveSibling(name + ".txt"), StandardCharsets.UTF_8);

    List<Extracted> pieces = extract(pdf, file);
    StringBuilder actual = new StringBuilder();
    for (Text t : only(pieces, Text.class)) {
      assertEquals(actual.length(), t.offset());
      actual.append(t.text());
    }

    // The expected text separates pages and beads with its own white space: compare without any.
    assertEquals(withoutWhitespace(expected), withoutWhitespace(actual.toString()));
    int pages = Integer.parseInt(only(pieces, Extracted.Metadata.class).get(0).fields().get("pages"));
    assertEquals(pages, only(pieces, Visual.class).stream().filter(v -> v.kind() == Kind.PAGE_RENDER).count());
  }

  private static String withoutWhitespace(String s) {
    return s.replace("\uFEFF", "").replaceAll("\\s+", "");
  }

  private static int darkPixels(RgbImage image) {
    int n = 0;
    for (int y = 0; y < image.height(); y++) {
      for (int x = 0; x < image.width(); x++) {
        if (image.sample(x, y, 0) < 128) {
          n++;
        }
      }
    }
    return n;
  }

  private static void assertArrayEquals(RgbImage expected, RgbImage actual) {
    assertEquals(expected.width() + "x" + expected.height(), actual.width() + "x" + actual.height());
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected.rgb(), actual.rgb());
  }

  @Test
  void the_render_scale_keeps_pages_within_the_pixel_limit() {
    assertEquals(1f, PdfExtractor.renderScale(612, 792, 72, Long.MAX_VALUE));
    assertEquals(2f, PdfExtractor.renderScale(612, 792, 144, Long.MAX_VALUE));
    float s = PdfExtractor.renderScale(14_400, 14_400, 72, 1_000_000);
    assertTrue(Math.floor(14_400 * s) * Math.floor(14_400 * s) <= 1_000_000, "scale " + s);
    assertTrue(PdfExtractor.renderScale(0, 0, 72, 10) > 0, "a degenerate page still renders");
  }
}
