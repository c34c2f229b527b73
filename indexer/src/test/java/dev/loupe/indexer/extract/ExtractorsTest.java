package dev.loupe.indexer.extract;

import static dev.loupe.indexer.extract.Extraction.limits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.extract.pdf.PdfFixtures;
import dev.loupe.indexer.extract.tika.OfficeFixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtractorsTest {

  @TempDir static Path dir;
  private static Extractors extractors;
  private static Path pdf, docx, png, txt, html, eml, xyz, bin, mp4;

  /** An MP4 file's first box: {@code ftyp isom}. */
  private static final byte[] MP4_START = HexFormat.of().parseHex("000000186674797069736f6d0000020069736f6d6d703431");

  @BeforeAll
  static void files() throws IOException {
    extractors = Extractors.standard();
    pdf = write("notes.pdf", PdfFixtures.pdf(List.of(PdfFixtures.Page.text("Tide tables for May."),
        new PdfFixtures.Page("A chart.", List.of(0))), List.of(PdfFixtures.quadrants(80, 80, 9)), "Tides", "Harbour office"));
    docx = write("letter.docx", OfficeFixtures.docx("Letter", "Ada", List.of("Dear Charles,", "The engine works."), null));
    png = write("dot.png", png());
    txt = write("readme.txt", "Plain words.\n\nMore words.".getBytes(StandardCharsets.UTF_8));
    html = write("page.htm", "<html><body><p>Hello <b>web</b>.</p></body></html>".getBytes(StandardCharsets.UTF_8));
    eml = write("mail.eml", "From: a@example.com\r\nTo: b@example.com\r\nSubject: Hi\r\n\r\nSee you.\r\n".getBytes(StandardCharsets.UTF_8));
    byte[] random = new byte[4096];
    new Random(99).nextBytes(random);
    xyz = write("random.xyz", random);
    bin = write("random.bin", random);
    mp4 = write("clip.mp4", Arrays.copyOf(MP4_START, 2048));
  }

  private static Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private static byte[] png() throws IOException {
    BufferedImage image = PdfFixtures.quadrants(64, 48, 4);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  @Test
  void detects_types_from_content_and_name() throws IOException {
    assertEquals("application/pdf", MediaTypes.detect(pdf));
    assertEquals("application/vnd.openxmlformats-officedocument.wordprocessingml.document", MediaTypes.detect(docx));
    assertEquals("image/png", MediaTypes.detect(png));
    assertEquals("text/plain", MediaTypes.detect(txt));
    assertEquals("text/html", MediaTypes.detect(html));
    assertEquals("message/rfc822", MediaTypes.detect(eml));
    assertEquals("video/mp4", MediaTypes.detect(mp4));
    assertEquals(MediaTypes.OCTET_STREAM, MediaTypes.detect(bin));
  }

  @Test
  void content_wins_over_a_misleading_name() throws Exception {
    Path disguised = write("really-a-png.txt", png());

    assertEquals("image/png", MediaTypes.detect(disguised));
    assertEquals("image", extractors.choose(disguised, ExtractionLimits.defaults()).extractor().name());
  }

  @Test
  void routes_each_family_to_its_extractor() throws Exception {
    Map<Path, String> expected = Map.of(pdf, "pdf", docx, "tika", png, "image", txt, "tika", html, "tika", eml, "tika");
    for (var e : expected.entrySet()) {
      Extractors.Choice choice = extractors.choose(e.getKey(), ExtractionLimits.defaults());
      assertEquals(e.getValue(), choice.extractor().name(), e.getKey() + " of type " + choice.mediaType());
    }
    assertEquals(List.of("pdf", "image", "video", "tika"), extractors.extractors().stream().map(Extractor::name).toList());
  }

  @Test
  void a_type_no_extractor_takes_is_unsupported_naming_the_type() {
    ExtractionException e = assertThrows(ExtractionException.class, () -> extractors.extract(xyz, ExtractionLimits.defaults(), p -> {}));
    assertEquals(ExtractionException.Reason.UNSUPPORTED, e.reason());
    assertTrue(e.getMessage().contains(xyz.toString()) && e.getMessage().contains("chemical/x-xyz"), e.getMessage());

    ExtractionException unknown = assertThrows(ExtractionException.class, () -> extractors.choose(bin, ExtractionLimits.defaults()));
    assertEquals(ExtractionException.Reason.UNSUPPORTED, unknown.reason());
    assertTrue(unknown.getMessage().contains("application/octet-stream"), unknown.getMessage());
  }

  @Test
  void videos_go_to_the_video_extractor() throws Exception {
    assertEquals("video", extractors.choose(mp4, ExtractionLimits.defaults()).extractor().name());
    assertEquals("pdf", extractors.choose(pdf, ExtractionLimits.defaults()).extractor().name());
  }

  @Test
  void the_size_limit_is_checked_before_the_type_is_detected() {
    ExtractionException e = assertThrows(ExtractionException.class, () -> extractors.choose(xyz, limits().maxFileBytes(100).build()));

    assertEquals(ExtractionException.Reason.OVER_LIMIT, e.reason());
    assertTrue(e.getMessage().contains("4096 bytes") && e.getMessage().contains("maxFileBytes"), e.getMessage());
  }

  @Test
  void rejects_an_empty_list_and_duplicate_names() {
    assertThrows(IllegalArgumentException.class, () -> new Extractors(List.of()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Extractors(List.of(new NamedExtractor("x", "a/"), new NamedExtractor("x", "b/"))));
    assertTrue(e.getMessage().contains("'x'"), e.getMessage());
  }

  @Test
  void extracts_different_files_concurrently_with_the_same_results_as_one_at_a_time() throws Exception {
    List<Path> files = List.of(pdf, docx, png, txt, html, eml);
    Map<Path, List<String>> sequential = new TreeMap<>();
    for (Path f : files) {
      sequential.put(f, summary(f));
    }

    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      List<Path> order = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        for (Path f : files) {
          order.add(f);
          futures.add(pool.submit(() -> summary(f)));
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        assertEquals(sequential.get(order.get(i)), futures.get(i).get(), order.get(i).toString());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Every piece of {@code file}, as comparable text (pixels by digest). */
  private static List<String> summary(Path file) throws Exception {
    List<String> out = new ArrayList<>();
    Consumer<Extracted> sink = p -> out.add(switch (p) {
      case Extracted.Text t -> "text p" + t.page() + " @" + t.offset() + " " + t.text();
      case Extracted.Visual v -> v.kind() + " p" + v.page() + " " + v.pixels().width() + "x" + v.pixels().height() + " "
          + Arrays.hashCode(v.pixels().rgb()) + " " + new TreeMap<>(v.metadata());
      case Extracted.Metadata m -> "metadata " + new TreeMap<>(m.fields());
    });
    extractors.extract(file, ExtractionLimits.defaults(), sink);
    return out;
  }

  /** An extractor that only has a name and a type prefix: stands in for one another package provides. */
  private record NamedExtractor(String name, String prefix) implements Extractor {
    @Override
    public boolean accepts(String mediaType) {
      return mediaType.startsWith(prefix);
    }

    @Override
    public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) {
      throw new UnsupportedOperationException("routing tests do not extract");
    }
  }
}
