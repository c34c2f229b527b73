package dev.loupe.indexer;

import dev.loupe.indexer.extract.pdf.PdfFixtures;
import dev.loupe.indexer.extract.tika.OfficeFixtures;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;

/** Small generated files of each kind the ingester reads. */
final class IngestFiles {
  private IngestFiles() {}

  static Path text(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, text);
  }

  /** A two-page PDF: text on both pages, an embedded image on the second. */
  static Path pdf(Path file, String page1, String page2, long seed) throws IOException {
    Files.createDirectories(file.getParent());
    byte[] pdf = PdfFixtures.pdf(
        List.of(PdfFixtures.Page.text(page1), new PdfFixtures.Page(page2, List.of(0))),
        List.of(PdfFixtures.quadrants(120, 90, seed)), "Test document " + seed, "Loupe");
    return Files.write(file, pdf);
  }

  static Path image(Path file, String format, int w, int h, long seed) throws IOException {
    Files.createDirectories(file.getParent());
    BufferedImage image = PdfFixtures.quadrants(w, h, seed);
    if (!ImageIO.write(image, format, file.toFile())) throw new IOException("no ImageIO writer for " + format);
    return file;
  }

  static Path docx(Path file, String title, List<String> paragraphs) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.write(file, OfficeFixtures.docx(title, "Loupe", paragraphs, null));
  }

  /** A 3-second MPEG-4 video at 5 frames a second: red, then green after 1.6 s (a scene change). */
  static Path video(Path file) {
    int w = 64, h = 48, fps = 5, frames = 15;
    try {
      Files.createDirectories(file.getParent());
      try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(file.toFile(), w, h, 0)) {
        r.setFormat("mp4");
        r.setVideoCodec(avcodec.AV_CODEC_ID_MPEG4);
        r.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
        r.setFrameRate(fps);
        r.setGopSize(5);
        r.setVideoQuality(2);
        r.start();
        byte[] rgb = new byte[w * h * 3];
        ByteBuffer buffer = ByteBuffer.allocateDirect(rgb.length);
        for (int i = 0; i < frames; i++) {
          for (int p = 0; p < w * h; p++) {
            rgb[3 * p] = (byte) (i < 8 ? 220 : 20);
            rgb[3 * p + 1] = (byte) (i < 8 ? 20 : 220);
            rgb[3 * p + 2] = 30;
          }
          buffer.clear();
          buffer.put(rgb).flip();
          r.recordImage(w, h, Frame.DEPTH_UBYTE, 3, w * 3, avutil.AV_PIX_FMT_RGB24, buffer);
        }
        r.stop();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** Seeded text of {@code words} words. */
  static String words(long seed, int words) {
    String[] vocabulary = {"river", "stone", "lantern", "copper", "meadow", "signal", "harbor", "window", "orbit", "maple",
        "quartz", "violet", "engine", "garden", "falcon", "ember", "glacier", "needle", "canyon", "thunder"};
    Random r = new Random(seed);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < words; i++) {
      b.append(i == 0 ? "" : i % 12 == 0 ? ".\n\n" : " ").append(vocabulary[r.nextInt(vocabulary.length)]);
    }
    return b.append('.').toString();
  }

  static BufferedImage solid(int w, int h, Color c) {
    BufferedImage b = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = b.createGraphics();
    g.setColor(c);
    g.fillRect(0, 0, w, h);
    g.dispose();
    return b;
  }
}
