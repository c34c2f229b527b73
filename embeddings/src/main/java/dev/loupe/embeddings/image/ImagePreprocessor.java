package dev.loupe.embeddings.image;

import java.util.Arrays;
import java.util.Objects;

/**
 * Turns decoded pixels into a vision encoder's input tensor: {@code float32}, channels first
 * ({@code [3, height, width]}, R then G then B), rows top to bottom, exactly as Hugging Face's
 * {@code CLIPImageProcessor} computes it from a Pillow image:
 *
 * <ol>
 *   <li>resize so the shorter side is {@code shortestEdge} and the longer side
 *       {@code int(shortestEdge * long / short)}, with Pillow's {@code Image.resize} (bicubic or
 *       bilinear; antialiased when shrinking; 8-bit fixed point, horizontal pass first);
 *   <li>center-crop to {@code cropHeight x cropWidth} ({@code top = (h - cropHeight) // 2}),
 *       padding with zeros where the image is smaller than the crop;
 *   <li>multiply by {@code rescaleFactor}, subtract the channel's mean and divide by its standard
 *       deviation, in {@code float32} as numpy does.
 * </ol>
 *
 * <p>Only the resized pixels that survive the crop are computed; each is what Pillow computes
 * for the whole image, since every output pixel of the separable filter depends only on its own
 * coefficients.
 *
 * <p>Thread-safe: the coefficient tables depend on the image size and are built per call; the
 * lookup table of normalized values is built once.
 */
public final class ImagePreprocessor {
  /** Pillow's {@code PRECISION_BITS}: 8 bits for the result, 2 for overflow and sign. */
  private static final int PRECISION_BITS = 32 - 8 - 2;
  private static final int HALF = 1 << (PRECISION_BITS - 1);
  /** Largest resized side accepted (Pillow's box coordinates are {@code float}, exact to 2^24). */
  private static final int MAX_RESIZED_SIDE = 1 << 24;

  private final PreprocessorConfig config;
  private final Filter filter;
  private final int outHeight, outWidth;
  /** {@code normalized[c][v]}: the tensor value of 8-bit sample {@code v} of channel {@code c}. */
  private final float[][] normalized = new float[3][256];

  public ImagePreprocessor(PreprocessorConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    this.filter = switch (config.resample()) {
      case PreprocessorConfig.BILINEAR -> Filter.BILINEAR;
      case PreprocessorConfig.BICUBIC -> Filter.BICUBIC;
      default -> throw new IllegalArgumentException("resample " + config.resample() + " is not supported (2 = bilinear, 3 = bicubic)");
    };
    this.outHeight = config.outputHeight();
    this.outWidth = config.outputWidth();
    double[] mean = config.mean(), std = config.std();
    for (int c = 0; c < 3; c++) {
      for (int v = 0; v < 256; v++) {
        // transformers: rescale in float64 then cast to float32; normalize in float32.
        float x = config.doRescale() ? (float) (v * config.rescaleFactor()) : v;
        normalized[c][v] = config.doNormalize() ? (x - (float) mean[c]) / (float) std[c] : x;
      }
    }
  }

  public PreprocessorConfig config() {
    return config;
  }

  /** Number of floats one image takes: {@code 3 * height * width}. */
  public int tensorSize() {
    return 3 * outHeight * outWidth;
  }

  /** A new {@code [3, height, width]} tensor for {@code image}. */
  public float[] toTensor(RgbImage image) {
    float[] dst = new float[tensorSize()];
    toTensor(image, dst, 0);
    return dst;
  }

  /**
   * Writes the {@code [3, height, width]} tensor of {@code image} into {@code dst} from
   * {@code offset}, so a batch can be filled in place.
   *
   * @throws IllegalArgumentException if the tensor does not fit in {@code dst} at {@code offset},
   *     or if, without a center crop, the resized image is not of the tensor's size
   */
  public void toTensor(RgbImage image, float[] dst, int offset) {
    int size = tensorSize();
    if (offset < 0 || offset > dst.length - size) {
      throw new IllegalArgumentException("a tensor of " + size + " floats does not fit at offset " + offset
          + " of an array of " + dst.length + " floats");
    }
    int width = image.width(), height = image.height();
    int resizedWidth = width, resizedHeight = height;
    if (config.doResize()) {
      int[] s = resizedSize(width, height, config.shortestEdge());
      resizedWidth = s[0];
      resizedHeight = s[1];
    }
    if (!config.doCenterCrop() && (resizedWidth != outWidth || resizedHeight != outHeight)) {
      throw new IllegalArgumentException("image of " + width + "x" + height + " resizes to " + resizedWidth + "x"
          + resizedHeight + ", not the " + outWidth + "x" + outHeight + " tensor this preprocessing makes without a center crop");
    }
    // transformers' center_crop: the crop window in resized coordinates, possibly outside it.
    int top = Math.floorDiv(resizedHeight - outHeight, 2);
    int left = Math.floorDiv(resizedWidth - outWidth, 2);
    int x0 = Math.max(0, left), x1 = Math.min(resizedWidth, left + outWidth);
    int y0 = Math.max(0, top), y1 = Math.min(resizedHeight, top + outHeight);
    byte[] region = resize(image, resizedWidth, resizedHeight, filter, x0, x1, y0, y1);
    int regionRow = (x1 - x0) * 3;
    for (int c = 0; c < 3; c++) {
      float[] lut = normalized[c];
      float pad = lut[0];
      for (int y = 0; y < outHeight; y++) {
        int d = offset + (c * outHeight + y) * outWidth;
        int ry = y + top;
        if (ry < y0 || ry >= y1) {
          Arrays.fill(dst, d, d + outWidth, pad);
          continue;
        }
        int r = (ry - y0) * regionRow + c - 3 * x0;
        for (int x = 0; x < outWidth; x++) {
          int rx = x + left;
          dst[d + x] = rx < x0 || rx >= x1 ? pad : lut[region[r + 3 * rx] & 0xff];
        }
      }
    }
  }

  /**
   * The {@code (width, height)} transformers' {@code get_resize_output_image_size} gives for
   * {@code size = {"shortest_edge": shortestEdge}} and {@code default_to_square = False}.
   */
  static int[] resizedSize(int width, int height, int shortestEdge) {
    int shorter = Math.min(width, height), longer = Math.max(width, height);
    // Python: int(requested_new_short * long / short), a true (double) division, truncated.
    double newLong = (double) ((long) shortestEdge * longer) / shorter;
    if (newLong > MAX_RESIZED_SIDE) {
      throw new IllegalArgumentException("image of " + width + "x" + height + " would be resized to a side of "
          + (long) newLong + " pixels, over " + MAX_RESIZED_SIDE + ": its aspect ratio is too extreme");
    }
    int l = (int) newLong;
    return width <= height ? new int[] {shortestEdge, l} : new int[] {l, shortestEdge};
  }

  /**
   * Columns {@code [x0, x1)} and rows {@code [y0, y1)} of Pillow's
   * {@code image.resize((width, height), filter)}, as interleaved RGB bytes, rows top to bottom.
   * This is {@code ImagingResample} of Pillow's {@code Resample.c}: a horizontal pass into an
   * 8-bit image, then a vertical pass; a pass is skipped when its axis keeps its size.
   */
  static byte[] resize(RgbImage image, int width, int height, Filter filter, int x0, int x1, int y0, int y1) {
    int inWidth = image.width(), inHeight = image.height();
    byte[] in = image.rgb();
    int cols = x1 - x0, rowLength = cols * 3;
    Coefficients vertical = height != inHeight ? Coefficients.of(inHeight, height, filter, y0, y1) : null;
    int firstRow = vertical != null ? vertical.firstInput() : y0;
    int endRow = vertical != null ? vertical.endInput() : y1;

    // Horizontal pass over the source rows the vertical pass reads: [rows][cols][3], 8 bits.
    byte[] tmp = new byte[(endRow - firstRow) * rowLength];
    if (width != inWidth) {
      Coefficients horizontal = Coefficients.of(inWidth, width, filter, x0, x1);
      int[] k = horizontal.k(), start = horizontal.start(), count = horizontal.count();
      int ksize = horizontal.ksize();
      for (int y = firstRow, o = 0; y < endRow; y++) {
        int row = y * inWidth * 3;
        for (int xx = 0; xx < cols; xx++) {
          int kb = xx * ksize, n = count[xx];
          int s0 = HALF, s1 = HALF, s2 = HALF;
          for (int i = 0, p = row + start[xx] * 3; i < n; i++, p += 3) {
            int kv = k[kb + i];
            s0 += (in[p] & 0xff) * kv;
            s1 += (in[p + 1] & 0xff) * kv;
            s2 += (in[p + 2] & 0xff) * kv;
          }
          tmp[o++] = clip8(s0);
          tmp[o++] = clip8(s1);
          tmp[o++] = clip8(s2);
        }
      }
    } else {
      for (int y = firstRow; y < endRow; y++) {
        System.arraycopy(in, (y * inWidth + x0) * 3, tmp, (y - firstRow) * rowLength, rowLength);
      }
    }
    if (vertical == null) {
      return tmp;
    }

    // Vertical pass: one output row at a time, accumulating whole source rows (scratch reused).
    int rows = y1 - y0;
    byte[] out = new byte[rows * rowLength];
    int[] acc = new int[rowLength];
    int[] k = vertical.k(), start = vertical.start(), count = vertical.count();
    int ksize = vertical.ksize();
    for (int yy = 0; yy < rows; yy++) {
      Arrays.fill(acc, HALF);
      int kb = yy * ksize, n = count[yy];
      for (int i = 0; i < n; i++) {
        int kv = k[kb + i];
        int p = (start[yy] - firstRow + i) * rowLength;
        for (int j = 0; j < rowLength; j++) {
          acc[j] += (tmp[p + j] & 0xff) * kv;
        }
      }
      for (int j = 0, o = yy * rowLength; j < rowLength; j++) {
        out[o + j] = clip8(acc[j]);
      }
    }
    return out;
  }

  /** Pillow's {@code clip8}: drop the fraction bits (flooring) and clamp to 0..255. */
  private static byte clip8(int sum) {
    int v = sum >> PRECISION_BITS;
    return (byte) (v < 0 ? 0 : Math.min(v, 255));
  }

  /** Pillow's resampling filters (Resample.c), with their support at scale 1. */
  enum Filter {
    BILINEAR(1.0) {
      @Override
      double weight(double x) {
        x = Math.abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
      }
    },
    BICUBIC(2.0) {
      @Override
      double weight(double x) {
        // Keys' cubic convolution with a = -0.5, written as Pillow writes it.
        final double a = -0.5;
        if (x < 0.0) {
          x = -x;
        }
        if (x < 1.0) {
          return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
          return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
      }
    };

    final double support;

    Filter(double support) {
      this.support = support;
    }

    abstract double weight(double x);
  }

  /**
   * Pillow's {@code precompute_coeffs} and {@code normalize_coeffs_8bpc} for outputs
   * {@code [from, to)} of one axis: output {@code i} (counted from {@code from}) reads
   * {@code count[i]} inputs from {@code start[i]}, weighted by
   * {@code k[i * ksize ...]} in {@link #PRECISION_BITS} fixed point.
   */
  record Coefficients(int ksize, int[] start, int[] count, int[] k) {

    static Coefficients of(int inSize, int outSize, Filter filter, int from, int to) {
      double scale = (double) inSize / outSize;
      double filterScale = Math.max(scale, 1.0); // antialias: widen the filter when shrinking
      double support = filter.support * filterScale;
      int ksize = (int) Math.ceil(support) * 2 + 1;
      int n = to - from;
      int[] start = new int[n], count = new int[n], k = new int[n * ksize];
      double[] w = new double[ksize];
      double ss = 1.0 / filterScale;
      for (int i = 0; i < n; i++) {
        int xx = from + i;
        double center = (xx + 0.5) * scale;
        int xmin = Math.max(0, (int) (center - support + 0.5)); // C casts truncate, as Java's do
        int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
          w[x] = filter.weight((x + xmin - center + 0.5) * ss);
          ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
          double v = ww != 0.0 ? w[x] / ww : w[x];
          k[i * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
        }
        start[i] = xmin;
        count[i] = xmax;
      }
      return new Coefficients(ksize, start, count, k);
    }

    /** The first input any output reads. */
    int firstInput() {
      int first = Integer.MAX_VALUE;
      for (int s : start) {
        first = Math.min(first, s);
      }
      return first;
    }

    /** One past the last input any output reads. */
    int endInput() {
      int end = 0;
      for (int i = 0; i < start.length; i++) {
        end = Math.max(end, start[i] + count[i]);
      }
      return end;
    }
  }
}
