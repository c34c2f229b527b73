package dev.loupe.indexer.extract.video;

import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_ERROR;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.avutil.av_version_info;
import static org.bytedeco.ffmpeg.global.avutil.setLogCallback;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import org.bytedeco.ffmpeg.avutil.LogCallback;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.ffmpeg.global.swscale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;

/**
 * The FFmpeg natives, loaded once per JVM, and FFmpeg's error messages.
 *
 * <p>FFmpeg reports the precise cause of a failure ({@code moov atom not found}, {@code partial
 * file}) only through its log. The log callback keeps the last few error lines of the thread that
 * produced them, so {@link VideoDecoder} can put them into its exceptions; they are also passed to
 * the {@code System.Logger} at {@code DEBUG}. Nothing goes to standard error. Thread-safe: the
 * messages are kept per thread, and a video is demuxed on the thread that extracts it.
 */
final class Ffmpeg {
  private static final System.Logger LOG = System.getLogger(Ffmpeg.class.getName());
  private static final int KEPT_MESSAGES = 4;
  private static final ThreadLocal<ArrayDeque<String>> MESSAGES = ThreadLocal.withInitial(ArrayDeque::new);

  private static final String VERSION;
  private static final Throwable LOAD_FAILURE;
  // Held in a static field: FFmpeg keeps calling it for the life of the process.
  private static final LogCallback CALLBACK;

  static {
    String version = null;
    Throwable failure = null;
    LogCallback callback = null;
    try {
      Loader.load(avutil.class);
      Loader.load(avcodec.class);
      Loader.load(avformat.class);
      Loader.load(swscale.class);
      callback = new LogCallback() {
        @Override
        public void call(int level, BytePointer message) {
          record(message.getString(StandardCharsets.UTF_8));
        }
      }.retainReference();
      // The callback only sees lines at or below this level: errors, not warnings or progress.
      av_log_set_level(AV_LOG_ERROR);
      setLogCallback(callback);
      version = av_version_info().getString();
    } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: natives for another platform
      failure = t;
    }
    VERSION = version;
    LOAD_FAILURE = failure;
    CALLBACK = callback;
  }

  private Ffmpeg() {}

  /** FFmpeg's version (e.g. {@code 8.0.1}) and the platform of its natives; loads them on first use. */
  static String version() {
    require();
    return "FFmpeg " + VERSION + " (" + Loader.getPlatform() + ")";
  }

  /**
   * Loads the natives, or throws an {@link IllegalStateException} that says how to build Loupe with
   * the natives of this machine.
   */
  static void require() {
    if (LOAD_FAILURE != null) {
      throw new IllegalStateException("FFmpeg's native libraries for " + Loader.getPlatform()
          + " could not be loaded (" + LOAD_FAILURE + "), so videos cannot be read. Build Loupe for this platform: "
          + "mvn -Djavacpp.platform=" + Loader.getPlatform() + " install", LOAD_FAILURE);
    }
    assert CALLBACK != null;
  }

  /** Forgets this thread's earlier FFmpeg messages, before an operation whose errors are wanted. */
  static void clearMessages() {
    MESSAGES.get().clear();
  }

  /** This thread's FFmpeg error lines since {@link #clearMessages()}, oldest first (at most a few). */
  static List<String> messages() {
    return List.copyOf(MESSAGES.get());
  }

  /** FFmpeg's text for error code {@code code}, e.g. "Invalid data found when processing input". */
  static String describe(int code) {
    byte[] buffer = new byte[256];
    if (av_strerror(code, buffer, buffer.length) < 0) {
      return "FFmpeg error " + code;
    }
    int n = 0;
    while (n < buffer.length && buffer[n] != 0) {
      n++;
    }
    return new String(buffer, 0, n, StandardCharsets.UTF_8);
  }

  private static void record(String line) {
    // "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c8a1c2c0] moov atom not found\n": drop the address.
    String text = line.strip().replaceFirst(" @ 0x[0-9a-f]+\\]", "]");
    if (text.isEmpty()) {
      return;
    }
    if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
      LOG.log(System.Logger.Level.DEBUG, "ffmpeg: " + text);
    }
    ArrayDeque<String> kept = MESSAGES.get();
    if (kept.size() == KEPT_MESSAGES) {
      kept.removeFirst();
    }
    kept.addLast(text);
  }
}
