package dev.loupe.indexer.extract.video;

/**
 * Which decoded frames of a video become keyframes: the first frame, a frame whose picture differs
 * enough from the last keyframe's (a scene change), and a frame whenever {@code intervalMs} have
 * passed since the last keyframe.
 *
 * <p>The scene measure is the mean absolute difference of two {@value #THUMBNAIL}x{@value
 * #THUMBNAIL} RGB thumbnails (area-averaged, so each value is the mean colour of 1/1024 of the
 * picture), as a fraction of full scale: 0 for the same picture, 1 for black against white. A cut
 * between two different shots scores 0.2 to 0.7; a person moving or a camera shaking within a shot
 * moves few thumbnail cells and scores a few hundredths. It is computed against the last keyframe,
 * not the previous frame, so a slow pan or a fade that ends somewhere new counts too. Colour rather
 * than grey, so a cut between two shots of the same brightness (red to grey) is seen.
 *
 * <p>Scene changes closer than {@link #MIN_SCENE_GAP_MS} to the last keyframe wait until that gap
 * has passed (and then count only if the picture still differs), so a strobe light or a burst of
 * very short shots yields at most one keyframe a second. Thumbnails are needed only for candidate
 * frames ({@link #isCandidate}); the frames in between are decoded but never converted.
 *
 * <p>Not thread-safe: one per video.
 */
final class KeyframePolicy {
  /** Side of the scene-measure thumbnails, in pixels. */
  static final int THUMBNAIL = 32;
  /** Bytes of one thumbnail: RGB, row-major. */
  static final int THUMBNAIL_BYTES = THUMBNAIL * THUMBNAIL * 3;
  /** Scene changes are at least this far apart. */
  static final long MIN_SCENE_GAP_MS = 1_000;

  /** Why a frame became a keyframe; stored with the frame as {@code keyframe}. */
  enum Reason {
    START("start"),
    SCENE("scene"),
    INTERVAL("interval");

    final String label;

    Reason(String label) {
      this.label = label;
    }
  }

  private final long intervalMs;
  private final double threshold;
  private final byte[] last = new byte[THUMBNAIL_BYTES];
  private long lastMs = -1;

  KeyframePolicy(long intervalMs, double threshold) {
    if (intervalMs < 1) throw new IllegalArgumentException("keyframe interval " + intervalMs + " ms must be positive");
    if (!(threshold > 0 && threshold <= 1)) throw new IllegalArgumentException("scene threshold " + threshold + " is outside (0, 1]");
    this.intervalMs = intervalMs;
    this.threshold = threshold;
  }

  /**
   * Whether the frame at {@code timestampMs} may become a keyframe; {@link #decide} needs its
   * thumbnail only then.
   */
  boolean isCandidate(long timestampMs) {
    rebaseIfBackwards(timestampMs);
    return lastMs < 0 || timestampMs - lastMs >= Math.min(MIN_SCENE_GAP_MS, intervalMs);
  }

  /**
   * Whether the candidate frame at {@code timestampMs}, with this thumbnail, is a keyframe, and
   * why; null if it is not. A keyframe becomes the reference for the following frames.
   */
  Reason decide(long timestampMs, byte[] thumbnail) {
    if (thumbnail.length != THUMBNAIL_BYTES) {
      throw new IllegalArgumentException("thumbnail of " + thumbnail.length + " bytes, expected " + THUMBNAIL_BYTES);
    }
    rebaseIfBackwards(timestampMs);
    Reason reason;
    if (lastMs < 0) {
      reason = Reason.START;
    } else {
      long gap = timestampMs - lastMs;
      if (gap >= MIN_SCENE_GAP_MS && difference(last, thumbnail) >= threshold) {
        reason = Reason.SCENE;
      } else if (gap >= intervalMs) {
        reason = Reason.INTERVAL;
      } else {
        return null;
      }
    }
    lastMs = timestampMs;
    System.arraycopy(thumbnail, 0, last, 0, THUMBNAIL_BYTES);
    return reason;
  }

  /** Mean absolute difference of two equally long byte arrays read as unsigned, over 255: 0..1. */
  static double difference(byte[] a, byte[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("thumbnails of " + a.length + " and " + b.length + " bytes");
    }
    long sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
    }
    return sum / (255.0 * a.length);
  }

  // Timestamps that jump back (a stream whose clock restarts) would otherwise hold back every
  // keyframe until the clock caught up again: measure from the new position instead.
  private void rebaseIfBackwards(long timestampMs) {
    if (timestampMs < lastMs) {
      lastMs = timestampMs;
    }
  }
}
