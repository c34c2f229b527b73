package dev.loupe.embeddings.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.Adler32;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Derived test images the sample set lacks (transparency, grey + alpha, 16-bit, palette with
 * {@code tRNS}, CMYK and YCCK JPEGs, EXIF orientation), made from the shared sample images by
 * integer formulas so that the same bytes come out on every run. PNGs are written by the
 * uncompressed encoder below, JPEGs by the JDK's writer; nothing here reads pixels through
 * {@link ImageDecoder}, so the fixtures do not move when the decoder does.
 *
 * <p>The Pillow reference ({@code src/test/python/clip_preprocess_reference.py}) records each
 * fixture's sha256; regenerate them both with:
 *
 * <pre>
 * mvn -B -q -o -pl embeddings test-compile
 * java -cp embeddings/target/test-classes dev.loupe.embeddings.image.ClipFixtures /tmp/loupe-clip-fixtures
 * /usr/bin/python3 embeddings/src/test/python/clip_preprocess_reference.py /tmp/loupe-clip-fixtures
 * </pre>
 */
public final class ClipFixtures {
  /** How to regenerate the fixtures and their reference, for failure messages. */
  public static final String REGENERATE = "mvn -B -q -o -pl embeddings test-compile"
      + " && java -cp embeddings/target/test-classes dev.loupe.embeddings.image.ClipFixtures /tmp/loupe-clip-fixtures"
      + " && /usr/bin/python3 embeddings/src/test/python/clip_preprocess_reference.py /tmp/loupe-clip-fixtures";

  private ClipFixtures() {}

  /** Writes every fixture into the folder {@code args[0]}; the sample images are read from {@code args[1]} or {@code ../shared/testdata/images}. */
  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: ClipFixtures OUTPUT_DIR [SAMPLE_IMAGES_DIR (default ../shared/testdata/images)]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    Path images = args.length > 1 ? Path.of(args[1]) : Path.of("..", "shared", "testdata", "images");
    Files.createDirectories(out);
    for (Map.Entry<String, byte[]> e : all(images).entrySet()) {
      Files.write(out.resolve(e.getKey()), e.getValue());
      System.out.println(out.resolve(e.getKey()) + " (" + e.getValue().length + " bytes)");
    }
  }

  /** Every fixture by file name, made from the sample images in {@code images}. */
  public static Map<String, byte[]> all(Path images) throws IOException {
    int[][] astronaut = rgb(images.resolve("astronaut.png"));
    int[][] camera = grey(images.resolve("camera.png"));
    int[][] coffee = rgb(images.resolve("coffee.png"));
    int[][] chelsea = rgb(images.resolve("chelsea.png"));
    byte[] rocket = Files.readAllBytes(images.resolve("rocket.jpg"));
    Map<String, byte[]> f = new LinkedHashMap<>();
    f.put("astronaut-rgba.png", astronautRgba(astronaut));
    f.put("camera-la.png", cameraGreyAlpha(camera));
    f.put("camera-16bit.png", cameraSixteenBit(camera));
    f.put("coffee-palette-trns.png", coffeePalette(coffee));
    f.put("chelsea-cmyk.jpg", chelseaFourChannel(chelsea, false));
    f.put("chelsea-ycck.jpg", chelseaFourChannel(chelsea, true));
    f.put("rocket-exif6-mm.jpg", withExifOrientation(rocket, 6, false));
    f.put("rocket-exif8-ii.jpg", withExifOrientation(rocket, 8, true));
    return f;
  }

  // --- the fixtures ---------------------------------------------------------------------------

  /** RGBA: astronaut's colours with alpha {@code (x ^ y) & 255}: every level, with hard edges. */
  static byte[] astronautRgba(int[][] img) {
    int h = img.length, w = img[0].length / 3;
    byte[] raw = new byte[h * w * 4];
    for (int y = 0, o = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raw[o++] = (byte) img[y][3 * x];
        raw[o++] = (byte) img[y][3 * x + 1];
        raw[o++] = (byte) img[y][3 * x + 2];
        raw[o++] = (byte) ((x ^ y) & 255);
      }
    }
    return png(w, h, 6, 8, raw, null, null, null);
  }

  /** Grey + alpha: camera with alpha {@code 255 - ((x * y) >> 6 & 255)}. */
  static byte[] cameraGreyAlpha(int[][] img) {
    int h = img.length, w = img[0].length;
    byte[] raw = new byte[h * w * 2];
    for (int y = 0, o = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raw[o++] = (byte) img[y][x];
        raw[o++] = (byte) (255 - ((x * y) >> 6 & 255));
      }
    }
    return png(w, h, 4, 8, raw, null, null, null);
  }

  /** 16-bit grey: camera in the high byte, {@code (7x + 13y) & 255} in the low byte. */
  static byte[] cameraSixteenBit(int[][] img) {
    int h = img.length, w = img[0].length;
    byte[] raw = new byte[h * w * 2];
    for (int y = 0, o = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raw[o++] = (byte) img[y][x];
        raw[o++] = (byte) ((7 * x + 13 * y) & 255);
      }
    }
    return png(w, h, 0, 16, raw, null, null, null);
  }

  /** Palette: coffee quantized to a 6x6x6 cube; every fifth entry partly transparent ({@code tRNS}). */
  static byte[] coffeePalette(int[][] img) {
    int h = img.length, w = img[0].length / 3;
    byte[] palette = new byte[216 * 3], alpha = new byte[216];
    for (int i = 0; i < 216; i++) {
      palette[3 * i] = (byte) (i / 36 * 51);
      palette[3 * i + 1] = (byte) (i / 6 % 6 * 51);
      palette[3 * i + 2] = (byte) (i % 6 * 51);
      alpha[i] = (byte) (i % 5 == 0 ? (i * 47) & 255 : 255);
    }
    byte[] raw = new byte[h * w];
    for (int y = 0, o = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int r = img[y][3 * x] * 6 / 256, g = img[y][3 * x + 1] * 6 / 256, b = img[y][3 * x + 2] * 6 / 256;
        raw[o++] = (byte) (r * 36 + g * 6 + b);
      }
    }
    return png(w, h, 3, 8, raw, palette, alpha, null);
  }

  /**
   * A four-channel JPEG from chelsea, as Photoshop writes them: inverted (Adobe) CMYK with
   * {@code k = 3/4 min(c, m, y)} under-colour removal and an Adobe {@code APP14} marker with
   * transform 0; or, with {@code ycck}, the same picture as YCCK (the YCbCr of {@code 255 - s}
   * for the first three samples, as libjpeg's encoder makes it, plus K) with transform 2.
   */
  static byte[] chelseaFourChannel(int[][] img, boolean ycck) {
    int h = img.length, w = img[0].length / 3;
    WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
    int[] px = new int[4];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int c = 255 - img[y][3 * x], m = 255 - img[y][3 * x + 1], ye = 255 - img[y][3 * x + 2];
        int k = Math.min(c, Math.min(m, ye)) * 3 / 4;
        int s0 = 255 - (c - k), s1 = 255 - (m - k), s2 = 255 - (ye - k), sk = 255 - k;
        if (ycck) {
          // libjpeg's cmyk_ycck_convert: YCbCr of (255 - s0, 255 - s1, 255 - s2), K as it is.
          int r = 255 - s0, g = 255 - s1, b = 255 - s2;
          px[0] = clamp((77 * r + 150 * g + 29 * b + 128) >> 8);
          px[1] = clamp(((-43 * r - 85 * g + 128 * b + 128) >> 8) + 128);
          px[2] = clamp(((128 * r - 107 * g - 21 * b + 128) >> 8) + 128);
        } else {
          px[0] = s0;
          px[1] = s1;
          px[2] = s2;
        }
        px[3] = sk;
        raster.setPixel(x, y, px);
      }
    }
    byte[] jpeg = jpeg(new IIOImage(raster, null, null), 0.9f);
    return insertAfterSoi(jpeg, adobeApp14(ycck ? 2 : 0));
  }

  // --- JPEG and EXIF helpers ------------------------------------------------------------------

  /** A JPEG of {@code image} by the JDK's writer, at {@code quality}. */
  static byte[] jpeg(IIOImage image, float quality) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality);
      writer.write(null, image, param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** A JPEG of an RGB {@code BufferedImage}. */
  static byte[] jpeg(BufferedImage image, float quality) {
    return jpeg(new IIOImage(image, null, null), quality);
  }

  /** An Adobe {@code APP14} segment with {@code transform} (0 = none, 1 = YCbCr, 2 = YCCK). */
  static byte[] adobeApp14(int transform) {
    return new byte[] {(byte) 0xff, (byte) 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
  }

  /**
   * {@code jpeg} with an EXIF {@code APP1} segment holding only IFD0's orientation tag, in
   * little-endian ({@code II}) or big-endian ({@code MM}) byte order, placed after the JFIF
   * {@code APP0} when there is one.
   */
  static byte[] withExifOrientation(byte[] jpeg, int orientation, boolean littleEndian) {
    return withExif(jpeg, tiffWithOrientation(orientation, littleEndian));
  }

  /** {@code jpeg} with an EXIF {@code APP1} segment holding {@code tiff}, placed after the JFIF {@code APP0} when there is one. */
  static byte[] withExif(byte[] jpeg, byte[] tiff) {
    ByteBuffer app1 = ByteBuffer.allocate(4 + 6 + tiff.length).order(ByteOrder.BIG_ENDIAN);
    app1.put((byte) 0xff).put((byte) 0xe1).putShort((short) (2 + 6 + tiff.length));
    app1.put("Exif\0\0".getBytes(StandardCharsets.US_ASCII)).put(tiff);
    int at = 2;
    if ((jpeg[2] & 0xff) == 0xff && (jpeg[3] & 0xff) == 0xe0) {
      at = 4 + ((jpeg[4] & 0xff) << 8 | (jpeg[5] & 0xff));
    }
    return insertAt(jpeg, at, app1.array());
  }

  /** A TIFF structure whose IFD0 has one entry: orientation (0x0112), SHORT, count 1. */
  static byte[] tiffWithOrientation(int orientation, boolean littleEndian) {
    ByteBuffer t = ByteBuffer.allocate(8 + 2 + 12 + 4).order(littleEndian ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    t.put(littleEndian ? (byte) 'I' : (byte) 'M').put(littleEndian ? (byte) 'I' : (byte) 'M').putShort((short) 42).putInt(8);
    t.putShort((short) 1);
    t.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
    t.putInt(0);
    return t.array();
  }

  static byte[] insertAfterSoi(byte[] jpeg, byte[] segment) {
    return insertAt(jpeg, 2, segment);
  }

  static byte[] insertAt(byte[] bytes, int at, byte[] segment) {
    byte[] out = new byte[bytes.length + segment.length];
    System.arraycopy(bytes, 0, out, 0, at);
    System.arraycopy(segment, 0, out, at, segment.length);
    System.arraycopy(bytes, at, out, at + segment.length, bytes.length - at);
    return out;
  }

  // --- a minimal, deterministic PNG encoder ---------------------------------------------------

  /**
   * A PNG of {@code raw} samples (rows top to bottom, no filter bytes), stored without
   * compression so the bytes do not depend on the zlib version.
   *
   * @param colourType 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA
   * @param palette {@code PLTE} contents or null
   * @param trns {@code tRNS} contents or null
   * @param exif {@code eXIf} contents (a TIFF structure) or null
   */
  static byte[] png(int width, int height, int colourType, int bitDepth, byte[] raw, byte[] palette, byte[] trns, byte[] exif) {
    int channels = switch (colourType) {
      case 0, 3 -> 1;
      case 2 -> 3;
      case 4 -> 2;
      case 6 -> 4;
      default -> throw new IllegalArgumentException("PNG colour type " + colourType);
    };
    long rowBytes = ((long) width * channels * bitDepth + 7) / 8;
    ByteArrayOutputStream filtered = new ByteArrayOutputStream();
    for (int y = 0; y < height; y++) {
      filtered.write(0);
      filtered.write(raw, (int) (y * rowBytes), (int) rowBytes);
    }
    return png(width, height, colourType, bitDepth, zlibStored(filtered.toByteArray()), palette, trns, exif, true);
  }

  /** A PNG with the given IDAT contents, which need not match the header (for bad-input tests). */
  static byte[] png(int width, int height, int colourType, int bitDepth, byte[] idat, byte[] palette, byte[] trns, byte[] exif,
      boolean withEnd) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
        .put((byte) bitDepth).put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0);
    chunk(out, "IHDR", ihdr.array());
    if (exif != null) {
      chunk(out, "eXIf", exif);
    }
    if (palette != null) {
      chunk(out, "PLTE", palette);
    }
    if (trns != null) {
      chunk(out, "tRNS", trns);
    }
    chunk(out, "IDAT", idat);
    if (withEnd) {
      chunk(out, "IEND", new byte[0]);
    }
    return out.toByteArray();
  }

  /** A zlib stream of stored (uncompressed) deflate blocks. */
  static byte[] zlibStored(byte[] data) {
    ByteArrayOutputStream z = new ByteArrayOutputStream();
    z.write(0x78);
    z.write(0x01);
    int off = 0;
    do {
      int n = Math.min(65535, data.length - off);
      boolean last = off + n == data.length;
      z.write(last ? 1 : 0);
      z.write(n & 0xff);
      z.write(n >> 8);
      z.write(~n & 0xff);
      z.write((~n >> 8) & 0xff);
      z.write(data, off, n);
      off += n;
    } while (off < data.length);
    Adler32 adler = new Adler32();
    adler.update(data);
    long a = adler.getValue();
    z.writeBytes(new byte[] {(byte) (a >> 24), (byte) (a >> 16), (byte) (a >> 8), (byte) a});
    return z.toByteArray();
  }

  static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(t);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  // --- reading the samples (plain ImageIO, raw samples) ---------------------------------------

  /** Rows of {@code r, g, b} samples of an 8-bit RGB sample image. */
  static int[][] rgb(Path file) throws IOException {
    Raster raster = read(file).getRaster();
    if (raster.getNumBands() != 3) {
      throw new IllegalArgumentException(file + " has " + raster.getNumBands() + " bands, not 3");
    }
    int[][] rows = new int[raster.getHeight()][];
    for (int y = 0; y < rows.length; y++) {
      rows[y] = raster.getPixels(0, y, raster.getWidth(), 1, (int[]) null);
    }
    return rows;
  }

  /** Rows of samples of an 8-bit greyscale sample image. */
  static int[][] grey(Path file) throws IOException {
    Raster raster = read(file).getRaster();
    if (raster.getNumBands() != 1) {
      throw new IllegalArgumentException(file + " has " + raster.getNumBands() + " bands, not 1");
    }
    int[][] rows = new int[raster.getHeight()][];
    for (int y = 0; y < rows.length; y++) {
      rows[y] = raster.getSamples(0, y, raster.getWidth(), 1, 0, (int[]) null);
    }
    return rows;
  }

  private static BufferedImage read(Path file) throws IOException {
    BufferedImage image = ImageIO.read(file.toFile());
    if (image == null) {
      throw new IOException(file + " is not an image ImageIO reads");
    }
    return image;
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
