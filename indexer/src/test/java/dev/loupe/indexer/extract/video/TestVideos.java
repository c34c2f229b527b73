package dev.loupe.indexer.extract.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_AAC;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_H264;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MJPEG;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG4;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_VP8;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_get_name;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ420P;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameRecorder;

/**
 * Short test videos, encoded with JavaCV's {@link FFmpegFrameRecorder} over the same FFmpeg
 * natives the extractor reads them with.
 */
final class TestVideos {
  private TestVideos() {}

  /** Paints frame {@code index} (shown at {@code index / fps} seconds) into {@code rgb}, RGB24 row-major. */
  interface Painter {
    void paint(int index, int width, int height, byte[] rgb);
  }

  /** A container and codec to write with, and how many B-frames the encoder may put between references. */
  record Format(String container, String extension, int codec, int pixelFormat, int bFrames) {
    @Override
    public String toString() {
      return container + "/" + avcodec_get_name(codec).getString() + (bFrames > 0 ? " with B-frames" : "");
    }
  }

  static final Format MP4_MPEG4 = new Format("mp4", "mp4", AV_CODEC_ID_MPEG4, AV_PIX_FMT_YUV420P, 0);
  static final Format MP4_MPEG4_B_FRAMES = new Format("mp4", "mp4", AV_CODEC_ID_MPEG4, AV_PIX_FMT_YUV420P, 2);
  static final Format MKV_MPEG4 = new Format("matroska", "mkv", AV_CODEC_ID_MPEG4, AV_PIX_FMT_YUV420P, 0);
  static final Format AVI_MJPEG = new Format("avi", "avi", AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ420P, 0);
  /** H.264 by OpenH264 (constrained baseline: no B-frames). */
  static final Format MP4_H264 = new Format("mp4", "mp4", AV_CODEC_ID_H264, AV_PIX_FMT_YUV420P, 0);
  static final Format WEBM_VP8 = new Format("webm", "webm", AV_CODEC_ID_VP8, AV_PIX_FMT_YUV420P, 0);

  /**
   * Writes {@code frames} frames of {@code width}x{@code height} at {@code fps} frames a second, a
   * keyframe every {@code gop} frames (so cuts fall on predicted frames), at a fine quantizer so
   * flat colours survive.
   */
  static Path write(Path file, Format format, int width, int height, double fps, int frames, int gop, Painter painter,
      Consumer<FFmpegFrameRecorder> options) {
    return write(file, format, width, height, fps, frames, gop, painter, options, false);
  }

  /**
   * As {@link #write(Path, Format, int, int, double, int, int, Painter, Consumer)}; when {@code
   * streamed}, through an output stream the muxer cannot seek back in, as a live recording or a
   * browser's MediaRecorder writes: a Matroska or WebM file then declares no duration.
   */
  static Path write(Path file, Format format, int width, int height, double fps, int frames, int gop, Painter painter,
      Consumer<FFmpegFrameRecorder> options, boolean streamed) {
    try (OutputStream out = streamed ? Files.newOutputStream(file) : OutputStream.nullOutputStream();
        FFmpegFrameRecorder recorder = streamed
            ? new FFmpegFrameRecorder(out, width, height, 0)
            : new FFmpegFrameRecorder(file.toFile(), width, height, 0)) {
      recorder.setFormat(format.container());
      recorder.setVideoCodec(format.codec());
      recorder.setPixelFormat(format.pixelFormat());
      recorder.setFrameRate(fps);
      recorder.setGopSize(gop);
      recorder.setVideoBitrate(2_000_000);
      recorder.setMaxBFrames(format.bFrames());
      if (format.codec() == AV_CODEC_ID_MPEG4 || format.codec() == AV_CODEC_ID_MJPEG) {
        recorder.setVideoQuality(2); // qscale 2: nearly lossless on flat colours
      }
      options.accept(recorder);
      recorder.start();
      byte[] rgb = new byte[width * height * 3];
      ByteBuffer buffer = ByteBuffer.allocateDirect(rgb.length);
      for (int i = 0; i < frames; i++) {
        painter.paint(i, width, height, rgb);
        buffer.clear();
        buffer.put(rgb).flip();
        recorder.recordImage(width, height, Frame.DEPTH_UBYTE, 3, width * 3, AV_PIX_FMT_RGB24, buffer);
      }
      recorder.stop();
    } catch (IOException e) {
      throw new IllegalStateException("could not write test video " + file + " as " + format + ": " + e.getMessage(), e);
    }
    return file;
  }

  /** {@code seconds} of a 440 Hz tone, mono AAC at 16 kHz, and no video stream. */
  static Path writeAudioOnly(Path file, String container, double seconds) {
    int rate = 16_000;
    try (FFmpegFrameRecorder recorder = new FFmpegFrameRecorder(file.toFile(), 1)) {
      recorder.setFormat(container);
      recorder.setAudioCodec(AV_CODEC_ID_AAC);
      recorder.setSampleRate(rate);
      recorder.setAudioChannels(1);
      recorder.start();
      int total = (int) (seconds * rate);
      for (int start = 0; start < total; start += 1024) {
        short[] samples = new short[Math.min(1024, total - start)];
        for (int i = 0; i < samples.length; i++) {
          samples[i] = (short) (8000 * Math.sin(2 * Math.PI * 440 * (start + i) / rate));
        }
        recorder.recordSamples(ShortBuffer.wrap(samples));
      }
      recorder.stop();
    } catch (FrameRecorder.Exception e) {
      throw new IllegalStateException("could not write test audio " + file + ": " + e.getMessage(), e);
    }
    return file;
  }

  /** Fills the whole frame with one colour. */
  static void fill(byte[] rgb, int[] colour) {
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = (byte) colour[0];
      rgb[i + 1] = (byte) colour[1];
      rgb[i + 2] = (byte) colour[2];
    }
  }

  /** Fills the rectangle [x0, x1) x [y0, y1), clipped to the frame, with one colour. */
  static void fill(byte[] rgb, int width, int height, int x0, int y0, int x1, int y1, int[] colour) {
    for (int y = Math.max(0, y0); y < Math.min(height, y1); y++) {
      for (int x = Math.max(0, x0); x < Math.min(width, x1); x++) {
        int p = (y * width + x) * 3;
        rgb[p] = (byte) colour[0];
        rgb[p + 1] = (byte) colour[1];
        rgb[p + 2] = (byte) colour[2];
      }
    }
  }

  /** The first {@code bytes} bytes of {@code source}, as a download cut short leaves it. */
  static Path truncatedCopy(Path source, Path target, long bytes) {
    try {
      byte[] all = Files.readAllBytes(source);
      Files.write(target, Arrays.copyOf(all, (int) Math.min(bytes, all.length)));
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
