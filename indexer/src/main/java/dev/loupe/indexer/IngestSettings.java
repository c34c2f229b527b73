package dev.loupe.indexer;

import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.ExtractionLimits;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The ingest settings a person may change, read from {@code ingest.*} keys (a data folder's
 * {@code loupe.properties}), each falling back to its safe default:
 *
 * <pre>
 * ingest.max-file-size=1GiB          # B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (of 1024)
 * ingest.max-pixels=89478485         # per image or page render (decompression bombs)
 * ingest.max-pdf-pages=2000
 * ingest.max-video-duration=4h       # ms, s, m, h, d, or ISO-8601 (PT4H)
 * ingest.max-time-per-file=10m
 * ingest.min-embedded-image-pixels=4096
 * ingest.render-dpi=72
 * ingest.keyframe-interval=10s
 * ingest.scene-threshold=0.3
 * ingest.chunk-tokens=300
 * ingest.chunk-overlap=50
 * ingest.workers=N                   # default: one per core
 * ingest.settle-time=2s
 * ingest.rescan-interval=10m
 * ingest.thumbnail-size=256
 * </pre>
 *
 * Immutable.
 *
 * @param limits what one file may cost
 * @param chunkTokens tokens per text chunk at most (capped later at the passage model's context)
 * @param chunkOverlap tokens a chunk repeats from the previous one
 * @param workers extraction threads, or 0 for the default (one per core)
 * @param settleTime how long a file stays unchanged before it is ingested; null for the default
 * @param rescanInterval time between full scans; null for the default
 * @param thumbnailSize longest side of thumbnails, or 0 for the default
 */
public record IngestSettings(ExtractionLimits limits, int chunkTokens, int chunkOverlap, int workers, Duration settleTime,
    Duration rescanInterval, int thumbnailSize) {

  /** Every key this class reads. */
  public static final List<String> KEYS = List.of("ingest.max-file-size", "ingest.max-pixels", "ingest.max-pdf-pages",
      "ingest.max-video-duration", "ingest.max-time-per-file", "ingest.min-embedded-image-pixels", "ingest.render-dpi",
      "ingest.keyframe-interval", "ingest.scene-threshold", "ingest.chunk-tokens", "ingest.chunk-overlap", "ingest.workers",
      "ingest.settle-time", "ingest.rescan-interval", "ingest.thumbnail-size");

  private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]i?b|b)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);

  public IngestSettings {
    Objects.requireNonNull(limits, "limits");
    // The chunker's own checks, so a bad pair fails here, where the settings are read.
    new TextChunker(chunkTokens, chunkOverlap, text -> 0);
    if (workers < 0 || workers > 256) throw new IllegalArgumentException("workers " + workers + " is outside [1, 256]");
  }

  /** Every default. */
  public static IngestSettings defaults() {
    return new IngestSettings(ExtractionLimits.defaults(), TextChunker.DEFAULT_MAX_TOKENS, TextChunker.DEFAULT_OVERLAP_TOKENS,
        0, null, null, 0);
  }

  /**
   * The settings in {@code properties}' {@code ingest.*} keys; other keys are ignored.
   *
   * @param source where the properties come from, for messages
   * @throws IllegalArgumentException naming the source, the key and the value, for an unknown
   *     {@code ingest.} key or a value that does not parse or is out of range
   */
  public static IngestSettings from(Map<String, String> properties, String source) {
    Map<String, String> p = new TreeMap<>();
    properties.forEach((k, v) -> {
      if (k.startsWith("ingest.")) {
        if (!KEYS.contains(k)) {
          throw new IllegalArgumentException(source + ": unknown setting " + k + "; the ingest settings are " + String.join(", ", KEYS));
        }
        p.put(k, v.strip());
      }
    });
    ExtractionLimits d = ExtractionLimits.defaults();
    try {
      ExtractionLimits limits = new ExtractionLimits(
          size(p, "ingest.max-file-size", d.maxFileBytes(), source),
          count(p, "ingest.max-pixels", d.maxPixels(), source),
          (int) count(p, "ingest.max-pdf-pages", d.maxPdfPages(), source),
          duration(p, "ingest.max-video-duration", d.maxVideoDuration(), source),
          duration(p, "ingest.max-time-per-file", d.maxTimePerFile(), source),
          count(p, "ingest.min-embedded-image-pixels", d.minEmbeddedImagePixels(), source),
          (int) count(p, "ingest.render-dpi", d.renderDpi(), source),
          duration(p, "ingest.keyframe-interval", d.keyframeInterval(), source),
          fraction(p, "ingest.scene-threshold", d.sceneThreshold(), source));
      return new IngestSettings(limits,
          (int) count(p, "ingest.chunk-tokens", TextChunker.DEFAULT_MAX_TOKENS, source),
          (int) count(p, "ingest.chunk-overlap", TextChunker.DEFAULT_OVERLAP_TOKENS, source),
          (int) count(p, "ingest.workers", 0, source),
          p.containsKey("ingest.settle-time") ? duration(p, "ingest.settle-time", null, source) : null,
          p.containsKey("ingest.rescan-interval") ? duration(p, "ingest.rescan-interval", null, source) : null,
          (int) count(p, "ingest.thumbnail-size", 0, source));
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(source + ": ")) throw e;
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  /** {@code base} with these settings applied. */
  public IngestConfig apply(IngestConfig base) {
    IngestConfig c = base.withLimits(limits);
    if (workers > 0) c = c.withWorkers(workers);
    if (settleTime != null) c = c.withSettleTime(settleTime);
    if (rescanInterval != null) c = c.withRescanInterval(rescanInterval);
    if (thumbnailSize > 0) c = c.withThumbnailSize(thumbnailSize);
    return c;
  }

  static long size(Map<String, String> p, String key, long fallback, String source) {
    String v = p.get(key);
    if (v == null) return fallback;
    Matcher m = SIZE.matcher(v);
    if (!m.matches()) throw bad(source, key, v, "a size such as 512MiB, 2GB or 1048576");
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    int power = "bkmgt".indexOf(unit.charAt(0));
    double base = unit.contains("i") ? 1024 : 1000;
    double bytes = Double.parseDouble(m.group(1)) * Math.pow(base, power);
    if (bytes > Long.MAX_VALUE) throw bad(source, key, v, "a size below 8 EiB");
    return (long) bytes;
  }

  static long count(Map<String, String> p, String key, long fallback, String source) {
    String v = p.get(key);
    if (v == null) return fallback;
    try {
      long n = Long.parseLong(v.replace("_", ""));
      if (n > Integer.MAX_VALUE && !key.endsWith("pixels")) throw bad(source, key, v, "a whole number below 2^31");
      return n;
    } catch (NumberFormatException e) {
      throw bad(source, key, v, "a whole number");
    }
  }

  static Duration duration(Map<String, String> p, String key, Duration fallback, String source) {
    String v = p.get(key);
    if (v == null) return fallback;
    Matcher m = DURATION.matcher(v);
    if (m.matches()) {
      double n = Double.parseDouble(m.group(1));
      double ms = n * switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "ms" -> 1;
        case "s" -> 1_000;
        case "m" -> 60_000;
        case "h" -> 3_600_000;
        default -> 86_400_000;
      };
      return Duration.ofMillis(Math.round(ms));
    }
    try {
      return Duration.parse(v);
    } catch (DateTimeParseException e) {
      throw bad(source, key, v, "a duration such as 500ms, 90s, 10m, 4h or PT4H");
    }
  }

  static double fraction(Map<String, String> p, String key, double fallback, String source) {
    String v = p.get(key);
    if (v == null) return fallback;
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw bad(source, key, v, "a number such as 0.3");
    }
  }

  private static IllegalArgumentException bad(String source, String key, String value, String expected) {
    return new IllegalArgumentException(source + ": " + key + "=" + value + " is not " + expected);
  }
}
