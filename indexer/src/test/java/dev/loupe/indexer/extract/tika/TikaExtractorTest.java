package dev.loupe.indexer.extract.tika;

import static dev.loupe.indexer.extract.Extraction.extract;
import static dev.loupe.indexer.extract.Extraction.fails;
import static dev.loupe.indexer.extract.Extraction.failsLate;
import static dev.loupe.indexer.extract.Extraction.limits;
import static dev.loupe.indexer.extract.Extraction.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.Extracted.Text;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TikaExtractorTest {

  @TempDir Path dir;
  private static TikaExtractor tika;

  @BeforeAll
  static void loadTika() {
    tika = new TikaExtractor(); // loads Tika's configuration once for the class
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private Path write(String name, String text) throws IOException {
    return write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  private static String allText(List<Extracted> pieces) {
    StringBuilder s = new StringBuilder();
    for (Text t : only(pieces, Text.class)) {
      assertEquals(s.length(), t.offset(), "offset = characters of the sections before");
      s.append(t.text());
    }
    return s.toString();
  }

  private static Map<String, String> metadata(List<Extracted> pieces) {
    List<Extracted.Metadata> m = only(pieces, Extracted.Metadata.class);
    assertEquals(1, m.size(), "one metadata piece");
    assertInstanceOf(Extracted.Metadata.class, pieces.getLast(), "metadata comes last, once the parser is done");
    return m.get(0).fields();
  }

  @ParameterizedTest
  @ValueSource(strings = {"text/plain", "text/markdown", "text/csv", "text/html", "application/xhtml+xml", "message/rfc822",
      "application/rtf", "application/json", "application/xml", "application/msword", "application/vnd.ms-excel",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
      "application/vnd.oasis.opendocument.text", "application/x-tika-ooxml-protected", "application/epub+zip"})
  void accepts_documents_and_text(String type) {
    assertTrue(tika.accepts(type), type);
  }

  @ParameterizedTest
  @ValueSource(strings = {"application/pdf", "image/png", "image/jpeg", "image/svg+xml", "video/mp4", "audio/mpeg",
      "application/zip", "application/x-tar", "application/gzip", "application/x-7z-compressed", "application/octet-stream",
      "application/x-executable", "chemical/x-xyz", "not a type"})
  void refuses_pdfs_images_media_archives_and_unknown_types(String type) {
    assertFalse(tika.accepts(type), type);
  }

  @Test
  void reads_a_docx_with_paragraphs_a_table_and_its_properties() throws Exception {
    Path file = write("report.docx", OfficeFixtures.docx("Quarterly report", "Grace Hopper",
        List.of("Revenue grew in every region.", "The lighthouse project starts in May."),
        new String[][] {{"region", "growth"}, {"north", "12%"}}));

    List<Extracted> pieces = extract(tika, file);

    assertEquals("Revenue grew in every region.\n\nThe lighthouse project starts in May.\n\nregion\tgrowth\nnorth\t12%",
        allText(pieces));
    assertEquals(0, only(pieces, Text.class).get(0).page(), "a word-processing document has no pages");
    Map<String, String> m = metadata(pieces);
    assertEquals("Quarterly report", m.get("title"));
    assertEquals("Grace Hopper", m.get("author"));
    assertEquals("application/vnd.openxmlformats-officedocument.wordprocessingml.document", m.get("content_type"));
    assertTrue(m.get("created").matches("\\d{4}-\\d\\d-\\d\\dT.*"), m.get("created"));
  }

  @Test
  void reads_every_sheet_of_an_xlsx_with_cells_separated_by_tabs() throws Exception {
    Path file = write("prices.xlsx", OfficeFixtures.xlsx(List.of("Fruit", "Tools"),
        List.of(new String[][] {{"apple", "1.50"}, {"pear", "2.10"}}, new String[][] {{"hammer", "12"}})));

    String text = allText(extract(tika, file));

    assertEquals("Fruit\n\napple\t1.50\npear\t2.10\n\nTools\n\nhammer\t12", text);
  }

  @Test
  void numbers_the_slides_of_a_pptx_as_pages() throws Exception {
    Path file = write("deck.pptx", OfficeFixtures.pptx(List.of("Welcome to Loupe", "Search your files", "Questions?")));

    List<Text> texts = only(extract(tika, file), Text.class);

    assertEquals(3, texts.size(), texts::toString);
    assertEquals(List.of(1, 2, 3), texts.stream().map(Text::page).toList());
    assertEquals(List.of("Welcome to Loupe", "Search your files", "Questions?"), texts.stream().map(Text::text).toList());
    assertEquals(List.of(0L, 16L, 33L), texts.stream().map(Text::offset).toList());
  }

  @Test
  void reads_an_opendocument_text() throws Exception {
    // The smallest ODT: the mimetype entry first, then the content.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      byte[] mimetype = "application/vnd.oasis.opendocument.text".getBytes(StandardCharsets.US_ASCII);
      ZipEntry first = new ZipEntry("mimetype");
      first.setMethod(ZipEntry.STORED);
      first.setSize(mimetype.length);
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      crc.update(mimetype);
      first.setCrc(crc.getValue());
      zip.putNextEntry(first);
      zip.write(mimetype);
      zip.putNextEntry(new ZipEntry("content.xml"));
      zip.write("""
          <?xml version="1.0" encoding="UTF-8"?>
          <office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
              xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
            <office:body><office:text>
              <text:h text:outline-level="1">Minutes</text:h>
              <text:p>The meeting opened at nine.</text:p>
            </office:text></office:body>
          </office:document-content>
          """.strip().getBytes(StandardCharsets.UTF_8));
    }
    Path file = write("minutes.odt", bytes.toByteArray());

    assertEquals("Minutes\n\nThe meeting opened at nine.", allText(extract(tika, file)));
    assertEquals("application/vnd.oasis.opendocument.text", dev.loupe.indexer.extract.MediaTypes.detect(file));
  }

  @Test
  void reads_html_as_paragraphs_collapsing_white_space_except_in_pre() throws Exception {
    Path file = write("page.html", """
        <html><head><title>Harbour guide</title><style>p { color: red }</style></head>
        <body>
          <h1>The   harbour</h1>
          <p>Boats leave
             every hour.</p>
          <ul><li>north pier</li><li>south pier</li></ul>
          <pre>line 1
          line 2</pre>
          <script>var hidden = 1;</script>
        </body></html>
        """);

    List<Extracted> pieces = extract(tika, file);

    assertEquals("The harbour\n\nBoats leave every hour.\n\nnorth pier\nsouth pier\n\nline 1\n  line 2", allText(pieces));
    assertEquals("Harbour guide", metadata(pieces).get("title"));
  }

  @Test
  void reads_an_email_with_its_headers_and_attachment() throws Exception {
    Path file = write("note.eml", String.join("\r\n",
        "From: Ada Lovelace <ada@example.com>",
        "To: Charles Babbage <charles@example.com>",
        "Subject: The analytical engine",
        "Date: Tue, 5 Mar 2024 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"b1\"",
        "",
        "--b1",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "The engine could compose music.",
        "",
        "Let us meet on Thursday.",
        "--b1",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Disposition: attachment; filename=\"notes.txt\"",
        "",
        "Bernoulli numbers, note G.",
        "--b1--",
        ""));

    List<Extracted> pieces = extract(tika, file);

    String text = allText(pieces);
    assertTrue(text.startsWith("The engine could compose music.\n\nLet us meet on Thursday."), text);
    assertTrue(text.contains("Bernoulli numbers, note G."), "the attachment's text follows: " + text);
    Map<String, String> m = metadata(pieces);
    assertEquals("The analytical engine", m.get("subject"));
    assertTrue(m.get("from").contains("ada@example.com"), m.toString());
    assertTrue(m.get("to").contains("charles@example.com"), m.toString());
    assertEquals("2024-03-05T10:00:00Z", m.get("created"));
    assertEquals("message/rfc822", m.get("content_type"));
  }

  @Test
  void keeps_plain_text_and_markdown_as_written_with_unix_line_breaks() throws Exception {
    String markdown = "# Packing list\r\n\r\n- tent\r\n- *stove*\r\n\r\nLeave at   dawn.\r\n";
    Path md = write("list.md", markdown);
    Path txt = write("list.txt", "first line\rsecond line\n\n\nafter blank lines\n");

    assertEquals("# Packing list\n\n- tent\n- *stove*\n\nLeave at   dawn.", allText(extract(tika, md)));
    assertEquals("first line\nsecond line\n\n\nafter blank lines", allText(extract(tika, txt)));
  }

  @Test
  void reads_csv_and_rtf() throws Exception {
    Path csv = write("table.csv", "name,price\napple,1.5\npear,2\n");
    Path rtf = write("letter.rtf", "{\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\\pard Dear reader,\\par See you soon.\\par}");

    assertEquals("name,price\napple,1.5\npear,2", allText(extract(tika, csv)));
    assertEquals("Dear reader,\n\nSee you soon.", allText(extract(tika, rtf)));
  }

  @Test
  void cuts_long_text_into_sections_at_paragraph_breaks() throws Exception {
    Random random = new Random(7);
    StringBuilder original = new StringBuilder();
    while (original.length() < 5 * SectionHandler.SECTION_CHARS) {
      for (int w = 0, n = 20 + random.nextInt(80); w < n; w++) {
        original.append(w == 0 ? "" : " ").append(Integer.toString(random.nextInt(1 << 20), 36));
      }
      original.append(".\n\n");
    }
    Path file = write("long.txt", original.toString());

    List<Text> texts = only(extract(tika, file), Text.class);

    assertTrue(texts.size() >= 4, "sections: " + texts.size());
    StringBuilder joined = new StringBuilder();
    long offset = 0;
    for (Text t : texts) {
      assertEquals(0, t.page());
      assertEquals(offset, t.offset());
      offset += t.text().length();
      assertTrue(t.text().endsWith("."), "a section ends at a paragraph's end");
      assertTrue(t.text().length() < 2 * SectionHandler.SECTION_CHARS, "section of " + t.text().length());
      joined.append(t.text()).append("\n\n");
    }
    assertEquals(original.toString(), joined.toString());
  }

  @Test
  void an_encrypted_docx_fails_as_encrypted() throws Exception {
    byte[] docx = OfficeFixtures.docx("Secret", "Spy", List.of("Top secret."), null);
    Path file = write("secret.docx", OfficeFixtures.encrypted(docx, "hunter2"));

    fails(Reason.ENCRYPTED, tika, file, ExtractionLimits.defaults(), "password");
  }

  @Test
  void a_docx_with_broken_xml_fails_as_corrupt_with_the_parser_message() throws Exception {
    byte[] docx = OfficeFixtures.docx("Broken", "Nobody", List.of("Fine so far."), null);
    Path file = write("broken.docx", replaceEntry(docx, "word/document.xml", "<w:document><w:body><w:p>unclosed"));

    fails(Reason.CORRUPT, tika, file, ExtractionLimits.defaults(), "could not be parsed as application/vnd.openxmlformats");
  }

  @Test
  void a_truncated_docx_fails_as_corrupt() throws Exception {
    byte[] docx = OfficeFixtures.docx("Cut", "Nobody", List.of("Paragraph one.", "Paragraph two."), null);
    Path file = write("cut.docx", Arrays.copyOf(docx, docx.length / 2));

    fails(Reason.CORRUPT, tika, file, ExtractionLimits.defaults(), "could not be parsed");
  }

  @Test
  void an_empty_text_file_gives_no_text() throws Exception {
    List<Extracted> pieces = extract(tika, write("empty.txt", ""));

    assertEquals(List.of(), only(pieces, Text.class));
    metadata(pieces);
  }

  @Test
  void a_document_yielding_more_characters_than_the_limit_fails() throws Exception {
    // A zip bomb in miniature: 45,000 characters of text compress to a few KB.
    List<String> paragraphs = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      paragraphs.add("The same sentence, repeated to compress well.");
    }
    Path file = write("bomb.docx", OfficeFixtures.docx("Bomb", "Nobody", paragraphs, null));
    long limit = Files.size(file) * 4;

    failsLate(Reason.OVER_LIMIT, tika, file, limits().maxFileBytes(limit).build(), new ArrayList<>(),
        "more than " + limit + " characters", "maxFileBytes");
  }

  @Test
  void the_character_limit_holds_inside_an_attachment_too() throws Exception {
    // Tika records an embedded document's failure and carries on: the stop must survive that.
    List<String> paragraphs = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      paragraphs.add("The same sentence, repeated to compress well.");
    }
    String attachment = java.util.Base64.getMimeEncoder().encodeToString(OfficeFixtures.docx("Bomb", "Nobody", paragraphs, null));
    Path file = write("bomb.eml", String.join("\r\n",
        "From: a@example.com", "To: b@example.com", "Subject: attached", "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"b1\"", "",
        "--b1", "Content-Type: text/plain", "", "See the attachment.",
        "--b1", "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Content-Transfer-Encoding: base64", "Content-Disposition: attachment; filename=\"bomb.docx\"", "", attachment,
        "--b1--", ""));
    long limit = Files.size(file) * 3;

    failsLate(Reason.OVER_LIMIT, tika, file, limits().maxFileBytes(limit).build(), new ArrayList<>(),
        "more than " + limit + " characters");
  }

  @Test
  void a_parse_longer_than_the_time_limit_fails() throws Exception {
    Path file = write("a.txt", "Some text.");

    failsLate(Reason.OVER_LIMIT, tika, file, limits().maxTimePerFile(Duration.ofNanos(1)).build(), new ArrayList<>(),
        "maxTimePerFile");
  }

  @Test
  void a_file_over_the_size_limit_fails_before_it_is_opened() throws Exception {
    Path file = write("a.txt", "Some text that is longer than ten bytes.");

    fails(Reason.OVER_LIMIT, tika, file, limits().maxFileBytes(10).build(), "limit of 10 bytes");
  }

  /** {@code zip} with entry {@code name}'s content replaced by {@code content}. */
  static byte[] replaceEntry(byte[] zip, String name, String content) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip)); ZipOutputStream z = new ZipOutputStream(out)) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        z.putNextEntry(new ZipEntry(e.getName()));
        z.write(e.getName().equals(name) ? content.getBytes(StandardCharsets.UTF_8) : in.readAllBytes());
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }
}
