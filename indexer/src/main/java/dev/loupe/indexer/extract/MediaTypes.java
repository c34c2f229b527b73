package dev.loupe.indexer.extract;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.tika.config.TikaConfig;
import org.apache.tika.detect.Detector;
import org.apache.tika.io.TikaInputStream;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.metadata.TikaCoreProperties;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MediaTypeRegistry;

/**
 * A file's media type as Apache Tika's default detector sees it: magic bytes first, container
 * contents for zip and OLE2 files (so a {@code .docx} is told from a plain zip, and an encrypted
 * one is {@code application/x-tika-ooxml-protected}), then the file name. Types are returned
 * without parameters ({@code text/plain}, not {@code text/plain; charset=UTF-8}).
 *
 * <p>Thread-safe: Tika's detector and type registry are immutable once loaded. The first call
 * loads Tika's configuration (about a second).
 */
public final class MediaTypes {

  /** What Tika answers for bytes it knows nothing about. */
  public static final String OCTET_STREAM = "application/octet-stream";

  private MediaTypes() {}

  /** Tika's default configuration, loaded once; shared with the Tika extractor. */
  public static TikaConfig tika() {
    return Holder.CONFIG;
  }

  /**
   * Detects the media type of {@code file} from its content and name.
   *
   * @throws IOException if the file cannot be read
   */
  public static String detect(Path file) throws IOException {
    Metadata metadata = new Metadata();
    Path name = file.getFileName();
    if (name != null) {
      metadata.set(TikaCoreProperties.RESOURCE_NAME_KEY, name.toString());
    }
    try (TikaInputStream in = TikaInputStream.get(file, metadata)) {
      return Holder.DETECTOR.detect(in, metadata).getBaseType().toString();
    }
  }

  /**
   * Whether {@code type} is {@code supertype} or one of its descendants in Tika's type hierarchy
   * ({@code text/csv} is a {@code text/plain}; a {@code .docx} is an {@code application/zip}).
   */
  public static boolean isA(String type, String supertype) {
    MediaType t = MediaType.parse(type), s = MediaType.parse(supertype);
    if (t == null || s == null) {
      return false;
    }
    return registry().isInstanceOf(t.getBaseType(), s.getBaseType());
  }

  /** The parent of {@code type} in Tika's hierarchy, or null at the top. */
  public static String supertype(String type) {
    MediaType t = MediaType.parse(type);
    MediaType s = t == null ? null : registry().getSupertype(t.getBaseType());
    return s == null ? null : s.toString();
  }

  private static MediaTypeRegistry registry() {
    return Holder.CONFIG.getMediaTypeRegistry();
  }

  /** Loaded on first use: Tika's configuration scans the class path for its parsers and detectors. */
  private static final class Holder {
    static final TikaConfig CONFIG = TikaConfig.getDefaultConfig();
    static final Detector DETECTOR = CONFIG.getDetector();
  }
}
