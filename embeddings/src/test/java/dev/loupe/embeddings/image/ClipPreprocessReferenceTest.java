package dev.loupe.embeddings.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Decoding plus preprocessing against the tensors Pillow and numpy compute for Hugging Face's
 * {@code CLIPImageProcessor} ({@code src/test/python/clip_preprocess_reference.py}), for every
 * sample image in {@code ../shared/testdata/images} and every derived fixture of
 * {@link ClipFixtures}, with the real CLIP config and two others.
 */
class ClipPreprocessReferenceTest {
  /** The bound on the largest difference after normalization. */
  static final double TOLERANCE = 0.02;

  private static final String RESOURCE = "clip_preprocess_reference.json";
  private static Map<String, byte[]> fixtures;

  record Case(String image, String kind, String config, String sha256, int[] shape, int stride, double[] means, JsonNode grid) {
    @Override
    public String toString() {
      return image + " with the " + config + " config";
    }
  }

  static JsonNode reference() {
    try (InputStream in = ClipPreprocessReferenceTest.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the test resources; regenerate it: " + ClipFixtures.REGENERATE);
      }
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Stream<Case> cases() {
    ObjectMapper json = new ObjectMapper();
    JsonNode all = reference().get("cases");
    return Stream.iterate(0, i -> i < all.size(), i -> i + 1).map(i -> {
      JsonNode c = all.get(i);
      return new Case(c.get("image").asText(), c.get("kind").asText(), c.get("config").asText(), c.get("sha256").asText(),
          json.convertValue(c.get("shape"), int[].class), c.get("grid_stride").asInt(),
          json.convertValue(c.get("channel_means"), double[].class), c.get("grid"));
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void preprocessing_matches_pillow_within_the_tolerance(Case c) throws IOException {
    byte[] bytes = bytesOf(c);
    PreprocessorConfig config = configOf(c.config());
    assertArrayEquals(c.shape(), new int[] {3, config.outputHeight(), config.outputWidth()}, c + ": tensor shape");

    float[] tensor = new ImagePreprocessor(config).toTensor(new ImageDecoder().decode(bytes, c.image()));

    int h = c.shape()[1], w = c.shape()[2], stride = c.stride();
    double max = 0;
    String worst = "";
    for (int ch = 0; ch < 3; ch++) {
      JsonNode rows = c.grid().get(ch);
      for (int gy = 0; gy < rows.size(); gy++) {
        JsonNode row = rows.get(gy);
        for (int gx = 0; gx < row.size(); gx++) {
          int y = gy * stride, x = gx * stride;
          double expected = row.get(gx).asDouble(), actual = tensor[(ch * h + y) * w + x];
          if (Math.abs(actual - expected) > max) {
            max = Math.abs(actual - expected);
            worst = String.format(" at channel %d, row %d, column %d: java %.5f, pillow %.5f", ch, y, x, actual, expected);
          }
        }
      }
    }
    double maxMean = 0;
    for (int ch = 0; ch < 3; ch++) {
      double sum = 0;
      for (int i = ch * h * w; i < (ch + 1) * h * w; i++) {
        sum += tensor[i];
      }
      maxMean = Math.max(maxMean, Math.abs(sum / (h * w) - c.means()[ch]));
    }
    if (max > 1e-5) {
      // Within the tolerance but no longer bit-exact (the reference rounds to 5 decimals): say so.
      System.out.printf("%s: max |java - pillow| %.6f on the grid, %.6f on the channel means%n", c, max, maxMean);
    }
    double finalMax = max, finalMaxMean = maxMean;
    String finalWorst = worst;
    assertTrue(max <= TOLERANCE, () -> c + ": max |java - pillow| = " + String.format("%.5f", finalMax) + finalWorst
        + ", over the tolerance " + TOLERANCE);
    assertTrue(maxMean <= TOLERANCE, () -> c + ": a channel mean differs from Pillow's by " + finalMaxMean);
  }

  @Test
  void the_reference_was_computed_with_the_real_clip_config() throws IOException {
    assertEquals(PreprocessorConfig.read(TestData.shared("tokenizers/clip-vit-b32/preprocessor_config.json")),
        PreprocessorConfig.fromJson(reference().get("configs").get("clip")));
  }

  private static PreprocessorConfig configOf(String name) throws IOException {
    if (name.equals("clip")) {
      return PreprocessorConfig.read(TestData.shared("tokenizers/clip-vit-b32/preprocessor_config.json"));
    }
    return PreprocessorConfig.fromJson(reference().get("configs").get(name));
  }

  private static byte[] bytesOf(Case c) throws IOException {
    if (c.kind().equals("sample")) {
      Path file = TestData.shared("images/" + c.image());
      byte[] bytes = Files.readAllBytes(file);
      if (!sha256(bytes).equals(c.sha256())) {
        fail(file + " is not the file the reference was computed from (sha256 " + sha256(bytes) + ", expected " + c.sha256()
            + "); if the shared sample changed on purpose, rerun the generator: " + ClipFixtures.REGENERATE);
      }
      return bytes;
    }
    byte[] bytes = fixtures().get(c.image());
    if (bytes == null) {
      fail("the reference names fixture " + c.image() + ", which ClipFixtures no longer makes; rerun the generator: "
          + ClipFixtures.REGENERATE);
    }
    if (!sha256(bytes).equals(c.sha256())) {
      fail("fixture bytes changed: " + c.image() + " now has sha256 " + sha256(bytes) + ", the reference was computed from "
          + c.sha256() + " (a different JDK JPEG writer, or ClipFixtures was edited); rerun the generator: "
          + ClipFixtures.REGENERATE);
    }
    return bytes;
  }

  private static synchronized Map<String, byte[]> fixtures() throws IOException {
    if (fixtures == null) {
      fixtures = ClipFixtures.all(TestData.shared("images"));
    }
    return fixtures;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
