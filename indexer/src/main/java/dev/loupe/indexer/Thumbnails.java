package dev.loupe.indexer;

import dev.loupe.embeddings.image.RgbImage;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * The thumbnails of visual items: one JPEG per item, {@code <root>/<sha>/<ordinal>.jpg}, its
 * longest side at most {@code size} pixels. A content's thumbnails live and die together with its
 * items: written before the commit that adds the items, deleted with the folder when they are
 * deleted; a folder whose content is neither done nor pending is a leftover of a crash and is
 * swept at start.
 *
 * <p>Thread-safe: files are written under a temporary name and renamed, and each content is
 * written by one worker at a time.
 */
final class Thumbnails {
  private final Path root;
  private final int size;

  Thumbnails(Path root, int size) {
    this.root = root;
    this.size = size;
  }

  Path root() {
    return root;
  }

  /** The path of item {@code ordinal}'s thumbnail relative to the data directory's parent folder of thumbnails. */
  static String relative(String sha, int ordinal) {
    return "thumbs/" + sha + "/" + ordinal + ".jpg";
  }

  Path file(String sha, int ordinal) {
    return root.resolve(sha).resolve(ordinal + ".jpg");
  }

  /** Writes the thumbnail of item {@code ordinal} of {@code sha}. */
  void write(String sha, int ordinal, RgbImage image) throws IOException {
    Path file = file(sha, ordinal);
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(ordinal + ".jpg.tmp");
    if (!ImageIO.write(scaled(image), "jpg", tmp.toFile())) {
      throw new IOException("no JPEG writer in this JVM's ImageIO to write " + file);
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Deletes every thumbnail of {@code sha}; absent is fine. */
  void delete(String sha) throws IOException {
    Path dir = root.resolve(sha);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(f);
      }
    } catch (NoSuchFileException e) {
      return;
    }
    Files.deleteIfExists(dir);
  }

  /** The content hashes that have a thumbnail folder. */
  List<String> contents() throws IOException {
    List<String> shas = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return shas;
    }
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
      for (Path d : dirs) {
        String name = d.getFileName().toString();
        if (name.length() == 64 && name.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
          shas.add(name);
        }
      }
    }
    return shas;
  }

  /** {@code image} scaled down (never up) to fit {@code size} x {@code size}, as a BufferedImage. */
  BufferedImage scaled(RgbImage image) {
    BufferedImage full = toBuffered(image);
    int w = full.getWidth(), h = full.getHeight();
    double scale = Math.min(1.0, (double) size / Math.max(w, h));
    int tw = Math.max(1, (int) Math.round(w * scale)), th = Math.max(1, (int) Math.round(h * scale));
    if (tw == w && th == h) {
      return full;
    }
    BufferedImage thumb = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = thumb.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.drawImage(full, 0, 0, tw, th, null);
    } finally {
      g.dispose();
    }
    return thumb;
  }

  /**
   * The image as a BufferedImage; a large one is first subsampled (nearest pixel) to about four
   * times the thumbnail size, so a 90-megapixel photo does not cost a 360 MB copy.
   */
  private BufferedImage toBuffered(RgbImage image) {
    int w = image.width(), h = image.height();
    int step = Math.max(1, Math.max(w, h) / (4 * size));
    int sw = (w + step - 1) / step, sh = (h + step - 1) / step;
    byte[] rgb = image.rgb();
    int[] pixels = new int[sw * sh];
    for (int y = 0, i = 0; y < sh; y++) {
      for (int x = 0; x < sw; x++, i++) {
        int j = 3 * ((y * step) * w + x * step);
        pixels[i] = (rgb[j] & 0xff) << 16 | (rgb[j + 1] & 0xff) << 8 | (rgb[j + 2] & 0xff);
      }
    }
    BufferedImage b = new BufferedImage(sw, sh, BufferedImage.TYPE_INT_RGB);
    b.setRGB(0, 0, sw, sh, pixels, 0, sw);
    return b;
  }
}
