package dev.loupe.embeddings.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.TestData;
import java.awt.Color;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import javax.imageio.IIOImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageDecoderTest {
  private final ImageDecoder decoder = new ImageDecoder();

  // --- EXIF orientation -----------------------------------------------------------------------

  /**
   * The upright image for EXIF orientation {@code o}, from the EXIF specification's table of
   * where the stored 0th row and 0th column are to be shown (independent of the decoder's
   * Pillow-style transpose methods).
   */
  static RgbImage uprightBySpec(RgbImage stored, int o) {
    String[] row0 = {null, "top", "top", "bottom", "bottom", "left", "right", "right", "left"};
    String[] col0 = {null, "left", "right", "right", "left", "top", "top", "bottom", "bottom"};
    int w = stored.width(), h = stored.height();
    boolean transposed = o >= 5;
    int vw = transposed ? h : w, vh = transposed ? w : h;
    byte[] out = new byte[3 * w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int vx, vy;
        if (!transposed) {
          vx = col0[o].equals("left") ? x : w - 1 - x;
          vy = row0[o].equals("top") ? y : h - 1 - y;
        } else {
          vx = row0[o].equals("left") ? y : h - 1 - y;
          vy = col0[o].equals("top") ? x : w - 1 - x;
        }
        System.arraycopy(stored.rgb(), (y * w + x) * 3, out, (vy * vw + vx) * 3, 3);
      }
    }
    return new RgbImage(vw, vh, out);
  }

  /** A 7x5 JPEG whose pixels all differ, so any wrong turn shows. */
  static byte[] asymmetricJpeg() {
    BufferedImage image = new BufferedImage(7, 5, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 7; x++) {
        image.setRGB(x, y, new Color(x * 36, y * 60, (x * 5 + y * 11) * 3).getRGB());
      }
    }
    return ClipFixtures.jpeg(image, 1.0f);
  }

  @ParameterizedTest(name = "orientation {0}")
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
  void jpegs_are_turned_upright_by_their_exif_orientation_in_either_byte_order(int orientation) {
    byte[] jpeg = asymmetricJpeg();
    RgbImage stored = decoder.decode(jpeg, "plain.jpg");
    RgbImage expected = uprightBySpec(stored, orientation);
    for (boolean littleEndian : new boolean[] {true, false}) {
      RgbImage actual = decoder.decode(ClipFixtures.withExifOrientation(jpeg, orientation, littleEndian), "exif.jpg");
      String order = littleEndian ? "II" : "MM";
      assertEquals(expected.width() + "x" + expected.height(), actual.width() + "x" + actual.height(), order + " size");
      assertArrayEquals(expected.rgb(), actual.rgb(), order + " pixels for orientation " + orientation);
    }
  }

  @Test
  void pngs_are_turned_upright_by_their_exif_chunk() {
    byte[] raw = new byte[3 * 3 * 2];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = (byte) (i * 13);
    }
    RgbImage stored = decoder.decode(ClipFixtures.png(3, 2, 2, 8, raw, null, null, null), "plain.png");
    byte[] rotated = ClipFixtures.png(3, 2, 2, 8, raw, null, null, ClipFixtures.tiffWithOrientation(6, false));

    RgbImage actual = decoder.decode(rotated, "exif.png");

    assertArrayEquals(uprightBySpec(stored, 6).rgb(), actual.rgb());
    assertEquals(2, actual.width());
  }

  @ParameterizedTest(name = "orientation {0}")
  @ValueSource(ints = {0, 9, 65535})
  void out_of_range_orientations_leave_the_image_as_stored(int orientation) {
    byte[] jpeg = asymmetricJpeg();
    RgbImage stored = decoder.decode(jpeg, "plain.jpg");
    assertArrayEquals(stored.rgb(), decoder.decode(ClipFixtures.withExifOrientation(jpeg, orientation, true), "odd.jpg").rgb());
  }

  // --- colour -----------------------------------------------------------------------------

  @Test
  void alpha_is_composited_on_white() {
    byte[] rgba = {
      0, 0, 0, 0, // transparent black
      10, 20, 30, (byte) 255, // opaque
      (byte) 200, 100, 0, (byte) 128, // half
      0, 0, (byte) 255, 1};
    RgbImage image = decoder.decode(ClipFixtures.png(4, 1, 6, 8, rgba, null, null, null), "alpha.png");
    int[][] expected = {{255, 255, 255}, {10, 20, 30}, {227, 177, 127}, {254, 254, 255}};
    for (int x = 0; x < 4; x++) {
      for (int c = 0; c < 3; c++) {
        int a = rgba[4 * x + 3] & 0xff, v = rgba[4 * x + c] & 0xff;
        double ideal = (v * a + 255.0 * (255 - a)) / 255;
        assertEquals(expected[x][c], image.sample(x, 0, c), "pixel " + x + " channel " + c);
        assertTrue(Math.abs(image.sample(x, 0, c) - ideal) <= 0.5 + 1e-9, "pixel " + x + " is " + image.sample(x, 0, c) + ", ideal " + ideal);
      }
    }
  }

  @Test
  void pillows_integer_composite_rounds_every_level_to_nearest() {
    for (int a = 0; a < 256; a++) {
      for (int c = 0; c < 256; c++) {
        double ideal = (c * a + 255.0 * (255 - a)) / 255;
        int v = a == 0 ? 255 : ImageDecoder.onWhite(c, a);
        assertTrue(Math.abs(v - ideal) <= 0.5 + 1e-9, "c " + c + " a " + a + ": " + v + " vs " + ideal);
      }
    }
  }

  @Test
  void grey_with_alpha_palettes_with_trns_and_transparent_grey_levels_are_composited() {
    RgbImage la = decoder.decode(ClipFixtures.png(2, 1, 4, 8, new byte[] {100, 0, 100, (byte) 255}, null, null, null), "la.png");
    assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 100, 100, 100}, la.rgb());

    byte[] palette = {10, 20, 30, 40, 50, 60};
    RgbImage indexed = decoder.decode(ClipFixtures.png(2, 1, 3, 8, new byte[] {0, 1}, palette, new byte[] {0}, null), "p.png");
    assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 40, 50, 60}, indexed.rgb());

    // tRNS on greyscale: level 5 is transparent.
    RgbImage keyed = decoder.decode(ClipFixtures.png(2, 1, 0, 8, new byte[] {5, 6}, null, new byte[] {0, 5}, null), "key.png");
    assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 6, 6, 6}, keyed.rgb());
  }

  @Test
  void greyscale_of_every_bit_depth_becomes_8_bit_rgb() {
    RgbImage sixteen = decoder.decode(ClipFixtures.png(2, 1, 0, 16, new byte[] {0x12, 0x34, (byte) 0xff, (byte) 0xff}, null, null, null), "16.png");
    assertArrayEquals(new byte[] {0x12, 0x12, 0x12, (byte) 255, (byte) 255, (byte) 255}, sixteen.rgb(), "16-bit keeps the high byte");

    RgbImage two = decoder.decode(ClipFixtures.png(4, 1, 0, 2, new byte[] {(byte) 0b00_01_10_11}, null, null, null), "2.png");
    assertArrayEquals(new byte[] {0, 0, 0, 85, 85, 85, (byte) 170, (byte) 170, (byte) 170, (byte) 255, (byte) 255, (byte) 255}, two.rgb());

    RgbImage one = decoder.decode(ClipFixtures.png(2, 1, 0, 1, new byte[] {(byte) 0b0100_0000}, null, null, null), "1.png");
    assertArrayEquals(new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255}, one.rgb());
  }

  @Test
  void sixteen_bit_rgb_keeps_the_high_byte_like_pillow() {
    byte[] raw = {0x12, 0x34, 0x56, 0x78, (byte) 0x9a, (byte) 0xbc};
    assertArrayEquals(new byte[] {0x12, 0x56, (byte) 0x9a}, decoder.decode(ClipFixtures.png(1, 1, 2, 16, raw, null, null, null), "rgb16.png").rgb());
  }

  @Test
  void the_camera_sample_is_read_as_grey_levels_without_gamma() throws IOException {
    Path file = TestData.shared("images/camera.png");
    RgbImage image = decoder.decode(file);
    Raster raw = javax.imageio.ImageIO.read(file.toFile()).getRaster();
    for (int y = 0; y < image.height(); y += 37) {
      for (int x = 0; x < image.width(); x += 41) {
        int level = raw.getSample(x, y, 0);
        assertEquals(level, image.sample(x, y, 0));
        assertEquals(level, image.sample(x, y, 2));
      }
    }
  }

  /** A flat 16x16 four-channel JPEG of the given stored samples. */
  static byte[] flatFourChannelJpeg(int s0, int s1, int s2, int sk, byte[] marker) {
    WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
    for (int y = 0; y < 16; y++) {
      for (int x = 0; x < 16; x++) {
        raster.setPixel(x, y, new int[] {s0, s1, s2, sk});
      }
    }
    byte[] jpeg = ClipFixtures.jpeg(new IIOImage(raster, null, null), 1.0f);
    return marker == null ? jpeg : ClipFixtures.insertAfterSoi(jpeg, marker);
  }

  @Test
  void cmyk_jpegs_are_read_as_inverted_adobe_cmyk_and_converted_naively() {
    // Stored (inverted) CMYK: c = 255 - s. Red is c = 0, m = y = 255, k = 0.
    RgbImage red = decoder.decode(flatFourChannelJpeg(255, 0, 0, 255, ClipFixtures.adobeApp14(0)), "red.jpg");
    assertNear(new int[] {255, 0, 0}, red, 2);
    // 50% black only: r = g = b = 255 - k.
    RgbImage grey = decoder.decode(flatFourChannelJpeg(255, 255, 255, 128, ClipFixtures.adobeApp14(0)), "grey.jpg");
    assertNear(new int[] {128, 128, 128}, grey, 2);
    // c = 100, k = 50 (no Adobe marker: Pillow still assumes Adobe's inversion): r = 205 - 205 * 100 / 255.
    RgbImage mixed = decoder.decode(flatFourChannelJpeg(155, 255, 255, 205, null), "mixed.jpg");
    assertNear(new int[] {125, 205, 205}, mixed, 2);
  }

  @Test
  void ycck_jpegs_are_converted_to_cmyk_first() throws IOException {
    Map<String, byte[]> fixtures = ClipFixtures.all(TestData.shared("images"));
    RgbImage cmyk = decoder.decode(fixtures.get("chelsea-cmyk.jpg"), "chelsea-cmyk.jpg");
    RgbImage ycck = decoder.decode(fixtures.get("chelsea-ycck.jpg"), "chelsea-ycck.jpg");
    long sum = 0;
    for (int i = 0; i < cmyk.rgb().length; i++) {
      sum += Math.abs((cmyk.rgb()[i] & 0xff) - (ycck.rgb()[i] & 0xff));
    }
    double mean = (double) sum / cmyk.rgb().length;
    assertTrue(mean < 2, "the CMYK and YCCK encodings of one picture differ by " + mean + " levels on average");
  }

  @Test
  void embedded_icc_profiles_are_ignored_as_pillow_ignores_them() {
    byte[] jpeg = asymmetricJpeg();
    byte[] profile = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
    ByteBuffer app2 = ByteBuffer.allocate(4 + 14 + profile.length);
    app2.put((byte) 0xff).put((byte) 0xe2).putShort((short) (2 + 14 + profile.length));
    app2.put("ICC_PROFILE\0".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 1).put(profile);
    byte[] tagged = ClipFixtures.insertAt(jpeg, 2, app2.array());

    assertArrayEquals(decoder.decode(jpeg, "plain.jpg").rgb(), decoder.decode(tagged, "linear-rgb.jpg").rgb());
  }

  private static void assertNear(int[] rgb, RgbImage image, int tolerance) {
    for (int c = 0; c < 3; c++) {
      int actual = image.sample(image.width() / 2, image.height() / 2, c);
      assertTrue(Math.abs(actual - rgb[c]) <= tolerance, "channel " + c + " is " + actual + ", expected " + rgb[c] + " +- " + tolerance);
    }
  }

  // --- in-memory images -----------------------------------------------------------------------

  @ParameterizedTest(name = "type {0}")
  @ValueSource(ints = {BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_INT_ARGB_PRE, BufferedImage.TYPE_INT_BGR,
      BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_4BYTE_ABGR_PRE})
  void rendered_rgb_images_of_every_common_layout_give_the_same_pixels(int type) {
    BufferedImage image = new BufferedImage(13, 7, type);
    for (int y = 0; y < 7; y++) {
      for (int x = 0; x < 13; x++) {
        image.setRGB(x, y, 0xff000000 | (x * 19) << 16 | (y * 36) << 8 | (x * y * 3));
      }
    }
    RgbImage rgb = ImageDecoder.toRgb(image);
    for (int y = 0; y < 7; y++) {
      for (int x = 0; x < 13; x++) {
        assertEquals(x * 19, rgb.sample(x, y, 0));
        assertEquals(y * 36, rgb.sample(x, y, 1));
        assertEquals(x * y * 3, rgb.sample(x, y, 2));
      }
    }
  }

  @Test
  void sub_images_are_read_from_their_own_origin() {
    BufferedImage image = new BufferedImage(20, 10, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < 10; y++) {
      for (int x = 0; x < 20; x++) {
        image.setRGB(x, y, (x * 12) << 16 | (y * 25) << 8 | 7);
      }
    }
    RgbImage sub = ImageDecoder.toRgb(image.getSubimage(5, 3, 9, 4));
    assertEquals(9, sub.width());
    assertEquals(4, sub.height());
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 9; x++) {
        assertEquals((x + 5) * 12, sub.sample(x, y, 0));
        assertEquals((y + 3) * 25, sub.sample(x, y, 1));
        assertEquals(7, sub.sample(x, y, 2));
      }
    }
  }

  @Test
  void grey_and_indexed_images_keep_their_stored_levels() {
    BufferedImage grey = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
    grey.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 100, 255});
    // getRGB would treat the grey colour space as linear and brighten 100 to about 168.
    assertArrayEquals(new byte[] {0, 0, 0, 100, 100, 100, (byte) 255, (byte) 255, (byte) 255}, ImageDecoder.toRgb(grey).rgb());

    IndexColorModel palette = new IndexColorModel(8, 2, new byte[] {1, 2}, new byte[] {3, 4}, new byte[] {5, 6});
    BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, palette);
    indexed.getRaster().setSamples(0, 0, 2, 1, 0, new int[] {1, 0});
    assertArrayEquals(new byte[] {2, 4, 6, 1, 3, 5}, ImageDecoder.toRgb(indexed).rgb());
  }

  // --- bad input ------------------------------------------------------------------------------

  @Test
  void garbage_is_rejected_naming_the_source() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> decoder.decode("definitely not an image".getBytes(StandardCharsets.US_ASCII), "notes.txt"));
    assertTrue(e.getMessage().startsWith("notes.txt is not an image in a format this JVM decodes"), e.getMessage());
    assertTrue(e.getMessage().contains("png"), e.getMessage());
  }

  @Test
  void an_empty_file_is_rejected(@TempDir Path dir) throws IOException {
    Path empty = Files.write(dir.resolve("empty.jpg"), new byte[0]);
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(empty));
    assertEquals(empty + " is empty (0 bytes)", e.getMessage());
  }

  @Test
  void a_missing_file_is_an_io_error_not_a_bad_image(@TempDir Path dir) {
    assertThrows(NoSuchFileException.class, () -> decoder.decode(dir.resolve("absent.png")));
  }

  @ParameterizedTest(name = "cut to {0} of the file")
  @ValueSource(doubles = {0.5, 0.9, 0.999})
  void truncated_pngs_are_rejected(double fraction) throws IOException {
    byte[] png = Files.readAllBytes(TestData.shared("images/chelsea.png"));
    byte[] cut = Arrays.copyOf(png, (int) (png.length * fraction));
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(cut, "chelsea-cut.png"));
    assertTrue(e.getMessage().startsWith("chelsea-cut.png "), e.getMessage());
  }

  @ParameterizedTest(name = "less its last {0} bytes")
  @ValueSource(ints = {2, 64, 50_000, 112_000})
  void truncated_jpegs_are_rejected_rather_than_filled_with_grey(int missing) throws IOException {
    byte[] jpeg = Files.readAllBytes(TestData.shared("images/rocket.jpg"));
    byte[] cut = Arrays.copyOf(jpeg, jpeg.length - missing);
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(cut, "rocket-cut.jpg"));
    assertTrue(e.getMessage().startsWith("rocket-cut.jpg is "), e.getMessage());
  }

  @Test
  void a_png_claiming_zero_width_is_rejected() {
    // ImageIO's PNG reader refuses the header itself ("Image width <= 0!").
    byte[] png = ClipFixtures.png(0, 1, 2, 8, new byte[0], null, null, null);
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(png, "zero.png"));
    assertTrue(e.getMessage().startsWith("zero.png is not a decodable png"), e.getMessage());
    assertTrue(e.getMessage().contains("width"), e.getMessage());
  }

  @Test
  void a_gif_of_zero_pixels_is_rejected_before_decoding() {
    ByteArrayOutputStream gif = new ByteArrayOutputStream();
    gif.writeBytes("GIF89a".getBytes(StandardCharsets.US_ASCII));
    gif.writeBytes(new byte[] {0, 0, 0, 0, (byte) 0x80, 0, 0, 0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
    gif.writeBytes(new byte[] {0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0x4c, 0x01, 0, 0x3b});
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(gif.toByteArray(), "empty.gif"));
    assertEquals("empty.gif is a gif of 0x0 pixels: it has no pixels", e.getMessage());
  }

  @ParameterizedTest(name = "{0}x{0}")
  @ValueSource(ints = {26_000, 60_000})
  void a_decompression_bomb_png_is_rejected_from_its_header(int side) {
    // A few hundred bytes claiming 676M or 3.6G pixels. For 26000x26000 the PNG reader would
    // allocate 2 GB of pixels and the RgbImage 2 GB more, over the tests' 3 GB heap. The IDAT
    // holds 193 bytes: getting the limit's message, not a decode error about missing data, shows
    // that the check came before any pixel was read.
    byte[] bomb = ClipFixtures.png(side, side, 2, 8, ClipFixtures.zlibStored(new byte[1 + 3 * 64]), null, null, null, true);
    assertTrue(bomb.length < 1000);
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(bomb, "bomb.png"));
    assertEquals("bomb.png is a png of " + side + "x" + side + " = " + (long) side * side
        + " pixels, over the limit of 89478485 pixels (a decompression bomb, or a very large image)", e.getMessage());
  }

  @Test
  void a_jpeg_whose_frame_header_claims_a_huge_size_is_rejected() throws IOException {
    byte[] jpeg = Files.readAllBytes(TestData.shared("images/rocket.jpg"));
    int sof = startOfFrame(jpeg);
    // SOF: length (2), precision (1), height (2), width (2).
    jpeg[sof + 5] = (byte) (30_000 >> 8);
    jpeg[sof + 6] = (byte) 30_000;
    jpeg[sof + 7] = (byte) (30_000 >> 8);
    jpeg[sof + 8] = (byte) 30_000;
    var e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(jpeg, "huge.jpg"));
    assertTrue(e.getMessage().startsWith("huge.jpg is a jpeg of 30000x30000 = 900000000 pixels, over the limit"), e.getMessage());
  }

  @Test
  void an_image_exactly_at_the_pixel_limit_decodes_and_one_over_is_rejected() throws IOException {
    byte[] png = Files.readAllBytes(TestData.shared("images/chelsea.png"));
    long pixels = 451L * 300;
    RgbImage atLimit = new ImageDecoder(new ImageDecoder.Limits(pixels, 1 << 20)).decode(png, "chelsea.png");
    assertEquals(451, atLimit.width());

    var e = assertThrows(IllegalArgumentException.class,
        () -> new ImageDecoder(new ImageDecoder.Limits(pixels - 1, 1 << 20)).decode(png, "chelsea.png"));
    assertEquals("chelsea.png is a png of 451x300 = 135300 pixels, over the limit of 135299 pixels"
        + " (a decompression bomb, or a very large image)", e.getMessage());
  }

  @Test
  void files_and_streams_over_the_byte_limit_are_rejected_before_decoding() throws IOException {
    Path file = TestData.shared("images/rocket.jpg");
    ImageDecoder small = new ImageDecoder(new ImageDecoder.Limits(1_000_000, 100_000));

    var fromFile = assertThrows(IllegalArgumentException.class, () -> small.decode(file));
    assertEquals(file + " is 112525 bytes, over the limit of 100000 bytes for one image", fromFile.getMessage());

    var fromStream = assertThrows(IllegalArgumentException.class,
        () -> small.decode(new ByteArrayInputStream(Files.readAllBytes(file)), "upload"));
    assertEquals("upload is more than 100000 bytes, over the limit of 100000 bytes for one image", fromStream.getMessage());
  }

  @Test
  void streams_paths_and_arrays_decode_alike() throws IOException {
    Path file = TestData.shared("images/rocket.jpg");
    byte[] bytes = Files.readAllBytes(file);
    RgbImage fromPath = decoder.decode(file);
    assertArrayEquals(fromPath.rgb(), decoder.decode(new ByteArrayInputStream(bytes), "rocket").rgb());
    assertArrayEquals(fromPath.rgb(), decoder.decode(bytes).rgb());
    assertEquals(640, fromPath.width());
    assertEquals(427, fromPath.height());
  }

  @Test
  void limits_are_validated() {
    var e = assertThrows(IllegalArgumentException.class, () -> new ImageDecoder.Limits(0, 10));
    assertEquals("pixel limit 0 is outside [1, 536870911]", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ImageDecoder.Limits(10, 0));
  }

  /** The offset of the first SOF0 or SOF2 marker, walking the segments from SOI. */
  private static int startOfFrame(byte[] jpeg) {
    for (int i = 2; i + 4 <= jpeg.length; i += 2 + ((jpeg[i + 2] & 0xff) << 8 | (jpeg[i + 3] & 0xff))) {
      int marker = jpeg[i + 1] & 0xff;
      if (marker == 0xc0 || marker == 0xc2) {
        return i;
      }
    }
    throw new AssertionError("no SOF0 or SOF2 marker");
  }
}
