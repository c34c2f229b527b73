package dev.loupe.embeddings.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreprocessorConfigTest {

  @Test
  void the_real_clip_config_reads_as_clips_preprocessing() throws IOException {
    PreprocessorConfig config = PreprocessorConfig.read(TestData.shared("tokenizers/clip-vit-b32/preprocessor_config.json"));

    assertEquals(PreprocessorConfig.clip(), config);
    assertEquals(224, config.shortestEdge());
    assertEquals(PreprocessorConfig.BICUBIC, config.resample());
    assertEquals(224, config.outputHeight());
    assertEquals(224, config.outputWidth());
    assertEquals(0.00392156862745098, config.rescaleFactor());
    assertArrayEquals(new double[] {0.48145466, 0.4578275, 0.40821073}, config.mean());
    assertArrayEquals(new double[] {0.26862954, 0.26130258, 0.27577711}, config.std());
  }

  @Test
  void every_value_of_a_non_default_config_is_read(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("preprocessor_config.json"), """
        {"do_resize": true, "size": {"shortest_edge": 256}, "resample": 2,
         "do_center_crop": true, "crop_size": {"height": 240, "width": 200},
         "do_rescale": true, "rescale_factor": 0.5,
         "do_normalize": false, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
        """);

    PreprocessorConfig config = PreprocessorConfig.read(file);

    assertEquals(new PreprocessorConfig(true, 256, PreprocessorConfig.BILINEAR, true, 240, 200, true, 0.5, false,
        new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225}), config);
    assertEquals(3 * 240 * 200, new ImagePreprocessor(config).tensorSize());
    // Not normalized: a flat grey of 100 is 100 * 0.5 everywhere.
    float[] tensor = new ImagePreprocessor(config).toTensor(ImagePreprocessorTest.filled(300, 500, 100, 100, 100));
    for (float v : tensor) {
      assertEquals(50f, v);
    }
  }

  @Test
  void sizes_given_as_numbers_are_shortest_edges_and_square_crops(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("old.json"), """
        {"size": 288, "crop_size": 256, "image_mean": 0.5, "image_std": 0.25}
        """);

    PreprocessorConfig config = PreprocessorConfig.read(file);

    assertEquals(288, config.shortestEdge());
    assertEquals(256, config.cropHeight());
    assertEquals(256, config.cropWidth());
    assertArrayEquals(new double[] {0.5, 0.5, 0.5}, config.mean());
    assertArrayEquals(new double[] {0.25, 0.25, 0.25}, config.std());
    assertTrue(config.doResize() && config.doCenterCrop() && config.doRescale() && config.doNormalize());
  }

  @Test
  void an_exact_height_and_width_resize_is_refused_rather_than_guessed(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("siglip.json"), """
        {"size": {"height": 224, "width": 224}, "do_center_crop": false}
        """);

    var e = assertThrows(IllegalArgumentException.class, () -> PreprocessorConfig.read(file));
    assertEquals(file + ": size {\"height\":224,\"width\":224} is not supported: only {\"shortest_edge\": n} or a number", e.getMessage());
  }

  @Test
  void invalid_json_is_rejected_naming_the_file(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("broken.json"), "{\"size\": ");
    var e = assertThrows(IllegalArgumentException.class, () -> PreprocessorConfig.read(file));
    assertTrue(e.getMessage().startsWith(file + " is not valid JSON"), e.getMessage());
  }

  @Test
  void bad_values_are_rejected_naming_them() {
    var std = assertThrows(IllegalArgumentException.class, () -> new PreprocessorConfig(true, 224, 3, true, 224, 224, true, 1 / 255.0,
        true, new double[] {0, 0, 0}, new double[] {1, 0, 1}));
    assertEquals("image_std [1.0, 0.0, 1.0] must be positive and finite", std.getMessage());
    var resample = assertThrows(IllegalArgumentException.class, () -> new PreprocessorConfig(true, 224, 1, true, 224, 224, true,
        1 / 255.0, true, new double[] {0, 0, 0}, new double[] {1, 1, 1}));
    assertEquals("resample 1 is not supported (2 = bilinear, 3 = bicubic)", resample.getMessage());
    var rescale = assertThrows(IllegalArgumentException.class, () -> new PreprocessorConfig(true, 224, 3, true, 224, 224, true,
        Double.NaN, true, new double[] {0, 0, 0}, new double[] {1, 1, 1}));
    assertEquals("rescale_factor NaN must be positive and finite", rescale.getMessage());
  }

  @Test
  void the_statistics_cannot_be_changed_from_outside() {
    double[] mean = {0.1, 0.2, 0.3};
    PreprocessorConfig config = new PreprocessorConfig(true, 224, 3, true, 224, 224, true, 1 / 255.0, true, mean, new double[] {1, 1, 1});
    mean[0] = 9;
    config.mean()[1] = 9;
    assertArrayEquals(new double[] {0.1, 0.2, 0.3}, config.mean());
    assertFalse(config.equals(PreprocessorConfig.clip()));
  }
}
