package dev.loupe.indexer.extract.tika;

import dev.loupe.indexer.extract.Deadline;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractor;
import dev.loupe.indexer.extract.MediaTypes;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.tika.exception.EncryptedDocumentException;
import org.apache.tika.exception.TikaException;
import org.apache.tika.exception.ZeroByteFileException;
import org.apache.tika.io.TikaInputStream;
import org.apache.tika.metadata.Message;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.metadata.Office;
import org.apache.tika.metadata.Property;
import org.apache.tika.metadata.TikaCoreProperties;
import org.apache.tika.mime.MediaType;
import org.apache.tika.parser.AutoDetectParser;
import org.apache.tika.parser.ParseContext;
import org.apache.tika.sax.BodyContentHandler;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Reads office documents (Word, Excel, PowerPoint, OpenDocument, RTF, EPUB), HTML, e-mail and
 * text of every kind (plain, Markdown, CSV, XML, JSON, source code) with Apache Tika's
 * {@link AutoDetectParser} in its default configuration.
 *
 * <p>Text arrives as {@link Extracted.Text} sections as the parser goes (see
 * {@link SectionHandler}): page 0 for unpaginated formats, the slide number for presentations;
 * paragraphs are separated by blank lines. Embedded documents (an e-mail's attachments, a sheet
 * inside a document) are read too, their text following their parent's. One
 * {@link Extracted.Metadata} comes last, once the parser has seen the whole file: {@code title},
 * {@code author}, {@code subject}, {@code keywords}, {@code created}, {@code modified} (ISO-8601),
 * {@code from}, {@code to}, {@code cc} for e-mails, and the {@code content_type} Tika parsed.
 *
 * <p>Types: PDFs, images, audio and video never come here ({@link #accepts} refuses them, even
 * where Tika has a parser), nor do archives; an encrypted office file is
 * {@code application/x-tika-ooxml-protected} and is accepted, so that it fails as
 * {@code ENCRYPTED} rather than as unsupported.
 *
 * <p>Failures: a password-protected document is {@code ENCRYPTED}; what Tika cannot parse is
 * {@code CORRUPT} with Tika's message; more characters of text than
 * {@link ExtractionLimits#maxFileBytes()} (a zip bomb) or a parse longer than
 * {@link ExtractionLimits#maxTimePerFile()} is {@code OVER_LIMIT}. An empty file gives no text.
 *
 * <p>Thread-safe: Tika's parser is shared, and each call has its own handler and context. The
 * first instance loads Tika's configuration (about a second).
 */
public final class TikaExtractor implements Extractor {

  /** Families Tika reads as documents, besides {@code text/*}, {@code message/*} and what descends from {@code text/plain}. */
  private static final List<String> DOCUMENT_TYPE_PREFIXES = List.of(
      "application/msword",
      "application/rtf",
      "application/vnd.ms-word",
      "application/vnd.ms-excel",
      "application/vnd.ms-powerpoint",
      "application/vnd.ms-outlook",
      "application/vnd.openxmlformats-officedocument.",
      "application/vnd.oasis.opendocument.",
      "application/x-tika-ooxml",   // OOXML Tika could not place; -protected: encrypted OOXML
      "application/x-tika-msoffice", // OLE2 Tika could not place
      "application/epub+zip",
      "application/xhtml+xml",
      "application/vnd.apple.pages",
      "application/vnd.apple.keynote",
      "application/vnd.apple.numbers",
      "application/vnd.wordperfect",
      "application/mbox");

  /** Top-level types that other extractors own, or that hold no document text. */
  private static final Set<String> REFUSED_TOP_LEVEL = Set.of("image", "video", "audio", "font", "model", "multipart");

  private final AutoDetectParser parser;
  private final Set<MediaType> parsable;

  public TikaExtractor() {
    this.parser = new AutoDetectParser(MediaTypes.tika());
    this.parsable = parser.getSupportedTypes(new ParseContext());
  }

  @Override
  public String name() {
    return "tika";
  }

  @Override
  public boolean accepts(String mediaType) {
    MediaType type = MediaType.parse(mediaType);
    if (type == null || REFUSED_TOP_LEVEL.contains(type.getType())) {
      return false;
    }
    String base = type.getBaseType().toString();
    if (base.equals("application/pdf")) {
      return false;
    }
    boolean document = type.getType().equals("text") || type.getType().equals("message")
        || MediaTypes.isA(base, "text/plain") || DOCUMENT_TYPE_PREFIXES.stream().anyMatch(base::startsWith);
    return document && hasParser(base);
  }

  /** Whether Tika has a parser for {@code type} or one of its supertypes (below {@code application/octet-stream}). */
  private boolean hasParser(String type) {
    for (String t = type; t != null && !t.equals(MediaTypes.OCTET_STREAM); t = MediaTypes.supertype(t)) {
      if (parsable.contains(MediaType.parse(t))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
    Deadline.checkSize(file, limits);
    Deadline.run(file, limits, sink, (deadline, out) -> parse(file, limits, deadline, out));
  }

  private void parse(Path file, ExtractionLimits limits, Deadline deadline, Consumer<Extracted> out)
      throws IOException, ExtractionException {
    Metadata metadata = new Metadata();
    if (file.getFileName() != null) {
      metadata.set(TikaCoreProperties.RESOURCE_NAME_KEY, file.getFileName().toString());
    }
    SectionHandler sections = new SectionHandler(file.toString(), out, limits.maxFileBytes(), deadline);
    // Tika sets the detected type before the first event: choose the white-space rule then.
    DefaultHandler body = new BodyContentHandler(new TypeAware(sections, metadata));
    try (TikaInputStream in = TikaInputStream.get(file, metadata)) {
      parser.parse(in, body, metadata, new ParseContext());
    } catch (ZeroByteFileException e) {
      // An empty file: no text, which is not an error.
    } catch (IOException | SAXException | TikaException | RuntimeException e) {
      if (sections.stop() != null) {
        throw sections.stop(); // the handler stopped the parse: time or size limit
      }
      if (e instanceof FileSystemException f) {
        throw f; // missing, unreadable: not the content's fault
      }
      if (e instanceof EncryptedDocumentException) {
        throw new ExtractionException(Reason.ENCRYPTED, file + " is a password-protected " + type(metadata)
            + " and cannot be read without its password; drop a copy saved without the password", e);
      }
      throw new ExtractionException(Reason.CORRUPT, file + " could not be parsed as " + type(metadata) + ": " + reasons(e), e);
    }
    if (sections.stop() != null) {
      throw sections.stop(); // stopped inside an embedded document, whose errors Tika records rather than throws
    }
    sections.finish();
    out.accept(new Extracted.Metadata(fields(metadata)));
  }

  private static String type(Metadata metadata) {
    String t = metadata.get(Metadata.CONTENT_TYPE);
    MediaType m = t == null ? null : MediaType.parse(t);
    return m == null ? "a document" : m.getBaseType().toString();
  }

  private static String reasons(Throwable e) {
    StringBuilder s = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
      String m = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
      if (s.indexOf(m) < 0) {
        s.append(": ").append(m);
      }
    }
    return s.toString();
  }

  private static Map<String, String> fields(Metadata metadata) {
    Map<String, String> m = new LinkedHashMap<>();
    put(m, "title", metadata, TikaCoreProperties.TITLE);
    put(m, "author", metadata, TikaCoreProperties.CREATOR);
    put(m, "subject", metadata, TikaCoreProperties.SUBJECT);
    put(m, "keywords", metadata, Office.KEYWORDS);
    put(m, "created", metadata, TikaCoreProperties.CREATED);
    put(m, "modified", metadata, TikaCoreProperties.MODIFIED);
    put(m, "from", metadata, Message.MESSAGE_FROM);
    put(m, "to", metadata, Message.MESSAGE_TO);
    put(m, "cc", metadata, Message.MESSAGE_CC);
    String type = metadata.get(Metadata.CONTENT_TYPE);
    if (type != null && MediaType.parse(type) != null) {
      m.put("content_type", MediaType.parse(type).getBaseType().toString());
    }
    return m;
  }

  private static void put(Map<String, String> m, String key, Metadata metadata, Property property) {
    put(m, key, metadata, property.getName());
  }

  private static void put(Map<String, String> m, String key, Metadata metadata, String name) {
    String[] values = metadata.getValues(name);
    StringBuilder joined = new StringBuilder();
    for (String v : values) {
      String s = v == null ? "" : v.strip();
      if (!s.isEmpty() && joined.indexOf(s) < 0) {
        joined.append(joined.isEmpty() ? "" : "; ").append(s);
      }
    }
    if (!joined.isEmpty()) {
      m.put(key, joined.toString());
    }
  }

  /** Passes events on to the sections, telling them on the first event whether the document is markup. */
  private static final class TypeAware extends org.apache.tika.sax.ContentHandlerDecorator {
    private final SectionHandler sections;
    private final Metadata metadata;
    private boolean typed;

    TypeAware(SectionHandler sections, Metadata metadata) {
      super(sections);
      this.sections = sections;
      this.metadata = metadata;
    }

    private void type() {
      if (!typed) {
        typed = true;
        String t = metadata.get(Metadata.CONTENT_TYPE);
        MediaType m = t == null ? null : MediaType.parse(t);
        String base = m == null ? "" : m.getBaseType().toString();
        sections.collapseWhitespace(MediaTypes.isA(base, "text/html") || MediaTypes.isA(base, "application/xhtml+xml")
            || MediaTypes.isA(base, "application/xml"));
      }
    }

    @Override
    public void startElement(String uri, String localName, String name, org.xml.sax.Attributes atts) throws SAXException {
      type();
      super.startElement(uri, localName, name, atts);
    }

    @Override
    public void characters(char[] ch, int start, int length) throws SAXException {
      type();
      super.characters(ch, start, length);
    }
  }
}
