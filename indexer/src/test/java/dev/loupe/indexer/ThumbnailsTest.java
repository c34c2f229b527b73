package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.RgbImage;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThumbnailsTest {
  private static RgbImage image(int w, int h, java.util.function.IntBinaryOperator colour) {
    byte[] rgb = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int c = colour.applyAsInt(x, y), j = 3 * (y * w + x);
        rgb[j] = (byte) (c >> 16);
        rgb[j + 1] = (byte) (c >> 8);
        rgb[j + 2] = (byte) c;
      }
    }
    return new RgbImage(w, h, rgb);
  }

  private static int channel(int rgb, int shift) {
    return rgb >> shift & 0xff;
  }

  @Test
  void a_large_picture_shrinks_to_fit_the_size_keeping_its_aspect_and_its_halves() {
    BufferedImage t = new Thumbnails(Path.of("unused"), 256).scaled(image(2000, 1000, (x, y) -> x < 1000 ? 0xdc1e1e : 0x1e1edc));
    assertEquals(256, t.getWidth());
    assertEquals(128, t.getHeight());
    assertEquals(0xdc1e1e, t.getRGB(10, 64) & 0xffffff);
    assertEquals(0x1e1edc, t.getRGB(250, 64) & 0xffffff);
  }

  @Test
  void a_fine_pattern_averages_to_its_tone_instead_of_aliasing() {
    // One-pixel black and white stripes, shrunk 4x: every thumbnail pixel is mid grey.
    BufferedImage t = new Thumbnails(Path.of("unused"), 100).scaled(image(400, 400, (x, y) -> (x & 1) == 0 ? 0xffffff : 0));
    for (int y = 0; y < 100; y += 7) {
      for (int x = 0; x < 100; x += 7) {
        int grey = channel(t.getRGB(x, y), 8);
        assertTrue(Math.abs(grey - 128) <= 1, "pixel " + x + "," + y + " is " + grey);
      }
    }
  }

  @Test
  void a_huge_picture_is_sampled_and_still_averages_its_regions() {
    // 12000 x 8000 (96 megapixels) in four quadrants.
    BufferedImage t = new Thumbnails(Path.of("unused"), 240).scaled(image(12000, 8000,
        (x, y) -> x < 6000 ? (y < 4000 ? 0xff0000 : 0x00ff00) : (y < 4000 ? 0x0000ff : 0xffffff)));
    assertEquals(240, t.getWidth());
    assertEquals(160, t.getHeight());
    assertEquals(0xff0000, t.getRGB(20, 20) & 0xffffff);
    assertEquals(0x00ff00, t.getRGB(20, 140) & 0xffffff);
    assertEquals(0x0000ff, t.getRGB(220, 20) & 0xffffff);
    assertEquals(0xffffff, t.getRGB(220, 140) & 0xffffff);
  }

  @Test
  void a_small_picture_is_not_scaled_up_and_is_written_as_a_jpeg(@TempDir Path dir) throws Exception {
    Thumbnails thumbnails = new Thumbnails(dir, 256);
    RgbImage small = image(40, 30, (x, y) -> 0x336699);
    assertEquals(40, thumbnails.scaled(small).getWidth());
    thumbnails.write("a".repeat(64), 3, small);
    BufferedImage read = ImageIO.read(Files.newInputStream(thumbnails.file("a".repeat(64), 3)));
    assertNotNull(read, "a decodable JPEG");
    assertEquals(40, read.getWidth());
    assertEquals(30, read.getHeight());
    assertTrue(Math.abs(channel(read.getRGB(20, 15), 0) - 0x99) <= 4, Integer.toHexString(read.getRGB(20, 15)));
  }
}
