package dev.loupe.embeddings.image;

/**
 * Turns decoded pixels into a vision encoder's input tensor: {@code float32}, channels first
 * ({@code [3, height, width]}, R then G then B), rows top to bottom.
 *
 * <p>Thread-safe and stateless apart from its configuration.
 */
public final class ImagePreprocessor {
  private final PreprocessorConfig config;

  public ImagePreprocessor(PreprocessorConfig config) {
    this.config = config;
  }

  public PreprocessorConfig config() {
    return config;
  }

  /** Number of floats one image takes: {@code 3 * height * width}. */
  public int tensorSize() {
    return 3 * config.outputHeight() * config.outputWidth();
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
   */
  public void toTensor(RgbImage image, float[] dst, int offset) {
    // Placeholder until the Pillow-exact resampling lands: nearest neighbour, same geometry.
    int h = config.outputHeight(), w = config.outputWidth();
    int rw = image.width(), rh = image.height();
    if (config.doResize()) {
      if (rw <= rh) {
        rh = (int) ((long) config.shortestEdge() * image.height() / image.width());
        rw = config.shortestEdge();
      } else {
        rw = (int) ((long) config.shortestEdge() * image.width() / image.height());
        rh = config.shortestEdge();
      }
    }
    int top = (rh - h) / 2, left = (rw - w) / 2;
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int ry = Math.clamp(y + top, 0, rh - 1), rx = Math.clamp(x + left, 0, rw - 1);
          int sy = (int) ((long) ry * image.height() / rh), sx = (int) ((long) rx * image.width() / rw);
          double v = image.sample(sx, sy, c);
          if (config.doRescale()) v *= config.rescaleFactor();
          if (config.doNormalize()) v = (v - config.mean()[c]) / config.std()[c];
          dst[offset + (c * h + y) * w + x] = (float) v;
        }
      }
    }
  }
}
