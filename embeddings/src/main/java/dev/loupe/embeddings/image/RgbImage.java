package dev.loupe.embeddings.image;

/**
 * Decoded 8-bit RGB pixels, row-major and interleaved ({@code r, g, b} per pixel, rows top to
 * bottom), with no alpha: transparency has already been composited on white.
 *
 * <p>The array is not copied; whoever builds an {@code RgbImage} hands it over and must not
 * modify it afterwards.
 */
public record RgbImage(int width, int height, byte[] rgb) {
  public RgbImage {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("image of " + width + "x" + height + " pixels has no pixels");
    }
    if (rgb.length != 3L * width * height) {
      throw new IllegalArgumentException(
          "image of " + width + "x" + height + " needs " + 3L * width * height + " bytes, got " + rgb.length);
    }
  }

  /** Red, green or blue ({@code channel} 0, 1, 2) at column {@code x}, row {@code y}, as 0..255. */
  public int sample(int x, int y, int channel) {
    return rgb[(y * width + x) * 3 + channel] & 0xff;
  }
}
