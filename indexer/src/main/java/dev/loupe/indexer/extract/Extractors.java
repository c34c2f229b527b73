package dev.loupe.indexer.extract;

import dev.loupe.indexer.extract.image.ImageExtractor;
import dev.loupe.indexer.extract.pdf.PdfExtractor;
import dev.loupe.indexer.extract.tika.TikaExtractor;
import dev.loupe.indexer.extract.video.VideoExtractor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The extractors Loupe knows, and the choice of one for a file: its size is checked, its media
 * type detected ({@link MediaTypes#detect}), and the first extractor in list order that
 * {@linkplain Extractor#accepts accepts} the type reads it. A type no extractor takes fails with
 * {@link ExtractionException.Reason#UNSUPPORTED} naming the detected type.
 *
 * <p>The standard extractors take disjoint families of types, so their order does not matter:
 * {@code application/pdf} goes to {@code pdf}, {@code image/*} that ImageIO decodes to
 * {@code image}, {@code video/*} to {@code video}, and office, e-mail and text documents to
 * {@code tika}. Tika never sees a PDF or an image.
 *
 * <p>Thread-safe: the list is fixed at construction and every extractor is thread-safe.
 */
public final class Extractors {

  private final List<Extractor> extractors;

  /**
   * @param extractors the extractors, in the order they are asked; names must be distinct
   */
  public Extractors(List<Extractor> extractors) {
    this.extractors = List.copyOf(extractors);
    if (this.extractors.isEmpty()) {
      throw new IllegalArgumentException("no extractors given");
    }
    Set<String> names = new HashSet<>();
    for (Extractor e : this.extractors) {
      if (!names.add(e.name())) {
        throw new IllegalArgumentException("two extractors are named '" + e.name() + "'");
      }
    }
  }

  /** The PDF, image and document extractors. */
  public static Extractors standard() {
    return new Extractors(standardList());
  }

  /** The standard extractors in the order they are asked: pdf, image, video, tika. */
  public static List<Extractor> standardList() {
    List<Extractor> list = new ArrayList<>();
    list.add(new PdfExtractor());
    list.add(new ImageExtractor());
    list.add(new VideoExtractor());
    list.add(new TikaExtractor());
    return list;
  }

  /** The extractors, in the order they are asked. */
  public List<Extractor> extractors() {
    return extractors;
  }

  /** The extractor of the given name ({@code pdf}, {@code image}, {@code tika}, {@code video}), if present. */
  public Optional<Extractor> named(String name) {
    return extractors.stream().filter(e -> e.name().equals(name)).findFirst();
  }

  /** The first extractor that accepts {@code mediaType}, if any. */
  public Optional<Extractor> forType(String mediaType) {
    Objects.requireNonNull(mediaType, "mediaType");
    for (Extractor e : extractors) {
      if (e.accepts(mediaType)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }

  /**
   * A file's detected type and the extractor that reads it.
   *
   * @param mediaType the type Tika detected, without parameters
   * @param extractor the extractor chosen for it
   */
  public record Choice(String mediaType, Extractor extractor) {
    public Choice {
      Objects.requireNonNull(mediaType, "mediaType");
      Objects.requireNonNull(extractor, "extractor");
    }
  }

  /**
   * Checks {@code file}'s size, detects its type and picks its extractor, without extracting.
   *
   * @throws ExtractionException {@code OVER_LIMIT} for a file over {@link ExtractionLimits#maxFileBytes()},
   *     {@code UNSUPPORTED} for a type no extractor takes (the message names the type)
   * @throws IOException if the file cannot be read
   */
  public Choice choose(Path file, ExtractionLimits limits) throws IOException, ExtractionException {
    Deadline.checkSize(file, limits);
    String type = MediaTypes.detect(file);
    Optional<Extractor> extractor = forType(type);
    if (extractor.isEmpty()) {
      throw new ExtractionException(ExtractionException.Reason.UNSUPPORTED, unsupported(file, type));
    }
    return new Choice(type, extractor.get());
  }

  /**
   * Extracts {@code file} with the extractor for its type, handing pieces to {@code sink} as they
   * are found.
   *
   * @return the detected type and the extractor that read the file
   * @throws ExtractionException as {@link #choose} and {@link Extractor#extract} do
   * @throws IOException if the file cannot be read
   */
  public Choice extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
    Choice choice = choose(file, limits);
    choice.extractor().extract(file, limits, sink);
    return choice;
  }

  private String unsupported(Path file, String type) {
    String what = type.equals(MediaTypes.OCTET_STREAM) ? " (its content and name match no known format)" : "";
    StringBuilder names = new StringBuilder();
    for (Extractor e : extractors) {
      names.append(names.isEmpty() ? "" : ", ").append(e.name());
    }
    return file + " is of type " + type + what + ", which none of the extractors (" + names + ") reads";
  }
}
