package dev.loupe.embeddings.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes image files (whatever the JDK's ImageIO reads: PNG, JPEG, GIF, BMP, TIFF, WBMP) into
 * {@link RgbImage}s the way Pillow's {@code Image.open(f)}, {@code ImageOps.exif_transpose} and
 * Hugging Face's {@code convert_to_rgb} do, so that the tensors match the reference
 * preprocessing:
 *
 * <ul>
 *   <li>samples are taken as stored, without colour management: embedded ICC profiles and PNG
 *       gamma are ignored, as Pillow ignores them (a JPEG's {@code APP2} profile segments are
 *       dropped before ImageIO, which would otherwise convert to sRGB);
 *   <li>transparency (RGBA, grey + alpha, palettes and single colours with {@code tRNS}) is
 *       composited on white with Pillow's integer {@code alpha_composite};
 *   <li>greyscale is replicated to R, G and B; 16-bit samples keep their high byte (as Pillow's
 *       16-bit RGB unpackers do); 1, 2 and 4-bit samples are scaled to 0..255;
 *   <li>four-channel JPEGs (CMYK, and YCCK with Adobe transform 2) are read as raw rasters,
 *       converted from YCCK as libjpeg does, taken as inverted (Adobe) CMYK as Pillow always does,
 *       and turned into RGB with Pillow's naive formula {@code r = (255 - c)(255 - k) / 255};
 *   <li>the {@link Exif} orientation of JPEGs ({@code APP1}) and PNGs ({@code eXIf}) is applied.
 * </ul>
 *
 * <p>Input is untrusted: the header's dimensions are checked against {@link Limits} before any
 * pixel is decoded, so a small file claiming to be 60000x60000 is rejected without allocating.
 * Content that cannot be decoded (unknown format, corrupt or truncated data, no pixels) is
 * rejected with an {@link IllegalArgumentException} naming the source and the reason; a truncated
 * JPEG is never returned half grey.
 *
 * <p>Thread-safe: a decoder holds only its limits, and each call uses its own ImageIO reader.
 */
public final class ImageDecoder {

  /**
   * What an input may cost before any pixel is decoded.
   *
   * @param maxPixels the most pixels (width x height, as the header states them) an image may have
   * @param maxBytes the most bytes an encoded file may have
   */
  public record Limits(long maxPixels, long maxBytes) {
    /** Pillow's {@code Image.MAX_IMAGE_PIXELS}: {@code 1024 * 1024 * 1024 // 4 // 3}. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;

    /** 256 MiB of encoded bytes. */
    public static final long DEFAULT_MAX_BYTES = 256L << 20;

    /**
     * The most pixels any limit may allow: a decoded image takes up to 4 bytes a pixel in one Java
     * array before it becomes an {@link RgbImage}.
     */
    public static final long MAX_MAX_PIXELS = Integer.MAX_VALUE / 4;

    public Limits {
      if (maxPixels < 1 || maxPixels > MAX_MAX_PIXELS) {
        throw new IllegalArgumentException("pixel limit " + maxPixels + " is outside [1, " + MAX_MAX_PIXELS + "]");
      }
      if (maxBytes < 1 || maxBytes > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("byte limit " + maxBytes + " is outside [1, " + (Integer.MAX_VALUE - 8) + "]");
      }
    }

    /** {@link #DEFAULT_MAX_PIXELS} and {@link #DEFAULT_MAX_BYTES}. */
    public static Limits defaults() {
      return new Limits(DEFAULT_MAX_PIXELS, DEFAULT_MAX_BYTES);
    }
  }

  private final Limits limits;

  /** A decoder with {@link Limits#defaults()}. */
  public ImageDecoder() {
    this(Limits.defaults());
  }

  public ImageDecoder(Limits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  public Limits limits() {
    return limits;
  }

  /**
   * Decodes the image file {@code file}.
   *
   * @throws IOException if the file cannot be read (missing, unreadable)
   * @throws IllegalArgumentException naming the file, if it is over the limits or not a decodable image
   */
  public RgbImage decode(Path file) throws IOException {
    checkBytes(Files.size(file), true, file.toString());
    return decode(Files.readAllBytes(file), file.toString());
  }

  /**
   * Decodes an image from {@code in}, reading it to its end (or to one byte past the byte limit);
   * the stream is not closed.
   *
   * @param source what to call the input in error messages (a file name, a URL)
   * @throws IOException if reading the stream fails
   * @throws IllegalArgumentException naming {@code source}, if the input is over the limits or
   *     not a decodable image
   */
  public RgbImage decode(InputStream in, String source) throws IOException {
    byte[] bytes = in.readNBytes((int) Math.min(limits.maxBytes() + 1, Integer.MAX_VALUE - 8));
    checkBytes(bytes.length, false, source);
    return decode(bytes, source);
  }

  /** Decodes an encoded image held in memory; see {@link #decode(byte[], String)}. */
  public RgbImage decode(byte[] encoded) {
    return decode(encoded, "image of " + encoded.length + " bytes");
  }

  /**
   * Decodes an encoded image held in memory.
   *
   * @param source what to call the input in error messages
   * @throws IllegalArgumentException naming {@code source}, if the input is over the limits or
   *     not a decodable image
   */
  public RgbImage decode(byte[] encoded, String source) {
    checkBytes(encoded.length, true, source);
    if (encoded.length == 0) {
      throw new IllegalArgumentException(source + " is empty (0 bytes)");
    }
    Markers markers = Markers.of(encoded);
    // The JDK's JPEG reader converts from an embedded ICC profile to sRGB; Pillow ignores the
    // profile, so ImageIO must not see it.
    byte[] data = markers.iccSegments().isEmpty() ? encoded : without(encoded, markers.iccSegments());
    RgbImage image;
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(data))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new IllegalArgumentException(source + " is not an image in a format this JVM decodes ("
            + String.join(", ", new TreeSet<>(Arrays.stream(ImageIO.getReaderFormatNames())
                .map(n -> n.toLowerCase(Locale.ROOT)).toList()))
            + "); its first bytes are " + hexPrefix(encoded));
      }
      ImageReader reader = readers.next();
      try {
        image = read(reader, in, markers, source);
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      // Only the in-memory stream's probing and closing get here.
      throw new IllegalArgumentException(source + " could not be read: " + reasons(e), e);
    }
    return orient(image, markers.orientation());
  }

  private RgbImage read(ImageReader reader, ImageInputStream in, Markers markers, String source) {
    String format = imageIo(reader::getFormatName, source, "image").toLowerCase(Locale.ROOT);
    // libjpeg reports a cut-off file as a warning and fills the rest with grey: keep the first such warning.
    String[] truncation = new String[1];
    reader.setInput(in, true, true);
    reader.addIIOReadWarningListener((r, warning) -> {
      String w = warning.toLowerCase(Locale.ROOT);
      if (truncation[0] == null && (w.contains("truncated") || w.contains("premature end"))) {
        truncation[0] = warning;
      }
    });
    // The header alone: nothing the size of the image is allocated before this check.
    int width = imageIo(() -> reader.getWidth(0), source, format);
    int height = imageIo(() -> reader.getHeight(0), source, format);
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException(source + " is a " + format + " of " + width + "x" + height + " pixels: it has no pixels");
    }
    long pixels = (long) width * height;
    if (pixels > limits.maxPixels()) {
      throw new IllegalArgumentException(source + " is a " + format + " of " + width + "x" + height + " = " + pixels
          + " pixels, over the limit of " + limits.maxPixels() + " pixels (a decompression bomb, or a very large image)");
    }
    if (format.equals("jpeg") && markers.jpegComponents() == 4) {
      // Older JDKs' JPEG readers have no image type for CMYK ("Unsupported Image Type") and newer
      // ones convert it their own way: take the raw samples and convert them as libjpeg and Pillow do.
      Raster raster = imageIo(() -> reader.readRaster(0, null), source, format);
      checkDecoded(raster.getWidth(), raster.getHeight(), width, height, truncation[0], source, format);
      return cmykJpegToRgb(raster, markers.adobeTransform());
    }
    BufferedImage decoded = imageIo(() -> reader.read(0), source, format);
    checkDecoded(decoded.getWidth(), decoded.getHeight(), width, height, truncation[0], source, format);
    return toRgb(decoded);
  }

  private interface ImageIoCall<T> {
    T call() throws IOException;
  }

  /** Runs one ImageIO reader call, turning what its readers throw on bad data into one exception naming the source. */
  private static <T> T imageIo(ImageIoCall<T> call, String source, String format) {
    try {
      return call.call();
    } catch (IOException e) {
      // The bytes are in memory: an I/O error means the data ended early or is malformed.
      throw new IllegalArgumentException(source + " is not a decodable " + format + ": " + reasons(e), e);
    } catch (IllegalArgumentException | IndexOutOfBoundsException | IllegalStateException | NegativeArraySizeException
        | ArithmeticException | ClassCastException | UnsupportedOperationException | NullPointerException e) {
      // ImageIO's readers throw these, rather than an IIOException, on some corrupt inputs
      // ("Empty region!", array indices out of bounds in the GIF and BMP readers).
      throw new IllegalArgumentException(source + " is not a decodable " + format + ": " + e, e);
    }
  }

  private void checkBytes(long size, boolean exact, String source) {
    if (size > limits.maxBytes()) {
      throw new IllegalArgumentException(source + " is " + (exact ? size + " bytes" : "more than " + limits.maxBytes() + " bytes")
          + ", over the limit of " + limits.maxBytes() + " bytes for one image");
    }
  }

  /**
   * After a decode: no warning may have said the data was cut off (Pillow rejects such a file
   * rather than return it half grey, and so do we), and the size must be the header's.
   */
  private static void checkDecoded(int width, int height, int headerWidth, int headerHeight, String truncation,
      String source, String format) {
    if (truncation != null) {
      throw new IllegalArgumentException(source + " is a truncated " + format + ": " + truncation);
    }
    if (width != headerWidth || height != headerHeight) {
      throw new IllegalArgumentException(source + " decoded to " + width + "x" + height + " pixels, but its " + format
          + " header says " + headerWidth + "x" + headerHeight);
    }
  }

  private static String reasons(Throwable e) {
    StringBuilder s = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
      s.append(" (").append(c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage()).append(')');
    }
    return s.toString();
  }

  /** {@code bytes} less the ranges {@code [start, end)} listed in order in {@code ranges}. */
  private static byte[] without(byte[] bytes, List<int[]> ranges) {
    int removed = 0;
    for (int[] r : ranges) {
      removed += r[1] - r[0];
    }
    byte[] out = new byte[bytes.length - removed];
    int from = 0, to = 0;
    for (int[] r : ranges) {
      System.arraycopy(bytes, from, out, to, r[0] - from);
      to += r[0] - from;
      from = r[1];
    }
    System.arraycopy(bytes, from, out, to, bytes.length - from);
    return out;
  }

  private static String hexPrefix(byte[] bytes) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < Math.min(8, bytes.length); i++) {
      s.append(String.format("%02x", bytes[i] & 0xff));
    }
    return s.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Pixels to RGB

  /**
   * The RGB pixels of an image decoded or rendered in memory (a page render, a video frame).
   * RGB and greyscale samples are taken as stored, whatever ICC profile the colour space carries;
   * alpha is composited on white; other colour spaces (CMYK TIFFs, say) go through
   * {@link BufferedImage#getRGB}.
   */
  public static RgbImage toRgb(BufferedImage image) {
    int width = image.getWidth(), height = image.getHeight();
    if ((long) width * height > Limits.MAX_MAX_PIXELS) {
      throw new IllegalArgumentException("image of " + width + "x" + height + " pixels is over " + Limits.MAX_MAX_PIXELS + " pixels");
    }
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    byte[] rgb = new byte[3 * width * height];
    if (cm instanceof IndexColorModel icm) {
      indexedToRgb(raster, icm, rgb);
    } else if (storesRgbOrGrey(cm, raster)) {
      componentsToRgb(raster, cm, rgb);
    } else {
      int[] argb = new int[width];
      for (int y = 0, o = 0; y < height; y++) {
        image.getRGB(0, y, width, 1, argb, 0, width);
        for (int x = 0; x < width; x++, o += 3) {
          int p = argb[x];
          putComposited(rgb, o, (p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff, p >>> 24);
        }
      }
    }
    return new RgbImage(width, height, rgb);
  }

  private static boolean storesRgbOrGrey(ColorModel cm, Raster raster) {
    if (!(cm instanceof ComponentColorModel || cm instanceof DirectColorModel)) {
      return false;
    }
    int type = cm.getColorSpace().getType();
    if (type != ColorSpace.TYPE_RGB && type != ColorSpace.TYPE_GRAY) {
      return false;
    }
    int transfer = raster.getTransferType();
    if (transfer != DataBuffer.TYPE_BYTE && transfer != DataBuffer.TYPE_USHORT && transfer != DataBuffer.TYPE_INT) {
      return false; // float, double and signed samples: let getRGB interpret them
    }
    if (raster.getNumBands() != cm.getNumComponents()) {
      return false;
    }
    for (int i = 0; i < cm.getNumComponents(); i++) {
      if (cm.getComponentSize(i) < 1 || cm.getComponentSize(i) > 16) {
        return false;
      }
    }
    return true;
  }

  private static void indexedToRgb(Raster raster, IndexColorModel icm, byte[] rgb) {
    int width = raster.getWidth(), height = raster.getHeight();
    int[] palette = new int[icm.getMapSize()];
    icm.getRGBs(palette); // ARGB, not premultiplied
    int[] row = new int[width];
    for (int y = 0, o = 0; y < height; y++) {
      raster.getSamples(0, y, width, 1, 0, row);
      for (int x = 0; x < width; x++, o += 3) {
        int index = row[x];
        int p = index < palette.length ? palette[index] : 0xff000000; // out-of-palette index: black, as Pillow
        putComposited(rgb, o, (p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff, p >>> 24);
      }
    }
  }

  /** RGB, RGBA, grey and grey + alpha samples of 1 to 16 bits, as stored. */
  private static void componentsToRgb(Raster raster, ColorModel cm, byte[] rgb) {
    int width = raster.getWidth(), height = raster.getHeight();
    int bands = raster.getNumBands();
    int colours = cm.getNumColorComponents();
    boolean alpha = cm.hasAlpha();
    boolean premultiplied = cm.isAlphaPremultiplied();
    int[] bits = cm.getComponentSize();
    int[][] scale = new int[bands][];
    for (int b = 0; b < bands; b++) {
      scale[b] = bits[b] == 8 ? null : scaleTo8Bits(bits[b]);
    }
    int[] row = new int[width * bands];
    byte[] bytes = byteInterleaved(raster);
    for (int y = 0, o = 0; y < height; y++) {
      if (bytes != null) {
        readByteRow(raster, bytes, y, row);
      } else {
        raster.getPixels(0, y, width, 1, row);
      }
      for (int b = 0; b < bands; b++) {
        int[] s = scale[b];
        if (s != null) {
          for (int i = b; i < row.length; i += bands) {
            row[i] = s[row[i]];
          }
        }
      }
      for (int x = 0, i = 0; x < width; x++, i += bands, o += 3) {
        int r = row[i], g = colours == 3 ? row[i + 1] : r, bl = colours == 3 ? row[i + 2] : r;
        int a = alpha ? row[i + colours] : 255;
        if (premultiplied && a > 0 && a < 255) {
          r = Math.min(255, (r * 255 + a / 2) / a);
          g = Math.min(255, (g * 255 + a / 2) / a);
          bl = Math.min(255, (bl * 255 + a / 2) / a);
        }
        putComposited(rgb, o, r, g, bl, a);
      }
    }
  }

  /**
   * Maps an n-bit sample to 8 bits: the high byte for more than 8 bits (Pillow's {@code ;16B}
   * unpackers), {@code v * 255 / (2^n - 1)} for fewer (Pillow's {@code L;2}, {@code L;4}).
   */
  private static int[] scaleTo8Bits(int bits) {
    int[] s = new int[1 << bits];
    int max = (1 << bits) - 1;
    for (int v = 0; v <= max; v++) {
      s[v] = bits > 8 ? v >> (bits - 8) : v * 255 / max;
    }
    return s;
  }

  /** The backing array when {@code raster} is 8-bit, pixel-interleaved and in one bank; else null. */
  private static byte[] byteInterleaved(Raster raster) {
    SampleModel sm = raster.getSampleModel();
    if (raster.getDataBuffer() instanceof DataBufferByte db && db.getNumBanks() == 1
        && sm instanceof ComponentSampleModel csm && csm.getNumBands() == raster.getNumBands()) {
      for (int bank : csm.getBankIndices()) {
        if (bank != 0) {
          return null;
        }
      }
      return db.getData();
    }
    return null;
  }

  private static void readByteRow(Raster raster, byte[] data, int y, int[] row) {
    ComponentSampleModel sm = (ComponentSampleModel) raster.getSampleModel();
    int bands = raster.getNumBands();
    int[] offsets = sm.getBandOffsets();
    int pixelStride = sm.getPixelStride();
    int base = raster.getDataBuffer().getOffset()
        + (y - raster.getSampleModelTranslateY()) * sm.getScanlineStride() - raster.getSampleModelTranslateX() * pixelStride;
    for (int b = 0; b < bands; b++) {
      int p = base + offsets[b];
      for (int i = b; i < row.length; i += bands, p += pixelStride) {
        row[i] = data[p] & 0xff;
      }
    }
  }

  /**
   * Writes {@code r, g, b} composited with alpha {@code a} on white, with the integer arithmetic
   * of Pillow's {@code Image.alpha_composite} (white background, 7 extra bits of precision).
   */
  private static void putComposited(byte[] rgb, int o, int r, int g, int b, int a) {
    if (a == 255) {
      rgb[o] = (byte) r;
      rgb[o + 1] = (byte) g;
      rgb[o + 2] = (byte) b;
    } else if (a == 0) {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) 255;
    } else {
      rgb[o] = (byte) onWhite(r, a);
      rgb[o + 1] = (byte) onWhite(g, a);
      rgb[o + 2] = (byte) onWhite(b, a);
    }
  }

  static int onWhite(int c, int a) {
    // AlphaComposite.c with dst = opaque white: coef1 = a * 128, coef2 = (255 - a) * 128.
    int t = (c * a + 255 * (255 - a)) * 128 + (0x80 << 7);
    return ((((t >> 8) + t) >> 8) >> 7);
  }

  // ---------------------------------------------------------------------------------------------
  // CMYK JPEG

  /**
   * Four-channel JPEG samples to RGB as Pillow gets them: libjpeg converts YCCK to CMYK (Adobe
   * transform other than 0), Pillow reads the result as inverted CMYK ({@code CMYK;I}, whatever
   * the markers say) and converts with {@code cmyk2rgb}: {@code r = nk - round(c * nk / 255)},
   * {@code nk = 255 - k}.
   */
  static RgbImage cmykJpegToRgb(Raster raster, int adobeTransform) {
    int width = raster.getWidth(), height = raster.getHeight();
    if (raster.getNumBands() != 4) {
      throw new IllegalArgumentException("a CMYK raster needs 4 bands, got " + raster.getNumBands());
    }
    boolean ycck = adobeTransform > 0; // libjpeg: no Adobe marker or transform 0 is CMYK, anything else YCCK
    byte[] rgb = new byte[3 * width * height];
    int[] row = new int[4 * width];
    for (int y = 0, o = 0; y < height; y++) {
      raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
      for (int i = 0; i < row.length; i += 4, o += 3) {
        int s0 = row[i], s1 = row[i + 1], s2 = row[i + 2], sk = row[i + 3];
        if (ycck) {
          // jdcolor.c ycck_cmyk_convert: stored = 255 - (Y + chroma terms), K unchanged.
          int luma = s0, cb = s1, cr = s2;
          s0 = 255 - clamp255(luma + CR_R[cr]);
          s1 = 255 - clamp255(luma + ((CB_G[cb] + CR_G[cr]) >> 16));
          s2 = 255 - clamp255(luma + CB_B[cb]);
        }
        // CMYK;I: c = 255 - stored; cmyk2rgb with nk = 255 - k = stored k.
        rgb[o] = (byte) clamp255(sk - mulDiv255(255 - s0, sk));
        rgb[o + 1] = (byte) clamp255(sk - mulDiv255(255 - s1, sk));
        rgb[o + 2] = (byte) clamp255(sk - mulDiv255(255 - s2, sk));
      }
    }
    return new RgbImage(width, height, rgb);
  }

  private static int mulDiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  }

  private static int clamp255(int v) {
    return v < 0 ? 0 : Math.min(v, 255);
  }

  // libjpeg's jdcolor.c tables, 16 fractional bits.
  private static final int[] CR_R = new int[256], CB_B = new int[256], CR_G = new int[256], CB_G = new int[256];

  static {
    int oneHalf = 1 << 15;
    for (int i = 0; i < 256; i++) {
      int x = i - 128;
      CR_R[i] = (fix(1.40200) * x + oneHalf) >> 16;
      CB_B[i] = (fix(1.77200) * x + oneHalf) >> 16;
      CR_G[i] = -fix(0.71414) * x;
      CB_G[i] = -fix(0.34414) * x + oneHalf;
    }
  }

  private static int fix(double x) {
    return (int) (x * (1 << 16) + 0.5);
  }

  // ---------------------------------------------------------------------------------------------
  // EXIF orientation

  /**
   * {@code image} turned upright for EXIF orientation {@code orientation} (1 to 8), as
   * {@code PIL.ImageOps.exif_transpose} does: 2 mirrors left-right, 3 rotates 180 degrees, 4
   * mirrors top-bottom, 5 transposes, 6 rotates 90 degrees clockwise, 7 transverses, 8 rotates 90
   * degrees anticlockwise. Other values leave the image as it is.
   */
  public static RgbImage orient(RgbImage image, int orientation) {
    if (orientation < 2 || orientation > 8) {
      return image;
    }
    int w = image.width(), h = image.height();
    boolean swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    byte[] in = image.rgb(), out = new byte[in.length];
    for (int y = 0, o = 0; y < oh; y++) {
      for (int x = 0; x < ow; x++, o += 3) {
        // Source pixel (sx, sy) of output pixel (x, y).
        int sx, sy;
        switch (orientation) {
          case 2 -> { sx = w - 1 - x; sy = y; }           // FLIP_LEFT_RIGHT
          case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }   // ROTATE_180
          case 4 -> { sx = x; sy = h - 1 - y; }           // FLIP_TOP_BOTTOM
          case 5 -> { sx = y; sy = x; }                   // TRANSPOSE
          case 6 -> { sx = y; sy = h - 1 - x; }           // ROTATE_270 (clockwise)
          case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }   // TRANSVERSE
          default -> { sx = w - 1 - y; sy = x; }          // 8: ROTATE_90 (anticlockwise)
        }
        int s = (sy * w + sx) * 3;
        out[o] = in[s];
        out[o + 1] = in[s + 1];
        out[o + 2] = in[s + 2];
      }
    }
    return new RgbImage(ow, oh, out);
  }

  /**
   * What the decoder needs from the container before ImageIO sees it: the {@link Exif}
   * orientation of JPEGs and PNGs, and for JPEGs the number of components, the Adobe
   * {@code APP14} transform (-1 when there is no Adobe marker) and where the {@code APP2} ICC
   * profile segments are ({@code [start, end)} byte ranges). Malformed segments are ignored, as
   * Pillow ignores them; ImageIO then judges the data.
   */
  record Markers(int orientation, int jpegComponents, int adobeTransform, List<int[]> iccSegments) {
    static final Markers NONE = new Markers(1, 0, -1, List.of());

    static Markers of(byte[] b) {
      if (JpegSegments.isJpeg(b)) {
        return jpeg(b);
      }
      if (Exif.isPng(b)) {
        return new Markers(Exif.of(b).orientation(), 0, -1, List.of());
      }
      return NONE;
    }

    private static Markers jpeg(byte[] b) {
      int[] components = {0};
      int[] transform = {-1};
      List<int[]> icc = new ArrayList<>();
      JpegSegments.walk(b, (marker, at, end) -> {
        int start = at + 4;
        if (marker == 0xee && transform[0] < 0 && end - start >= 12 && Bytes.startsWith(b, start, "Adobe")) {
          transform[0] = b[start + 11] & 0xff;
        } else if (marker == 0xe2 && Bytes.startsWith(b, start, "ICC_PROFILE\0")) {
          icc.add(new int[] {at, end});
        } else if (isStartOfFrame(marker) && components[0] == 0 && end - start >= 6) {
          components[0] = b[start + 5] & 0xff;
        }
        return true;
      });
      return new Markers(Exif.of(b).orientation(), components[0], transform[0], List.copyOf(icc));
    }

    private static boolean isStartOfFrame(int marker) {
      return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    }
  }
}
