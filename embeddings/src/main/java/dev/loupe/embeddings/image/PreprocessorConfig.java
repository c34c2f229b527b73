package dev.loupe.embeddings.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * The image preprocessing of a vision encoder, as a Hugging Face {@code preprocessor_config.json}
 * states it: resize so the shortest side is {@code shortestEdge} (bicubic), center-crop to
 * {@code cropHeight x cropWidth}, multiply by {@code rescaleFactor}, subtract {@code mean} and
 * divide by {@code std} per channel.
 *
 * @param doResize whether to resize
 * @param shortestEdge target length of the shorter side
 * @param resample Pillow's resampling filter number (3 = bicubic, 2 = bilinear)
 * @param doCenterCrop whether to crop
 * @param cropHeight crop height
 * @param cropWidth crop width
 * @param doRescale whether to multiply by {@code rescaleFactor}
 * @param rescaleFactor usually 1/255
 * @param doNormalize whether to subtract the mean and divide by the standard deviation
 * @param mean per-channel mean (R, G, B)
 * @param std per-channel standard deviation (R, G, B)
 */
public record PreprocessorConfig(
    boolean doResize,
    int shortestEdge,
    int resample,
    boolean doCenterCrop,
    int cropHeight,
    int cropWidth,
    boolean doRescale,
    double rescaleFactor,
    boolean doNormalize,
    double[] mean,
    double[] std) {

  /** Pillow's filter numbers that {@link ImagePreprocessor} implements. */
  public static final int BILINEAR = 2, BICUBIC = 3;

  public PreprocessorConfig {
    if (doResize && (shortestEdge < 1 || shortestEdge > 8192)) {
      throw new IllegalArgumentException("shortest_edge " + shortestEdge + " is outside [1, 8192]");
    }
    if (resample != BILINEAR && resample != BICUBIC) {
      throw new IllegalArgumentException("resample " + resample + " is not supported (2 = bilinear, 3 = bicubic)");
    }
    if (cropHeight < 1 || cropWidth < 1 || cropHeight > 8192 || cropWidth > 8192) {
      throw new IllegalArgumentException("crop size " + cropWidth + "x" + cropHeight + " is outside [1, 8192]");
    }
    if (mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("image_mean " + Arrays.toString(mean) + " and image_std " + Arrays.toString(std) + " need 3 values each");
    }
    for (double s : std) {
      if (!(s > 0) || !Double.isFinite(s)) {
        throw new IllegalArgumentException("image_std " + Arrays.toString(std) + " must be positive and finite");
      }
    }
    for (double m : mean) {
      if (!Double.isFinite(m)) {
        throw new IllegalArgumentException("image_mean " + Arrays.toString(mean) + " must be finite");
      }
    }
    if (doRescale && (!(rescaleFactor > 0) || !Double.isFinite(rescaleFactor))) {
      throw new IllegalArgumentException("rescale_factor " + rescaleFactor + " must be positive and finite");
    }
    mean = mean.clone();
    std = std.clone();
  }

  /** Per-channel mean (R, G, B); a copy. */
  @Override
  public double[] mean() {
    return mean.clone();
  }

  /** Per-channel standard deviation (R, G, B); a copy. */
  @Override
  public double[] std() {
    return std.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PreprocessorConfig c
        && doResize == c.doResize && shortestEdge == c.shortestEdge && resample == c.resample
        && doCenterCrop == c.doCenterCrop && cropHeight == c.cropHeight && cropWidth == c.cropWidth
        && doRescale == c.doRescale && Double.compare(rescaleFactor, c.rescaleFactor) == 0
        && doNormalize == c.doNormalize && Arrays.equals(mean, c.mean) && Arrays.equals(std, c.std);
  }

  @Override
  public int hashCode() {
    return Objects.hash(doResize, shortestEdge, resample, doCenterCrop, cropHeight, cropWidth, doRescale, rescaleFactor,
        doNormalize, Arrays.hashCode(mean), Arrays.hashCode(std));
  }

  @Override
  public String toString() {
    return "PreprocessorConfig[resize=" + (doResize ? "shortest edge " + shortestEdge + (resample == BICUBIC ? " bicubic" : " bilinear") : "no")
        + ", crop=" + (doCenterCrop ? cropWidth + "x" + cropHeight : "no")
        + ", rescale=" + (doRescale ? rescaleFactor : "no")
        + ", normalize=" + (doNormalize ? "mean " + Arrays.toString(mean) + " std " + Arrays.toString(std) : "no") + "]";
  }

  /** OpenAI CLIP's preprocessing: 224, bicubic, center crop 224, CLIP mean and std. */
  public static PreprocessorConfig clip() {
    return new PreprocessorConfig(true, 224, BICUBIC, true, 224, 224, true, 1 / 255.0, true,
        new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711});
  }

  /** Height of the tensor this preprocessing produces. */
  public int outputHeight() {
    return doCenterCrop ? cropHeight : shortestEdge;
  }

  /** Width of the tensor this preprocessing produces. */
  public int outputWidth() {
    return doCenterCrop ? cropWidth : shortestEdge;
  }

  /** Reads a Hugging Face {@code preprocessor_config.json}; missing keys take CLIP's values. */
  public static PreprocessorConfig read(Path file) throws IOException {
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(file.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
    try {
      return fromJson(n);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  static PreprocessorConfig fromJson(JsonNode n) {
    PreprocessorConfig d = clip();
    JsonNode size = n.path("size");
    int shortest;
    if (size.isMissingNode() || size.isNull()) {
      shortest = d.shortestEdge();
    } else if (size.isInt()) {
      shortest = size.asInt(); // transformers' get_size_dict(int, default_to_square=False)
    } else if (size.path("shortest_edge").isInt()) {
      shortest = size.get("shortest_edge").asInt();
    } else {
      // {"height", "width"} means an exact resize without keeping the aspect ratio, and
      // "longest_edge" a bound; neither is CLIP's preprocessing, so say so rather than guess.
      throw new IllegalArgumentException("size " + size + " is not supported: only {\"shortest_edge\": n} or a number");
    }
    JsonNode crop = n.path("crop_size");
    int cropH = crop.isInt() ? crop.asInt() : crop.path("height").asInt(d.cropHeight());
    int cropW = crop.isInt() ? crop.asInt() : crop.path("width").asInt(d.cropWidth());
    return new PreprocessorConfig(
        n.path("do_resize").asBoolean(true),
        shortest,
        n.path("resample").asInt(d.resample()),
        n.path("do_center_crop").asBoolean(true),
        cropH,
        cropW,
        n.path("do_rescale").asBoolean(true),
        n.path("rescale_factor").asDouble(d.rescaleFactor()),
        n.path("do_normalize").asBoolean(true),
        triple(n.path("image_mean"), d.mean()),
        triple(n.path("image_std"), d.std()));
  }

  private static double[] triple(JsonNode node, double[] fallback) {
    if (node.isMissingNode() || node.isNull()) {
      return fallback;
    }
    if (node.isNumber()) {
      return new double[] {node.asDouble(), node.asDouble(), node.asDouble()};
    }
    double[] v = new double[node.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = node.get(i).asDouble();
    }
    return v;
  }
}
