package dev.loupe.indexer.extract.pdf;

import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.extract.Deadline;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.cos.COSStream;
import org.apache.pdfbox.io.MemoryUsageSetting;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDDocumentInformation;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.pdmodel.graphics.image.PDImage;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;
import org.apache.pdfbox.rendering.ImageType;
import org.apache.pdfbox.rendering.PDFRenderer;
import org.apache.pdfbox.rendering.PageDrawer;
import org.apache.pdfbox.rendering.PageDrawerParameters;
import org.apache.pdfbox.text.PDFTextStripper;

/**
 * Reads PDFs with Apache PDFBox, page by page. For each page, in order:
 *
 * <ol>
 *   <li>its text ({@link Extracted.Text}, 1-based page number, paragraphs separated by blank
 *       lines, offset = characters of the pages before it; pages without text give none);
 *   <li>a render at {@link ExtractionLimits#renderDpi()} ({@link Extracted.Kind#PAGE_RENDER}),
 *       scaled down when the page would exceed {@link ExtractionLimits#maxPixels()};
 *   <li>the raster images drawn on it of at least {@link ExtractionLimits#minEmbeddedImagePixels()}
 *       ({@link Extracted.Kind#EMBEDDED_IMAGE}), at their stored resolution, each image object
 *       once in the document (on the first page that draws it). Stencil masks and inline images
 *       are left out; an image PDFBox cannot decode (JPEG 2000 has no decoder here) is skipped
 *       with a warning, as the renderer skips it.
 * </ol>
 *
 * Document metadata ({@code title}, {@code author}, {@code subject}, {@code keywords},
 * {@code created}, {@code modified} as ISO-8601, {@code pages}) comes first, as one
 * {@link Extracted.Metadata}.
 *
 * <p>Failures: a PDF with a user password is {@code ENCRYPTED} (an owner password alone does not
 * stop reading); a file whose last 1024 bytes hold no {@code %%EOF} (a truncated or half-written
 * file) or that PDFBox cannot parse is {@code CORRUPT}; more pages than
 * {@link ExtractionLimits#maxPdfPages()} is {@code OVER_LIMIT} before any page is read (the file
 * fails rather than being indexed in part); so is an image drawn with more pixels than
 * {@link ExtractionLimits#maxPixels()} (a decompression bomb), and a file still being read when
 * {@link ExtractionLimits#maxTimePerFile()} is up.
 *
 * <p>Memory stays bounded: the file is read through PDFBox's buffered random-access file (not
 * loaded whole), scratch data spills to a temporary file past 16 MiB, and each page's pieces go to
 * the sink before the next page is read.
 *
 * <p>Thread-safe and stateless: each call opens its own document.
 */
public final class PdfExtractor implements Extractor {

  private static final System.Logger LOG = System.getLogger(PdfExtractor.class.getName());

  /** Main memory PDFBox may use for scratch streams before spilling to a temporary file. */
  private static final long SCRATCH_MEMORY_BYTES = 16L << 20;

  /** The PDF specification: {@code %%EOF} must be within the last 1024 bytes. */
  private static final int EOF_WINDOW = 1024;

  @Override
  public String name() {
    return "pdf";
  }

  @Override
  public boolean accepts(String mediaType) {
    return "application/pdf".equals(mediaType);
  }

  @Override
  public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
    Deadline.checkSize(file, limits);
    checkComplete(file);
    Deadline.run(file, limits, sink, (deadline, out) -> read(file, limits, deadline, out));
  }

  /** A truncated (or still being written) PDF has lost its final {@code %%EOF}. */
  private static void checkComplete(Path file) throws IOException, ExtractionException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size == 0) {
        throw new ExtractionException(Reason.CORRUPT, file + " is empty (0 bytes)");
      }
      int n = (int) Math.min(EOF_WINDOW, size);
      ByteBuffer tail = ByteBuffer.allocate(n);
      long at = size - n;
      while (tail.hasRemaining()) {
        int read = channel.read(tail, at + tail.position());
        if (read < 0) {
          break;
        }
      }
      String text = new String(tail.array(), 0, tail.position(), StandardCharsets.ISO_8859_1);
      if (!text.contains("%%EOF")) {
        throw new ExtractionException(Reason.CORRUPT, file + " is a truncated PDF: no %%EOF marker in its last "
            + n + " of " + size + " bytes (the file was cut off, or is still being written)");
      }
    }
  }

  private static void read(Path file, ExtractionLimits limits, Deadline deadline, Consumer<Extracted> out)
      throws IOException, ExtractionException {
    PDDocument document;
    try {
      document = Loader.loadPDF(file.toFile(), "", null, null, MemoryUsageSetting.setupMixed(SCRATCH_MEMORY_BYTES).streamCache);
    } catch (InvalidPasswordException e) {
      throw new ExtractionException(Reason.ENCRYPTED, file + " is a password-protected PDF and cannot be read without"
          + " its password; drop a copy without the password (e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf)", e);
    } catch (FileSystemException e) {
      throw e; // missing, unreadable: not the content's fault
    } catch (IOException | RuntimeException e) {
      throw new ExtractionException(Reason.CORRUPT, file + " is not a readable PDF: " + e.getMessage(), e);
    }
    try (document) {
      int pages = document.getNumberOfPages();
      if (pages == 0) {
        throw new ExtractionException(Reason.CORRUPT, file + " is a PDF with no pages (its page tree is missing or empty)");
      }
      if (pages > limits.maxPdfPages()) {
        throw new ExtractionException(Reason.OVER_LIMIT, file + " has " + pages + " pages, over the limit of "
            + limits.maxPdfPages() + " pages per PDF (maxPdfPages)");
      }
      out.accept(new Extracted.Metadata(metadata(document, pages)));
      new Pages(file, document, pages, limits, deadline, out).readAll();
    }
  }

  /** The pass over one document's pages; its state lives as long as one {@link #read} call. */
  private static final class Pages {
    private final Path file;
    private final PDDocument document;
    private final int pages;
    private final ExtractionLimits limits;
    private final Deadline deadline;
    private final Consumer<Extracted> out;
    private final PDFTextStripper stripper;
    private final CollectingRenderer renderer;
    /** Image objects already given, by object key (or the stream itself for a direct object). */
    private final Set<Object> seen = new HashSet<>();
    private long offset;

    Pages(Path file, PDDocument document, int pages, ExtractionLimits limits, Deadline deadline, Consumer<Extracted> out) {
      this.file = file;
      this.document = document;
      this.pages = pages;
      this.limits = limits;
      this.deadline = deadline;
      this.out = out;
      this.stripper = new PDFTextStripper();
      stripper.setLineSeparator("\n");
      stripper.setParagraphEnd("\n"); // a blank line between paragraphs, as Extracted.Text promises
      this.renderer = new CollectingRenderer(document, Math.min(limits.maxPixels(), ImageDecoder.Limits.MAX_MAX_PIXELS));
      renderer.setSubsamplingAllowed(true); // large images drawn small are decoded small
    }

    void readAll() throws ExtractionException {
      for (int p = 1; p <= pages; p++) {
        deadline.check();
        text(p);
        deadline.check();
        List<PDImageXObject> drawn = render(p);
        for (PDImageXObject image : drawn) {
          deadline.check();
          embedded(p, image);
        }
      }
    }

    private void text(int p) throws ExtractionException {
      String text;
      try {
        stripper.setStartPage(p);
        stripper.setEndPage(p);
        text = stripper.getText(document).strip();
      } catch (IOException | RuntimeException e) {
        throw pageFailure(p, "its text could not be extracted", e);
      }
      if (!text.isEmpty()) {
        out.accept(new Extracted.Text(text, p, offset));
        offset += text.length();
      }
    }

    /** Renders page {@code p}, hands the render on, and returns the new image objects it drew. */
    private List<PDImageXObject> render(int p) throws ExtractionException {
      PDPage page = document.getPage(p - 1);
      PDRectangle box = page.getCropBox();
      float scale = renderScale(box.getWidth(), box.getHeight(), limits.renderDpi(), renderer.maxPixels);
      BufferedImage image;
      try {
        image = renderer.render(p - 1, scale);
      } catch (ImageOverLimit e) {
        throw new ExtractionException(Reason.OVER_LIMIT, file + ": page " + p + " draws " + e.getMessage()
            + ", over the limit of " + limits.maxPixels() + " pixels (maxPixels)");
      } catch (IOException | RuntimeException e) {
        throw pageFailure(p, "it could not be rendered", e);
      }
      out.accept(new Extracted.Visual(Extracted.Kind.PAGE_RENDER, ImageDecoder.toRgb(image), p, -1, Map.of()));
      List<PDImageXObject> fresh = new ArrayList<>();
      for (Map.Entry<Object, PDImageXObject> drawn : renderer.drawn.entrySet()) {
        if (seen.add(drawn.getKey())) {
          fresh.add(drawn.getValue());
        }
      }
      renderer.drawn.clear();
      return fresh;
    }

    private void embedded(int p, PDImageXObject image) {
      long pixels = (long) image.getWidth() * image.getHeight();
      if (pixels < limits.minEmbeddedImagePixels()) {
        return; // icons, bullets, rules
      }
      RgbImage rgb;
      try {
        rgb = ImageDecoder.toRgb(image.getImage());
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, file + ": page " + p + ": an embedded " + image.getWidth() + "x"
            + image.getHeight() + " " + image.getSuffix() + " image could not be decoded and is skipped: " + e.getMessage());
        return;
      }
      out.accept(new Extracted.Visual(Extracted.Kind.EMBEDDED_IMAGE, rgb, p, -1, Map.of()));
    }

    private ExtractionException pageFailure(int p, String what, Exception e) {
      return new ExtractionException(Reason.CORRUPT, file + ": page " + p + " of " + pages + " is damaged, "
          + what + ": " + e.getMessage(), e);
    }
  }

  /**
   * The scale (pixels per point) of a render at {@code dpi}, lowered so that a page of
   * {@code width x height} points stays within {@code maxPixels}.
   */
  static float renderScale(float width, float height, int dpi, long maxPixels) {
    double scale = dpi / 72.0;
    double w = Math.max(1, width), h = Math.max(1, height);
    double pixels = w * scale * h * scale;
    if (!(pixels <= maxPixels)) {
      scale *= Math.sqrt(maxPixels / pixels) * 0.999; // PDFBox floors each side, so this stays under
    }
    return (float) scale;
  }

  /** A renderer that remembers the image objects each page draws and refuses decompression bombs. */
  private static final class CollectingRenderer extends PDFRenderer {
    final long maxPixels;
    /** The image objects drawn on the page being rendered, in order, by {@link #identity}. */
    final Map<Object, PDImageXObject> drawn = new LinkedHashMap<>();

    CollectingRenderer(PDDocument document, long maxPixels) {
      super(document);
      this.maxPixels = maxPixels;
    }

    BufferedImage render(int pageIndex, float scale) throws IOException {
      drawn.clear();
      return renderImage(pageIndex, scale, ImageType.RGB);
    }

    @Override
    protected PageDrawer createPageDrawer(PageDrawerParameters parameters) throws IOException {
      return new PageDrawer(parameters) {
        @Override
        public void drawImage(PDImage image) throws IOException {
          long pixels = (long) image.getWidth() * image.getHeight();
          if (pixels > maxPixels) {
            // Unchecked: PDFBox logs and skips IOExceptions thrown while drawing an XObject.
            throw new ImageOverLimit("an image of " + image.getWidth() + "x" + image.getHeight() + " = " + pixels + " pixels");
          }
          if (image instanceof PDImageXObject x && !x.isStencil()) {
            drawn.putIfAbsent(identity(x), x);
          }
          super.drawImage(image);
        }
      };
    }
  }

  /** An image object's key in the file (or the stream itself for a direct object): the same on every page that draws it. */
  private static Object identity(PDImageXObject image) {
    COSStream stream = image.getCOSObject();
    return stream.getKey() != null ? stream.getKey() : stream;
  }

  private static final class ImageOverLimit extends RuntimeException {
    ImageOverLimit(String message) {
      super(message, null, false, false);
    }
  }

  private static Map<String, String> metadata(PDDocument document, int pages) {
    Map<String, String> m = new LinkedHashMap<>();
    PDDocumentInformation info = document.getDocumentInformation();
    put(m, "title", info.getTitle());
    put(m, "author", info.getAuthor());
    put(m, "subject", info.getSubject());
    put(m, "keywords", info.getKeywords());
    put(m, "created", iso(info.getCreationDate()));
    put(m, "modified", iso(info.getModificationDate()));
    m.put("pages", String.valueOf(pages));
    return m;
  }

  private static void put(Map<String, String> m, String key, String value) {
    if (value != null) {
      String v = value.replace("\0", "").strip();
      if (!v.isEmpty()) {
        m.put(key, v);
      }
    }
  }

  private static String iso(Calendar calendar) {
    if (calendar == null) {
      return null;
    }
    try {
      return OffsetDateTime.ofInstant(calendar.toInstant(), calendar.getTimeZone().toZoneId()).toString();
    } catch (RuntimeException e) {
      return null; // a date outside what java.time holds: dropped, like an unparseable one
    }
  }
}
