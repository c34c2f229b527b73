package dev.loupe.embeddings.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImagePreprocessorTest {
  private static final long SEED = 20_250_101L;
  private final ImagePreprocessor clip = new ImagePreprocessor(PreprocessorConfig.clip());

  static RgbImage filled(int width, int height, int r, int g, int b) {
    byte[] rgb = new byte[3 * width * height];
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = (byte) r;
      rgb[i + 1] = (byte) g;
      rgb[i + 2] = (byte) b;
    }
    return new RgbImage(width, height, rgb);
  }

  static RgbImage random(int width, int height, long seed) {
    byte[] rgb = new byte[3 * width * height];
    new Random(seed).nextBytes(rgb);
    return new RgbImage(width, height, rgb);
  }

  @Test
  void the_clip_tensor_has_3_by_224_by_224_floats() {
    assertEquals(3 * 224 * 224, clip.tensorSize());
    assertEquals(clip.tensorSize(), clip.toTensor(filled(10, 10, 0, 0, 0)).length);
  }

  @ParameterizedTest(name = "{0}x{1}")
  @CsvSource({"1,1", "7,13", "13,7", "1,1025", "1025,1", "207,511", "224,224", "100,224", "225,224", "4000,3000"})
  void a_flat_colour_of_any_size_stays_exactly_that_colour(int width, int height) {
    float[] tensor = clip.toTensor(filled(width, height, 200, 100, 7));
    float[] expected = {
      ((float) (200 * (1 / 255.0)) - (float) 0.48145466) / (float) 0.26862954,
      ((float) (100 * (1 / 255.0)) - (float) 0.4578275) / (float) 0.26130258,
      ((float) (7 * (1 / 255.0)) - (float) 0.40821073) / (float) 0.27577711};
    int plane = 224 * 224;
    for (int i = 0; i < tensor.length; i++) {
      if (tensor[i] != expected[i / plane]) {
        throw new AssertionError(width + "x" + height + ": value " + i + " (channel " + i / plane + ") is " + tensor[i]
            + ", expected " + expected[i / plane]);
      }
    }
  }

  @ParameterizedTest(name = "{0}x{1} to {2}x{3}")
  @CsvSource({"640,427,335,224", "427,640,224,335", "512,512,224,224", "451,300,336,224", "1,1025,224,229600", "7,3,522,224"})
  void the_resized_size_is_transformers_shortest_edge_size(int width, int height, int resizedWidth, int resizedHeight) {
    assertArrayEquals(new int[] {resizedWidth, resizedHeight}, ImagePreprocessor.resizedSize(width, height, 224));
  }

  @ParameterizedTest(name = "{0}x{1} to {2}x{3}, {4}")
  @CsvSource({
    "640,427,335,224,BICUBIC", "427,640,224,335,BICUBIC", "7,5,300,13,BICUBIC", "1025,1,13,7,BICUBIC",
    "207,511,100,100,BILINEAR", "13,100,511,207,BILINEAR", "100,100,100,50,BICUBIC", "100,100,50,100,BILINEAR"})
  void resizing_a_window_gives_the_same_pixels_as_resizing_everything(int w, int h, int rw, int rh, ImagePreprocessor.Filter filter) {
    RgbImage image = random(w, h, SEED + w * 31L + h);
    byte[] whole = ImagePreprocessor.resize(image, rw, rh, filter, 0, rw, 0, rh);
    int x0 = rw / 3, x1 = Math.max(x0 + 1, rw * 3 / 4), y0 = rh / 5, y1 = Math.max(y0 + 1, rh - 1);
    byte[] window = ImagePreprocessor.resize(image, rw, rh, filter, x0, x1, y0, y1);
    for (int y = y0; y < y1; y++) {
      byte[] expected = Arrays.copyOfRange(whole, (y * rw + x0) * 3, (y * rw + x1) * 3);
      byte[] actual = Arrays.copyOfRange(window, (y - y0) * (x1 - x0) * 3, (y - y0 + 1) * (x1 - x0) * 3);
      assertArrayEquals(expected, actual, "row " + y + " (seed " + (SEED + w * 31L + h) + ")");
    }
  }

  @Test
  void resizing_to_the_same_size_copies_the_pixels() {
    RgbImage image = random(31, 17, SEED);
    assertArrayEquals(image.rgb(), ImagePreprocessor.resize(image, 31, 17, ImagePreprocessor.Filter.BICUBIC, 0, 31, 0, 17));
  }

  @Test
  void an_image_smaller_than_the_crop_is_padded_with_zeros_before_normalization() {
    PreprocessorConfig noResize = new PreprocessorConfig(false, 224, 3, true, 6, 4, true, 1 / 255.0, true,
        new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
    // A 2x3 white image in a 4x6 crop: transformers pads ceil((6 - 3) / 2) = 2 rows on top, 1 below,
    // and one column either side.
    float[] tensor = new ImagePreprocessor(noResize).toTensor(filled(2, 3, 255, 255, 255));
    float[] channel = Arrays.copyOf(tensor, 24);
    float[] expected = {
      -1, -1, -1, -1,
      -1, -1, -1, -1,
      -1, 1, 1, -1,
      -1, 1, 1, -1,
      -1, 1, 1, -1,
      -1, -1, -1, -1};
    assertArrayEquals(expected, channel);
  }

  @Test
  void a_tensor_is_written_at_its_offset_and_nothing_else_is_touched() {
    float[] batch = new float[2 * clip.tensorSize() + 3];
    Arrays.fill(batch, Float.NaN);
    RgbImage image = random(300, 200, SEED);

    clip.toTensor(image, batch, clip.tensorSize() + 1);

    assertTrue(Float.isNaN(batch[clip.tensorSize()]));
    assertTrue(Float.isNaN(batch[2 * clip.tensorSize() + 1]));
    assertArrayEquals(clip.toTensor(image), Arrays.copyOfRange(batch, clip.tensorSize() + 1, 2 * clip.tensorSize() + 1));
  }

  @Test
  void a_tensor_that_does_not_fit_is_rejected() {
    var e = assertThrows(IllegalArgumentException.class, () -> clip.toTensor(filled(5, 5, 0, 0, 0), new float[150_528], 1));
    assertEquals("a tensor of 150528 floats does not fit at offset 1 of an array of 150528 floats", e.getMessage());
  }

  @Test
  void without_a_center_crop_the_resized_image_must_be_the_tensor_size() {
    PreprocessorConfig noCrop = new PreprocessorConfig(true, 224, 3, false, 224, 224, true, 1 / 255.0, true,
        new double[] {0, 0, 0}, new double[] {1, 1, 1});
    ImagePreprocessor p = new ImagePreprocessor(noCrop);
    assertEquals(p.tensorSize(), p.toTensor(filled(50, 50, 1, 2, 3)).length);
    var e = assertThrows(IllegalArgumentException.class, () -> p.toTensor(filled(60, 40, 1, 2, 3)));
    assertEquals("image of 60x40 resizes to 336x224, not the 224x224 tensor this preprocessing makes without a center crop",
        e.getMessage());
  }

  @Test
  void an_extreme_aspect_ratio_is_rejected_naming_the_size() {
    var e = assertThrows(IllegalArgumentException.class, () -> clip.toTensor(filled(80_000, 1, 0, 0, 0)));
    assertEquals("image of 80000x1 would be resized to a side of 17920000 pixels, over 16777216: its aspect ratio is too extreme",
        e.getMessage());
  }
}
