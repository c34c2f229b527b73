package dev.loupe.indexer.extract.video;

import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractor;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Video keyframes, decoded with FFmpeg (the {@code org.bytedeco} natives bundled in the build).
 *
 * <p>For each file it hands the sink one {@link Extracted.Metadata} first ({@code duration_ms}
 * when the container knows it, {@code width}, {@code height}, {@code codec}, {@code fps} when
 * known, {@code rotation} when the picture is shown turned), then {@link Extracted.Visual}s of kind
 * {@link Extracted.Kind#VIDEO_FRAME} in time order, each with its {@code timestampMs} from the start
 * of the file and a {@code keyframe} field saying why it was taken: {@code start} (the first frame,
 * always), {@code scene} (the picture changed by at least {@link ExtractionLimits#sceneThreshold()}
 * since the last keyframe; see {@link KeyframePolicy} for the measure) or {@code interval}
 * ({@link ExtractionLimits#keyframeInterval()} passed without one). Frames are shown as a player
 * shows them (sample aspect ratio and rotation applied), scaled down to at most {@value
 * #MAX_SHORT_SIDE} pixels on the shorter side: CLIP needs 224, thumbnails a little more.
 *
 * <p><b>Limits.</b> A file over {@link ExtractionLimits#maxFileBytes()}, with more pixels per
 * frame than {@link ExtractionLimits#maxPixels()}, or longer than {@link
 * ExtractionLimits#maxVideoDuration()} fails {@code OVER_LIMIT} before anything is decoded (a
 * container that states no duration fails as soon as decoding passes the limit). So does a file
 * whose extraction runs past {@link ExtractionLimits#maxTimePerFile()}; but before that happens, a
 * long video whose decoding is on course to take more than three quarters of that time (a feature
 * film on a small machine) switches to decoding only the stream's own keyframes (I-frames, one
 * every 1 to 10 seconds in most files, and placed at cuts by most encoders). Scene changes are
 * then found at the next I-frame, and the interval holds only as far as the I-frames allow, but the
 * video is indexed.
 *
 * <p><b>Bad files.</b> No video stream (an audio-only file) or a codec this FFmpeg cannot decode:
 * {@code UNSUPPORTED}. A container FFmpeg cannot open, no decodable frame, or a truncated file:
 * {@code CORRUPT}. Truncated means a read error before the end of the container, or a video stream
 * that stops more than {@value #TRUNCATION_SLACK_MS} ms (and more than 5%) before the duration the
 * container declares; a file damaged in the middle that the decoder gets past is indexed. A
 * truncated file is failed rather than half indexed, so that its journal entry says so: the frames
 * the sink got before the failure was found are to be discarded with the file. An interrupted
 * thread stops the extraction with an {@link InterruptedIOException}.
 *
 * <p>Thread-safe and stateless: each call opens its own decoder and releases its native memory
 * before returning, also when it fails.
 */
public final class VideoExtractor implements Extractor {
  private static final System.Logger LOG = System.getLogger(VideoExtractor.class.getName());
  /** Longest shorter side of a keyframe, in pixels. */
  public static final int MAX_SHORT_SIDE = 448;
  /** How far before its declared end a video stream may stop without counting as truncated (also at least 5%). */
  static final long TRUNCATION_SLACK_MS = 1_000;

  private final LongSupplier clock;

  public VideoExtractor() {
    this(System::nanoTime);
  }

  /** With {@code clock} (nanoseconds) measuring the time per file; tests pass a fake one. */
  VideoExtractor(LongSupplier clock) {
    this.clock = clock;
  }

  /**
   * FFmpeg's version and platform, e.g. {@code FFmpeg 8.0.1 (linux-x86_64)}, for a start-up log
   * line. Loads the natives (extracting them on first use into JavaCPP's cache directory, {@code
   * ~/.javacpp/cache} unless the system property {@code org.bytedeco.javacpp.cachedir} says
   * otherwise).
   *
   * @throws IllegalStateException when the natives for this platform are not on the class path; the
   *     message gives the build command that bundles them
   */
  public static String ffmpegVersion() {
    return Ffmpeg.version();
  }

  @Override
  public String name() {
    return "video";
  }

  /**
   * Every {@code video/*} type (mp4, QuickTime, Matroska, WebM, AVI, MPEG, 3GPP, FLV...), and the
   * two container types Tika reports for videos it cannot name more precisely: {@code
   * application/x-matroska} (a Matroska file without its extension) and {@code application/mp4}.
   * Parameters ({@code ; codecs=...}) are ignored.
   */
  @Override
  public boolean accepts(String mediaType) {
    if (mediaType == null) {
      return false;
    }
    String type = mediaType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    return type.startsWith("video/") || type.equals("application/x-matroska") || type.equals("application/mp4");
  }

  @Override
  public void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException {
    long started = clock.getAsLong();
    long size = Files.size(file);
    if (size > limits.maxFileBytes()) {
      throw new ExtractionException(Reason.OVER_LIMIT,
          file + " has " + size + " bytes, over the limit of " + limits.maxFileBytes() + " bytes per file");
    }
    long maxDurationMs = limits.maxVideoDuration().toMillis();
    try (VideoDecoder video = VideoDecoder.open(file)) {
      VideoDecoder.Info info = video.info();
      long pixels = (long) info.width() * info.height();
      if (pixels > limits.maxPixels()) {
        throw new ExtractionException(Reason.OVER_LIMIT, file + " has frames of " + info.width() + "x" + info.height()
            + " = " + pixels + " pixels, over the limit of " + limits.maxPixels());
      }
      if (info.durationMs() > maxDurationMs) {
        throw new ExtractionException(Reason.OVER_LIMIT, file + " lasts " + VideoDecoder.clock(info.durationMs())
            + ", longer than the video limit of " + VideoDecoder.clock(maxDurationMs));
      }
      sink.accept(new Extracted.Metadata(metadata(info)));

      KeyframePolicy policy = new KeyframePolicy(limits.keyframeInterval().toMillis(), limits.sceneThreshold());
      long budget = nanos(limits.maxTimePerFile());
      boolean keyframesOnly = false;
      byte[] thumbnail = new byte[KeyframePolicy.THUMBNAIL_BYTES];
      while (video.nextFrame()) {
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedIOException("interrupted while extracting keyframes from " + file);
        }
        long ms = video.timestampMs();
        if (ms > maxDurationMs) {
          throw new ExtractionException(Reason.OVER_LIMIT, file + " runs past " + VideoDecoder.clock(ms)
              + ", longer than the video limit of " + VideoDecoder.clock(maxDurationMs));
        }
        long elapsed = clock.getAsLong() - started;
        if (elapsed > budget) {
          throw new ExtractionException(Reason.OVER_LIMIT, file + ": extracting keyframes took longer than the "
              + describe(limits.maxTimePerFile()) + " per file; stopped at " + VideoDecoder.clock(ms) + " of the video");
        }
        if (!keyframesOnly && tooSlow(elapsed, budget, ms, info.durationMs())) {
          keyframesOnly = true;
          video.keyframesOnly();
          LOG.log(System.Logger.Level.INFO, () -> "video " + file + ": decoding only the stream's keyframes from "
              + VideoDecoder.clock(ms) + " on, to finish within the " + describe(limits.maxTimePerFile()) + " per file");
        }
        if (!policy.isCandidate(ms)) {
          continue;
        }
        video.thumbnail(thumbnail);
        KeyframePolicy.Reason reason = policy.decide(ms, thumbnail);
        if (reason != null) {
          sink.accept(new Extracted.Visual(Extracted.Kind.VIDEO_FRAME, video.picture(MAX_SHORT_SIDE), 0, ms,
              Map.of("keyframe", reason.label)));
        }
      }
      checkComplete(file, video);
      if (video.decodeErrors() > 0) {
        LOG.log(System.Logger.Level.DEBUG, () -> "video " + file + ": " + video.decodeErrors()
            + " packets could not be decoded and were skipped, the first with: " + video.firstDecodeError());
      }
    }
  }

  /**
   * Whether decoding every frame at the pace so far ({@code elapsed} nanoseconds to reach {@code
   * positionMs} of {@code durationMs}) would use more than three quarters of the time per file.
   * Judged only after a twentieth of the budget, so that start-up costs do not count for much.
   */
  static boolean tooSlow(long elapsed, long budget, long positionMs, long durationMs) {
    if (durationMs <= 0 || elapsed < budget / 20) {
      return false;
    }
    double projected = (double) elapsed * durationMs / Math.max(1, positionMs);
    return projected > 0.75 * budget;
  }

  private static void checkComplete(Path file, VideoDecoder video) throws ExtractionException {
    VideoDecoder.Info info = video.info();
    if (video.frames() == 0) {
      String why = video.readError() != null ? "reading stopped: " + video.readError()
          : video.decodeErrors() > 0 ? video.decodeErrors() + " packets failed to decode, the first with: " + video.firstDecodeError()
          : "the stream holds no frames";
      throw new ExtractionException(Reason.CORRUPT, file + ": no decodable frame in its " + info.codec() + " video (" + why + ")");
    }
    if (video.readError() != null) {
      throw new ExtractionException(Reason.CORRUPT, file + " is truncated or damaged: reading stopped at "
          + VideoDecoder.clock(Math.max(0, video.packetEndMs())) + (info.durationMs() > 0 ? " of " + VideoDecoder.clock(info.durationMs()) : "")
          + ": " + video.readError());
    }
    // The packets read, not the frames decoded: with skipped frames the last decoded one may be
    // well before the end.
    long end = video.packetEndMs();
    if (info.durationMs() > 0 && end >= 0) {
      long slack = Math.max(TRUNCATION_SLACK_MS, info.durationMs() / 20);
      if (end < info.durationMs() - slack) {
        throw new ExtractionException(Reason.CORRUPT, file + " is truncated or damaged: its video stops at " + VideoDecoder.clock(end)
            + " but the " + (info.streamDuration() ? "stream" : "container") + " declares " + VideoDecoder.clock(info.durationMs()));
      }
    }
  }

  private static Map<String, String> metadata(VideoDecoder.Info info) {
    Map<String, String> fields = new LinkedHashMap<>();
    if (info.durationMs() >= 0) {
      fields.put("duration_ms", Long.toString(info.durationMs()));
    }
    fields.put("width", Integer.toString(info.width()));
    fields.put("height", Integer.toString(info.height()));
    fields.put("codec", info.codec());
    if (info.fps() > 0) {
      fields.put("fps", String.format(Locale.ROOT, "%.3f", info.fps()).replaceFirst("\\.?0+$", ""));
    }
    if (info.rotation() != 0) {
      fields.put("rotation", Integer.toString(info.rotation()));
    }
    return fields;
  }

  /** {@code 10:00.000} for ten minutes. */
  private static String describe(Duration duration) {
    return duration.compareTo(Duration.ofDays(365)) < 0 ? VideoDecoder.clock(duration.toMillis()) : duration.toString();
  }

  private static long nanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException tooLong) {
      return Long.MAX_VALUE;
    }
  }
}
