package dev.loupe.indexer.extract.tika;

import dev.loupe.indexer.extract.Deadline;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import org.xml.sax.Attributes;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Turns the XHTML body Tika emits into {@link Extracted.Text} sections as it arrives, so a large
 * document is never held whole: paragraphs (block elements) are separated by blank lines, list
 * items, table rows and {@code <br>} by a line break, table cells by a tab.
 *
 * <p>A section ends at each page ({@code <div class="page">}, as paginated formats mark them) or
 * slide ({@code <div class="slide-content">}) of the top-level document, which numbers the pages
 * from 1; text before the first page, and all text of unpaginated formats, is page 0. Long
 * unpaginated text is cut into sections of about {@link #SECTION_CHARS} characters at a paragraph
 * break or blank line; a paragraph longer than four sections is cut at a line break or space.
 * Pages inside embedded documents ({@code <div class="package-entry">}, an e-mail's attachments)
 * do not count. Paragraphs inside a table cell are joined by spaces.
 *
 * <p>Offsets count the characters of the sections before: the document's text is the
 * concatenation of its sections.
 *
 * <p>The handler stops the parse (with a {@link Stop}, recording why in {@link #stop()}) when the
 * text grows past its character limit or the deadline passes. Not thread-safe: one per parse.
 */
final class SectionHandler extends DefaultHandler {

  /** Target size of a section of unpaginated text. */
  static final int SECTION_CHARS = 1 << 16;

  private static final Set<String> PARAGRAPH_ELEMENTS = Set.of("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
      "blockquote", "table", "ul", "ol", "dl", "title", "section", "article", "header", "footer", "nav", "aside",
      "address", "figure", "figcaption", "hr", "form", "fieldset", "main", "caption");
  private static final Set<String> LINE_ELEMENTS = Set.of("li", "tr", "dt", "dd", "br", "option");
  private static final Set<String> CELL_ELEMENTS = Set.of("td", "th");

  /** Separators waiting for the next text, weakest first. */
  private static final int NONE = 0, SPACE = 1, CELL = 2, LINE = 3, PARAGRAPH = 4;

  /** Thrown into the parser to stop it; {@link #stop()} says why. */
  static final class Stop extends SAXException {
    Stop(String message) {
      super(message);
    }
  }

  private final String source;
  private final Consumer<Extracted> out;
  private final long maxChars;
  private final Deadline deadline;
  private boolean collapseWhitespace;

  private final StringBuilder buffer = new StringBuilder();
  private int pending = NONE;
  private boolean lastWasCr;
  private boolean lastWasSpace = true;
  private int preDepth;
  /** Open table cells: paragraphs inside a cell are joined by spaces. */
  private int cellDepth;
  /** One entry per open {@code div}: whether it is an embedded document's. */
  private final Deque<Boolean> divs = new ArrayDeque<>();
  private int embeddedDepth;
  private int page;
  private long offset;
  private long chars;
  private ExtractionException stop;

  /**
   * @param source the file, for messages
   * @param out where sections go
   * @param maxChars the most characters of text the document may yield
   * @param deadline checked at every event
   */
  SectionHandler(String source, Consumer<Extracted> out, long maxChars, Deadline deadline) {
    this.source = source;
    this.out = out;
    this.maxChars = maxChars;
    this.deadline = deadline;
  }

  /**
   * Whether runs of white space (new lines included) become one space, as in HTML outside
   * {@code <pre>}; otherwise white space is kept as the parser gives it (plain text, Markdown).
   */
  void collapseWhitespace(boolean collapse) {
    this.collapseWhitespace = collapse;
  }

  /** Why the handler stopped the parse, or null. */
  ExtractionException stop() {
    return stop;
  }

  /** Hands on what is left; call once the parse has ended normally. */
  void finish() {
    flush();
  }

  @Override
  public void startElement(String uri, String localName, String qName, Attributes atts) throws SAXException {
    checkDeadline();
    String name = name(localName, qName);
    if (name.equals("div")) {
      String cls = atts.getValue("class");
      boolean entry = "package-entry".equals(cls);
      divs.push(entry);
      if (entry) {
        embeddedDepth++;
      } else if (embeddedDepth == 0 && ("page".equals(cls) || "slide-content".equals(cls))) {
        flush();
        page++;
      }
    } else if (name.equals("pre")) {
      preDepth++;
    }
    separate(name);
    if (CELL_ELEMENTS.contains(name)) {
      cellDepth++;
    }
  }

  @Override
  public void endElement(String uri, String localName, String qName) throws SAXException {
    checkDeadline();
    String name = name(localName, qName);
    if (name.equals("div") && !divs.isEmpty() && divs.pop()) {
      embeddedDepth--;
    } else if (name.equals("pre") && preDepth > 0) {
      preDepth--;
    }
    if (CELL_ELEMENTS.contains(name)) {
      cellDepth = Math.max(0, cellDepth - 1);
      pending = Math.max(pending, CELL);
    } else {
      separate(name);
    }
  }

  private void separate(String name) {
    if (cellDepth > 0 && (PARAGRAPH_ELEMENTS.contains(name) || LINE_ELEMENTS.contains(name))) {
      pending = Math.max(pending, SPACE); // a cell's paragraphs stay in its column
    } else if (PARAGRAPH_ELEMENTS.contains(name)) {
      pending = PARAGRAPH;
    } else if (LINE_ELEMENTS.contains(name)) {
      pending = Math.max(pending, LINE);
    }
  }

  @Override
  public void characters(char[] ch, int start, int length) throws SAXException {
    checkDeadline();
    for (int i = start, end = start + length; i < end; i++) {
      char c = ch[i];
      if (c == '\n' && lastWasCr) {
        lastWasCr = false; // the \n of a \r\n
        continue;
      }
      lastWasCr = c == '\r';
      if (c == '\r') {
        c = '\n';
      }
      if (collapseWhitespace && preDepth == 0 && Character.isWhitespace(c)) {
        if (!lastWasSpace) {
          append(' ');
        }
        continue;
      }
      append(c);
    }
  }

  @Override
  public void ignorableWhitespace(char[] ch, int start, int length) {
    // Tika's indentation between elements: the element structure already says where breaks go.
  }

  private void append(char c) throws Stop {
    boolean space = c == ' ' || c == '\t' || c == '\n';
    if (space && (pending != NONE || buffer.isEmpty())) {
      return; // the separator about to be written replaces white space at the start of a block or cell
    }
    if (pending != NONE) {
      writeSeparator();
    }
    if (++chars > maxChars) {
      stop = new ExtractionException(ExtractionException.Reason.OVER_LIMIT, source + " yields more than " + maxChars
          + " characters of text, over the limit of " + maxChars + " characters (one per byte of maxFileBytes)");
      throw new Stop(stop.getMessage());
    }
    buffer.append(c);
    lastWasSpace = space;
    if (buffer.length() >= SECTION_CHARS && c == '\n' && endsWith("\n\n")) {
      flush(); // a blank line inside the text (plain text is one paragraph element)
    } else if (buffer.length() >= 4 * SECTION_CHARS) {
      cutAtSpace();
    }
  }

  private void writeSeparator() {
    int separator = pending;
    pending = NONE;
    if (buffer.isEmpty()) {
      return;
    }
    if (separator == PARAGRAPH && buffer.length() >= SECTION_CHARS) {
      flush();
      return;
    }
    if (separator >= LINE) {
      trimTrailing(" \t");
    }
    switch (separator) {
      case SPACE -> buffer.append(lastWasSpace ? "" : " ");
      case CELL -> buffer.append('\t');
      case LINE -> buffer.append(endsWith("\n") ? "" : "\n");
      default -> buffer.append(endsWith("\n\n") ? "" : endsWith("\n") ? "\n" : "\n\n");
    }
    lastWasSpace = true;
  }

  /** A paragraph of more than four sections' worth: cut it at its last line break, else its last space, else where it is. */
  private void cutAtSpace() {
    int cut = buffer.lastIndexOf("\n") + 1;
    for (int i = buffer.length() - 1; cut <= SECTION_CHARS && i >= SECTION_CHARS; i--) {
      if (Character.isWhitespace(buffer.charAt(i))) {
        cut = i + 1;
        break;
      }
    }
    if (cut <= SECTION_CHARS) {
      cut = buffer.length();
    }
    String rest = buffer.substring(cut);
    buffer.setLength(cut);
    flush();
    buffer.append(rest);
  }

  private void flush() {
    pending = NONE;
    String text = buffer.toString().strip();
    buffer.setLength(0);
    lastWasSpace = true;
    if (!text.isEmpty()) {
      out.accept(new Extracted.Text(text, page, offset));
      offset += text.length();
    }
  }

  private void trimTrailing(String chars) {
    int n = buffer.length();
    while (n > 0 && chars.indexOf(buffer.charAt(n - 1)) >= 0) {
      n--;
    }
    buffer.setLength(n);
  }

  private boolean endsWith(String s) {
    int n = buffer.length();
    return n >= s.length() && buffer.substring(n - s.length()).equals(s);
  }

  private void checkDeadline() throws Stop {
    if (stop != null) {
      throw new Stop(stop.getMessage()); // a parser swallowed the first one (embedded documents' errors are recorded, not thrown)
    }
    if (deadline.expired()) {
      stop = deadline.overLimit();
      throw new Stop(stop.getMessage());
    }
  }

  private static String name(String localName, String qName) {
    String n = localName == null || localName.isEmpty() ? qName : localName;
    return n == null ? "" : n.toLowerCase(Locale.ROOT);
  }
}
