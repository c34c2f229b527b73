package dev.loupe.indexer.extract.image;

import dev.loupe.embeddings.image.Exif;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.extract.Deadline;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractor;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads picture files into one {@link Extracted.Kind#IMAGE} each, decoded by the embeddings'
 * {@link ImageDecoder} (JPEG including CMYK, PNG, GIF, BMP, and TIFF and WebP through the
 * TwelveMonkeys ImageIO plugins on the class path), with the EXIF orientation of JPEGs and PNGs
 * applied and alpha composited on white. The first frame of an animation or multi-page TIFF is
 * taken. The EXIF date ({@link Exif#taken()}) is kept in the item's metadata as {@code exif_date}
 * (ISO-8601 local date-time, e.g. {@code 2021-07-14T09:30:00}).
 *
 * <p>Failures: more pixels than {@link ExtractionLimits#maxPixels()} (read from the header, before
 * any pixel is decoded) is {@code OVER_LIMIT}; data that does not decode is {@code CORRUPT} with
 * the decoder's reason.
 *
 * <p>Thread-safe and stateless. Decoding is bounded by the pixel limit, so it runs on the calling
 * thread, without a deadline.
 */
public final class ImageExtractor implements Extractor {

  /** The formats the issue names, as Tika detects them; others are taken when an ImageIO reader claims the type. */
  private static final Set<String> TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/bmp", "image/x-ms-bmp",
      "image/tiff", "image/webp");

  @Override
  public String name() {
    return "image";
  }

  @Override
  public boolean accepts(String mediaType) {
    return mediaType.startsWith("image/")
        && (TYPES.contains(mediaType) || ImageIO.getImageReadersByMIMEType(mediaType).hasNext());
  }

  @Override
  public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
    Deadline.checkSize(file, limits);
    long maxPixels = Math.min(limits.maxPixels(), ImageDecoder.Limits.MAX_MAX_PIXELS);
    long maxBytes = Math.min(limits.maxFileBytes(), Integer.MAX_VALUE - 8);
    if (Files.size(file) > maxBytes) {
      throw new ExtractionException(Reason.OVER_LIMIT, file + " is " + Files.size(file) + " bytes, over the limit of "
          + maxBytes + " bytes an image file may have");
    }
    checkPixels(file, maxPixels, limits.maxPixels()); // before the file is read into memory
    byte[] encoded = Files.readAllBytes(file);
    RgbImage pixels;
    try {
      pixels = new ImageDecoder(new ImageDecoder.Limits(maxPixels, maxBytes)).decode(encoded, file.toString());
    } catch (IllegalArgumentException e) {
      throw new ExtractionException(Reason.CORRUPT, e.getMessage(), e);
    }
    Optional<LocalDateTime> date = Exif.of(encoded).taken();
    Map<String, String> metadata = date.map(d -> Map.of("exif_date", d.toString())).orElse(Map.of());
    sink.accept(new Extracted.Visual(Extracted.Kind.IMAGE, pixels, 0, -1, metadata));
  }

  /**
   * Reads the dimensions from the header and fails with {@code OVER_LIMIT} past the pixel limit.
   * Data no reader recognizes passes, for the decoder to reject with its own reason.
   */
  private static void checkPixels(Path file, long maxPixels, long configured) throws IOException, ExtractionException {
    long width, height;
    try (ImageInputStream in = new FileImageInputStream(file.toFile())) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        return;
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        width = reader.getWidth(0);
        height = reader.getHeight(0);
      } finally {
        reader.dispose();
      }
    } catch (FileSystemException e) {
      throw e; // missing, unreadable: not the content's fault
    } catch (IOException | RuntimeException e) {
      return; // a header the reader cannot parse: the decoder says why
    }
    if (width * height > maxPixels) {
      throw new ExtractionException(Reason.OVER_LIMIT, file + " is an image of " + width + "x" + height + " = "
          + width * height + " pixels, over the limit of " + maxPixels + " pixels (maxPixels"
          + (maxPixels < configured ? ", capped at " + maxPixels + " by the decoder" : "") + ")");
    }
  }
}
