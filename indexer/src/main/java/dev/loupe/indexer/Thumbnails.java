package dev.loupe.indexer;

import dev.loupe.embeddings.image.RgbImage;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
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

  /**
   * {@code image} scaled down (never up) to fit {@code size} x {@code size}, as a BufferedImage:
   * each thumbnail pixel is the mean of the source pixels under it (a box filter, so fine
   * patterns average to their tone instead of aliasing). A large image is sampled on a grid of
   * about four points per thumbnail pixel and side, so a 90-megapixel photo costs no more than a
   * 4-megapixel one. The thumbnail's own pixels are the only allocation: ingestion runs beside
   * searches in the server, and every megabyte it allocates brings the next collector pause closer.
   */
  BufferedImage scaled(RgbImage image) {
    int w = image.width(), h = image.height();
    double scale = Math.min(1.0, (double) size / Math.max(w, h));
    int tw = Math.max(1, (int) Math.round(w * scale)), th = Math.max(1, (int) Math.round(h * scale));
    BufferedImage thumb = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
    int[] out = ((DataBufferInt) thumb.getRaster().getDataBuffer()).getData();
    byte[] rgb = image.rgb();
    int step = Math.max(1, Math.max(w, h) / (4 * size));
    for (int ty = 0; ty < th; ty++) {
      int y0 = (int) ((long) ty * h / th), y1 = Math.max(y0 + 1, (int) ((long) (ty + 1) * h / th));
      for (int tx = 0; tx < tw; tx++) {
        int x0 = (int) ((long) tx * w / tw), x1 = Math.max(x0 + 1, (int) ((long) (tx + 1) * w / tw));
        int r = 0, g = 0, b = 0, n = 0;
        for (int y = y0; y < y1; y += step) {
          for (int x = x0, j = 3 * (y * w + x0); x < x1; x += step, j += 3 * step) {
            r += rgb[j] & 0xff;
            g += rgb[j + 1] & 0xff;
            b += rgb[j + 2] & 0xff;
            n++;
          }
        }
        out[ty * tw + tx] = (r + n / 2) / n << 16 | (g + n / 2) / n << 8 | (b + n / 2) / n;
      }
    }
    return thumb;
  }
}
