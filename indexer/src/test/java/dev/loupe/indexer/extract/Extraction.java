package dev.loupe.indexer.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: run an extractor into a list, build limits, and check failures. */
public final class Extraction {
  private Extraction() {}

  /** Every piece {@code extractor} finds in {@code file}, in order. */
  public static List<Extracted> extract(Extractor extractor, Path file, ExtractionLimits limits)
      throws IOException, ExtractionException {
    List<Extracted> pieces = new ArrayList<>();
    extractor.extract(file, limits, pieces::add);
    return pieces;
  }

  public static List<Extracted> extract(Extractor extractor, Path file) throws IOException, ExtractionException {
    return extract(extractor, file, ExtractionLimits.defaults());
  }

  /**
   * Asserts that extracting {@code file} fails for {@code reason}, with a message that names the
   * file and contains each of {@code fragments}, before anything reached the sink.
   */
  public static ExtractionException fails(ExtractionException.Reason reason, Extractor extractor, Path file,
      ExtractionLimits limits, String... fragments) {
    List<Extracted> pieces = new ArrayList<>();
    ExtractionException e = failsLate(reason, extractor, file, limits, pieces, fragments);
    assertEquals(List.of(), pieces, "nothing is handed on before the failure");
    return e;
  }

  /** As {@link #fails}, for failures found part way: {@code pieces} receives what came before. */
  public static ExtractionException failsLate(ExtractionException.Reason reason, Extractor extractor, Path file,
      ExtractionLimits limits, List<Extracted> pieces, String... fragments) {
    ExtractionException e = assertThrows(ExtractionException.class, () -> extractor.extract(file, limits, pieces::add));
    assertEquals(reason, e.reason(), e::getMessage);
    assertTrue(e.getMessage().contains(file.toString()), () -> "the message names the file: " + e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "the message says '" + f + "': " + e.getMessage());
    }
    return e;
  }

  /** The pieces of type {@code type}, in order. */
  public static <T extends Extracted> List<T> only(List<Extracted> pieces, Class<T> type) {
    return pieces.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** {@link ExtractionLimits#defaults()} with chosen fields changed. */
  public static final class Limits {
    private final ExtractionLimits d = ExtractionLimits.defaults();
    private long maxFileBytes = d.maxFileBytes();
    private long maxPixels = d.maxPixels();
    private int maxPdfPages = d.maxPdfPages();
    private Duration maxTimePerFile = d.maxTimePerFile();
    private long minEmbeddedImagePixels = d.minEmbeddedImagePixels();
    private int renderDpi = d.renderDpi();

    public Limits maxFileBytes(long v) {
      maxFileBytes = v;
      return this;
    }

    public Limits maxPixels(long v) {
      maxPixels = v;
      return this;
    }

    public Limits maxPdfPages(int v) {
      maxPdfPages = v;
      return this;
    }

    public Limits maxTimePerFile(Duration v) {
      maxTimePerFile = v;
      return this;
    }

    public Limits minEmbeddedImagePixels(long v) {
      minEmbeddedImagePixels = v;
      return this;
    }

    public Limits renderDpi(int v) {
      renderDpi = v;
      return this;
    }

    public ExtractionLimits build() {
      return new ExtractionLimits(maxFileBytes, maxPixels, maxPdfPages, d.maxVideoDuration(), maxTimePerFile,
          minEmbeddedImagePixels, renderDpi, d.keyframeInterval(), d.sceneThreshold());
    }
  }

  public static Limits limits() {
    return new Limits();
  }
}
