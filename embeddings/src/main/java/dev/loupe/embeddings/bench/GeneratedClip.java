package dev.loupe.embeddings.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.model.Digests;
import dev.loupe.embeddings.model.ModelManifest;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A complete CLIP-style model folder (manifest, both ONNX towers, tokenizer, preprocessing) with
 * random weights, for benchmarks that need a real embedder where real weights cannot be
 * downloaded. {@link dev.loupe.embeddings.onnx.OnnxEmbedder#open} loads it like an installed model.
 */
public final class GeneratedClip {
  /** A two-layer, 64-wide CLIP shape: the pipeline's cost without the transformer's. */
  public static final TransformerModels.Shape TINY_VISION = new TransformerModels.Shape(64, 2, 4, 128, 50, 32);
  /** The text tower that goes with {@link #TINY_VISION}. */
  public static final TransformerModels.Shape TINY_TEXT = new TransformerModels.Shape(64, 2, 4, 128, 77, 32);

  private GeneratedClip() {}

  /**
   * Writes the model into {@code dir}, or reuses it when a complete one is already there (its
   * manifest is written last).
   *
   * @param name the shape's name, for the manifest and messages ({@code vit-b32}, {@code tiny})
   * @param tokenizer CLIP's {@code tokenizer.json}; null to look for the development tree's copy
   * @throws IllegalArgumentException if no tokenizer is given and none is found
   */
  public static Path write(Path dir, String name, TransformerModels.Shape vision, TransformerModels.Shape text,
      Path tokenizer, PrintStream out) throws IOException {
    return write(dir, name, vision, text, TransformerModels.Weights.FP32, tokenizer, out);
  }

  /** The same with the towers' linear layers stored as {@code weights} says (the published CLIP exports are int8). */
  public static Path write(Path dir, String name, TransformerModels.Shape vision, TransformerModels.Shape text,
      TransformerModels.Weights weights, Path tokenizer, PrintStream out) throws IOException {
    if (tokenizer == null) {
      tokenizer = findClipTokenizer();
    }
    if (tokenizer == null || !Files.isRegularFile(tokenizer)) {
      throw new IllegalArgumentException("the text tower needs CLIP's tokenizer.json: pass --tokenizer FILE"
          + " (../shared/testdata/tokenizers/clip-vit-b32/tokenizer.json in the development tree)");
    }
    Files.createDirectories(dir.resolve("onnx"));
    Path manifestFile = dir.resolve(ModelManifest.FILE_NAME);
    if (Files.isRegularFile(manifestFile)) {
      out.printf(Locale.ROOT, "reusing the generated model in %s%n", dir);
      return dir;
    }
    long t0 = System.nanoTime();
    out.printf(Locale.ROOT, "generating a random-weight model of %s's shape (%s weights) in %s...%n", name,
        weights.name().toLowerCase(Locale.ROOT), dir);
    TransformerModels.writeVision(dir.resolve("onnx/vision_model.onnx"), vision, 1, weights);
    TransformerModels.writeText(dir.resolve("onnx/text_model.onnx"), text, 2, false, weights);
    Files.copy(tokenizer, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(dir.resolve("preprocessor_config.json"), """
        {"do_resize": true, "size": {"shortest_edge": 224}, "resample": 3, "do_center_crop": true,
         "crop_size": {"height": 224, "width": 224}, "do_rescale": true, "rescale_factor": 0.00392156862745098,
         "do_normalize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073],
         "image_std": [0.26862954, 0.26130258, 0.27577711]}
        """);
    List<Map<String, Object>> files = new ArrayList<>();
    for (String f : List.of("onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json", "preprocessor_config.json")) {
      Path p = dir.resolve(f);
      files.add(Map.of("path", f, "bytes", Files.size(p), "sha256", Digests.of(p)));
    }
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("name", "generated-" + name);
    manifest.put("family", "clip");
    manifest.put("description", "random " + weights.name().toLowerCase(Locale.ROOT) + " weights in the shape of " + name
        + ", for benchmarks");
    manifest.put("dimension", vision.output());
    manifest.put("licence", "none (generated)");
    manifest.put("source", Map.of("url", "http://127.0.0.1/generated/", "revision", "generated"));
    manifest.put("files", files);
    manifest.put("text", Map.of("onnx", "onnx/text_model.onnx", "tokenizer", "tokenizer.json", "contextLength", text.tokens(),
        "output", "text_embeds", "pooling", "none"));
    manifest.put("vision", Map.of("onnx", "onnx/vision_model.onnx", "preprocessor", "preprocessor_config.json",
        "output", "image_embeds"));
    // Written last: its presence marks a complete generated model for reuse.
    Files.writeString(manifestFile, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(manifest));
    out.printf(Locale.ROOT, "generated in %.1f s (%,d MB)%n", (System.nanoTime() - t0) / 1e9,
        (Files.size(dir.resolve("onnx/vision_model.onnx")) + Files.size(dir.resolve("onnx/text_model.onnx"))) >> 20);
    return dir;
  }

  /**
   * CLIP's tokenizer in the development tree ({@code ../shared/testdata/tokenizers/clip-vit-b32}
   * beside the repository, looked for from {@code loupe.repo.root} and the working directory
   * upwards), or null.
   */
  public static Path findClipTokenizer() {
    String root = System.getProperty("loupe.repo.root");
    List<Path> candidates = new ArrayList<>();
    if (root != null) {
      candidates.add(Path.of(root));
    }
    candidates.add(Path.of("").toAbsolutePath());
    for (Path base : candidates) {
      for (Path p = base; p != null; p = p.getParent()) {
        Path t = p.resolveSibling("shared").resolve("testdata/tokenizers/clip-vit-b32/tokenizer.json");
        if (Files.isRegularFile(t)) {
          return t;
        }
      }
    }
    return null;
  }
}
