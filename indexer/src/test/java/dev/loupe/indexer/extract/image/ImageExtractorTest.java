package dev.loupe.indexer.extract.image;

import static dev.loupe.indexer.extract.Extraction.extract;
import static dev.loupe.indexer.extract.Extraction.fails;
import static dev.loupe.indexer.extract.Extraction.limits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.TestData;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.Extracted.Visual;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.MediaTypes;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageExtractorTest {

  @TempDir Path dir;
  private final ImageExtractor images = new ImageExtractor();

  /** 40x30: four flat quadrants, so that lossless formats round-trip exactly and JPEG nearly. */
  private static BufferedImage quadrants(int type) {
    BufferedImage image = new BufferedImage(40, 30, type);
    int[] colours = {0xd03030, 0x30a040, 0x3050d0, 0xe0c020};
    for (int y = 0; y < 30; y++) {
      for (int x = 0; x < 40; x++) {
        image.setRGB(x, y, colours[(x < 20 ? 0 : 1) + (y < 15 ? 0 : 2)]);
      }
    }
    return image;
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private static byte[] encode(BufferedImage image, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(image, format, out), "an ImageIO writer for " + format);
    return out.toByteArray();
  }

  private Visual single(Path file, ExtractionLimits limits) throws Exception {
    List<Extracted> pieces = extract(images, file, limits);
    assertEquals(1, pieces.size(), pieces::toString);
    Visual v = assertInstanceOf(Visual.class, pieces.get(0));
    assertEquals(Extracted.Kind.IMAGE, v.kind());
    assertEquals(0, v.page());
    assertEquals(-1, v.timestampMs());
    return v;
  }

  private Visual single(Path file) throws Exception {
    return single(file, ExtractionLimits.defaults());
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "gif", "bmp", "tiff"})
  void decodes_lossless_formats_exactly(String format) throws Exception {
    BufferedImage image = quadrants(format.equals("gif") ? BufferedImage.TYPE_BYTE_INDEXED : BufferedImage.TYPE_INT_RGB);
    Path file = write("quadrants." + format, encode(image, format));

    Visual v = single(file);

    assertArrayEquals(ImageDecoder.toRgb(image).rgb(), v.pixels().rgb());
    assertEquals(Map.of(), v.metadata());
    assertTrue(images.accepts(MediaTypes.detect(file)), "the detected type " + MediaTypes.detect(file) + " is accepted");
  }

  @Test
  void decodes_a_jpeg_closely() throws Exception {
    BufferedImage image = quadrants(BufferedImage.TYPE_INT_RGB);
    Path file = write("quadrants.jpg", encode(image, "jpeg"));

    Visual v = single(file);

    assertEquals(40, v.pixels().width());
    assertEquals(30, v.pixels().height());
    double mad = meanAbsoluteDifference(ImageDecoder.toRgb(image), v.pixels());
    assertTrue(mad < 12, "JPEG round trip differs by " + mad + " on average");
    int[][] centres = {{10, 7, 0xd03030}, {30, 7, 0x30a040}, {10, 22, 0x3050d0}, {30, 22, 0xe0c020}};
    for (int[] c : centres) {
      for (int ch = 0; ch < 3; ch++) {
        int expected = (c[2] >> (16 - 8 * ch)) & 0xff;
        assertEquals(expected, v.pixels().sample(c[0], c[1], ch), 24, "quadrant centre " + c[0] + "," + c[1]);
      }
    }
    assertTrue(images.accepts(MediaTypes.detect(file)));
  }

  @Test
  void decodes_a_cmyk_jpeg() throws Exception {
    // Flat red as Adobe writes CMYK (inverted samples): c = 0, m = y = 255, k = 0 stored as 255, 0, 0, 255.
    java.awt.image.WritableRaster raster = java.awt.image.Raster.createInterleavedRaster(
        java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
    for (int y = 0; y < 16; y++) {
      for (int x = 0; x < 16; x++) {
        raster.setPixel(x, y, new int[] {255, 0, 0, 255});
      }
    }
    javax.imageio.ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (javax.imageio.stream.ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
      writer.setOutput(ios);
      writer.write(null, new javax.imageio.IIOImage(raster, null, null), null);
    } finally {
      writer.dispose();
    }
    byte[] adobe = {(byte) 0xff, (byte) 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}; // APP14, transform 0
    Path file = write("cmyk.jpg", ExifFixtures.insertAt(out.toByteArray(), 2, adobe));

    Visual v = single(file);

    assertEquals(16, v.pixels().width());
    for (int c = 0; c < 3; c++) {
      assertEquals(c == 0 ? 255 : 0, v.pixels().sample(8, 8, c), 8, "channel " + c);
    }
    assertTrue(images.accepts(MediaTypes.detect(file)));
  }

  @Test
  void decodes_a_webp_through_the_twelvemonkeys_plugin_and_keeps_its_exif_date() throws Exception {
    // bands-12x8.webp: 130 bytes, lossless, made with Pillow 9.4 (/usr/bin/python3): four 3-pixel
    // vertical bands red, green, blue, yellow, and EXIF DateTime 2001:02:03 04:05:06.
    Path file;
    try (InputStream in = getClass().getResourceAsStream("bands-12x8.webp")) {
      file = write("bands.webp", in.readAllBytes());
    }

    Visual v = single(file);

    RgbImage p = v.pixels();
    assertEquals(12, p.width());
    assertEquals(8, p.height());
    int[][] bands = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}};
    for (int x = 0; x < 12; x++) {
      for (int c = 0; c < 3; c++) {
        assertEquals(bands[x / 3][c], p.sample(x, 4, c), "pixel " + x + ", channel " + c);
      }
    }
    assertEquals(Map.of("exif_date", "2001-02-03T04:05:06"), v.metadata());
    assertEquals("image/webp", MediaTypes.detect(file));
    assertTrue(images.accepts("image/webp"));
  }

  @Test
  void applies_the_exif_orientation_of_a_jpeg_and_keeps_its_date() throws Exception {
    byte[] jpeg = encode(quadrants(BufferedImage.TYPE_INT_RGB), "jpeg");
    byte[] tiff = ExifFixtures.tiff(false, 6, "2020:01:02 03:04:05", "2019:08:07 06:05:04");
    Path file = write("photo.jpg", ExifFixtures.jpegWithExif(jpeg, tiff));

    Visual v = single(file);

    assertEquals(30, v.pixels().width(), "orientation 6: turned a quarter clockwise");
    assertEquals(40, v.pixels().height());
    // The top-left quadrant (red) of the stored image is now top-right.
    assertTrue(v.pixels().sample(25, 5, 0) > 180 && v.pixels().sample(25, 5, 2) < 90, "red at the top right");
    assertEquals(Map.of("exif_date", "2019-08-07T06:05:04"), v.metadata());
  }

  @Test
  void an_image_over_the_pixel_limit_fails_before_it_is_decoded() throws Exception {
    Path file = write("big.png", encode(quadrants(BufferedImage.TYPE_INT_RGB), "png"));

    fails(Reason.OVER_LIMIT, images, file, limits().maxPixels(1_000).build(), "40x30 = 1200 pixels", "limit of 1000 pixels",
        "maxPixels");
  }

  @Test
  void a_decompression_bomb_header_fails_without_allocating() throws Exception {
    byte[] png = encode(quadrants(BufferedImage.TYPE_INT_RGB), "png");
    // IHDR claims 60000 x 60000 pixels (3.6 billion); the real data is 40x30.
    ByteBuffer.wrap(png, 16, 8).putInt(60_000).putInt(60_000);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(png, 12, 17);
    ByteBuffer.wrap(png, 29, 4).putInt((int) crc.getValue());
    Path file = write("bomb.png", png);

    fails(Reason.OVER_LIMIT, images, file, ExtractionLimits.defaults(), "60000x60000");
  }

  @Test
  void bytes_that_are_no_image_fail_as_corrupt() throws Exception {
    byte[] junk = new byte[2048];
    new Random(11).nextBytes(junk);

    fails(Reason.CORRUPT, images, write("junk.png", junk), ExtractionLimits.defaults(), "not an image");
  }

  @Test
  void a_truncated_image_fails_as_corrupt() throws Exception {
    byte[] png = encode(noise(200, 150, 5), "png");

    fails(Reason.CORRUPT, images, write("cut.png", Arrays.copyOf(png, png.length / 2)), ExtractionLimits.defaults());
  }

  @Test
  void a_file_over_the_size_limit_fails_before_it_is_read() throws Exception {
    Path file = write("a.png", encode(quadrants(BufferedImage.TYPE_INT_RGB), "png"));

    fails(Reason.OVER_LIMIT, images, file, limits().maxFileBytes(50).build(), "limit of 50 bytes");
  }

  @Test
  void accepts_the_image_types_imageio_decodes_and_nothing_else() {
    for (String t : List.of("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp")) {
      assertTrue(images.accepts(t), t);
    }
    for (String t : List.of("image/heic", "image/svg+xml", "application/pdf", "video/mp4", "text/plain")) {
      assertFalse(images.accepts(t), t);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg"})
  void decodes_the_shared_sample_images(String name) throws Exception {
    Path file = TestData.shared("images/" + name);
    BufferedImage reference = ImageIO.read(file.toFile());

    Visual v = single(file);

    assertEquals(reference.getWidth(), v.pixels().width());
    assertEquals(reference.getHeight(), v.pixels().height());
    assertTrue(images.accepts(MediaTypes.detect(file)));
  }

  private static double meanAbsoluteDifference(RgbImage a, RgbImage b) {
    long sum = 0;
    for (int i = 0; i < a.rgb().length; i++) {
      sum += Math.abs((a.rgb()[i] & 0xff) - (b.rgb()[i] & 0xff));
    }
    return (double) sum / a.rgb().length;
  }

  /** Seeded noise, which compresses badly, so that half a PNG is missing much of its data. */
  private static BufferedImage noise(int w, int h, long seed) {
    Random random = new Random(seed);
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, random.nextInt(1 << 24));
      }
    }
    return image;
  }
}
