package dev.loupe.indexer.extract;

import java.time.Duration;

/**
 * Bounds on what one file may cost, with safe defaults. A file over a limit fails with
 * {@link ExtractionException.Reason#OVER_LIMIT} naming the limit and the value.
 *
 * @param maxFileBytes largest file accepted
 * @param maxPixels largest image (width x height) decoded; also bounds page renders
 * @param maxPdfPages pages read from one PDF
 * @param maxVideoDuration longest video read
 * @param maxTimePerFile wall-clock budget of one file's extraction
 * @param minEmbeddedImagePixels embedded images smaller than this (width x height) are skipped (icons, bullets)
 * @param renderDpi resolution of PDF page renders
 * @param keyframeInterval a video keyframe at least this often, besides scene changes
 * @param sceneThreshold fraction of changed content (0..1) that counts as a scene change
 */
public record ExtractionLimits(
    long maxFileBytes,
    long maxPixels,
    int maxPdfPages,
    Duration maxVideoDuration,
    Duration maxTimePerFile,
    long minEmbeddedImagePixels,
    int renderDpi,
    Duration keyframeInterval,
    double sceneThreshold) {

  public ExtractionLimits {
    if (maxFileBytes < 1) throw new IllegalArgumentException("maximum file size " + maxFileBytes + " must be positive");
    if (maxPixels < 1) throw new IllegalArgumentException("maximum pixels " + maxPixels + " must be positive");
    if (maxPdfPages < 1) throw new IllegalArgumentException("maximum PDF pages " + maxPdfPages + " must be positive");
    if (maxVideoDuration.isNegative() || maxVideoDuration.isZero()) throw new IllegalArgumentException("maximum video duration " + maxVideoDuration + " must be positive");
    if (maxTimePerFile.isNegative() || maxTimePerFile.isZero()) throw new IllegalArgumentException("time per file " + maxTimePerFile + " must be positive");
    if (minEmbeddedImagePixels < 0) throw new IllegalArgumentException("minimum embedded image pixels " + minEmbeddedImagePixels + " is negative");
    if (renderDpi < 9 || renderDpi > 600) throw new IllegalArgumentException("render dpi " + renderDpi + " is outside [9, 600]");
    if (keyframeInterval.isNegative() || keyframeInterval.isZero()) throw new IllegalArgumentException("keyframe interval " + keyframeInterval + " must be positive");
    if (!(sceneThreshold > 0 && sceneThreshold <= 1)) throw new IllegalArgumentException("scene threshold " + sceneThreshold + " is outside (0, 1]");
  }

  /** 1 GiB files, Pillow's 89.5 megapixels, 2,000 pages, 4-hour videos, 10 minutes a file, 64x64 images, 72 dpi, a frame every 10 s, scene change at 30%. */
  public static ExtractionLimits defaults() {
    return new ExtractionLimits(1L << 30, 89_478_485L, 2_000, Duration.ofHours(4), Duration.ofMinutes(10), 64 * 64, 72,
        Duration.ofSeconds(10), 0.3);
  }
}
