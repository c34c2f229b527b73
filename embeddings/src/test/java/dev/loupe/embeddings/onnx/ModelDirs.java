package dev.loupe.embeddings.onnx;

import dev.loupe.embeddings.TestData;
import dev.loupe.embeddings.model.ModelManifest;
import dev.loupe.embeddings.model.ModelManifest.Family;
import dev.loupe.embeddings.model.ModelManifest.ModelFile;
import dev.loupe.embeddings.model.ModelManifest.Pooling;
import dev.loupe.embeddings.onnx.graph.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Writes installed-model folders for tests: generated ONNX files, real tokenizers, and a model.json with their real digests. */
final class ModelDirs {
  private ModelDirs() {}

  static final String CLIP_TOKENIZER = "tokenizers/clip-vit-b32/tokenizer.json";
  static final String MINILM_TOKENIZER = "tokenizers/all-MiniLM-L6-v2/tokenizer.json";

  /** The text encoder entry of a CLIP-style model, in the Xenova layout. */
  static ModelManifest.TextEncoder clipText() {
    return new ModelManifest.TextEncoder("onnx/text_model.onnx", "tokenizer.json", 77, "input_ids", "attention_mask",
        "token_type_ids", "text_embeds", Pooling.NONE);
  }

  static ModelManifest.VisionEncoder clipVision() {
    return new ModelManifest.VisionEncoder("onnx/vision_model.onnx", "preprocessor_config.json", "pixel_values", "image_embeds");
  }

  static ModelManifest.TextEncoder bertText(Pooling pooling) {
    return new ModelManifest.TextEncoder("onnx/model.onnx", "tokenizer.json", 256, "input_ids", "attention_mask",
        "token_type_ids", "last_hidden_state", pooling);
  }

  /** Writes {@code model} to {@code dir/path}, creating folders. */
  static void writeOnnx(Path dir, String path, OnnxModel model) throws IOException {
    Path file = dir.resolve(path);
    Files.createDirectories(file.getParent());
    model.write(file);
  }

  /** Copies the shared test file {@code shared} (skipping the test when absent) to {@code dir/path}. */
  static void copyShared(Path dir, String path, String shared) throws IOException {
    Path file = dir.resolve(path);
    Files.createDirectories(file.getParent());
    Files.copy(TestData.shared(shared), file);
  }

  /** Writes CLIP's preprocessor_config.json. */
  static void writeClipPreprocessor(Path dir) throws IOException {
    Files.writeString(dir.resolve("preprocessor_config.json"), """
        {"crop_size": {"height": 224, "width": 224}, "do_center_crop": true, "do_normalize": true,
         "do_rescale": true, "do_resize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073],
         "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
         "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}
        """);
  }

  /** A manifest listing the encoders' files with their real sizes and digests, also written as {@code dir/model.json}. */
  static ModelManifest writeManifest(Path dir, String name, Family family, int dimension,
      ModelManifest.TextEncoder text, ModelManifest.VisionEncoder vision) throws IOException {
    List<ModelFile> files = new ArrayList<>();
    if (text != null) {
      files.add(file(dir, text.onnx()));
      files.add(file(dir, text.tokenizer()));
    }
    if (vision != null) {
      files.add(file(dir, vision.onnx()));
      files.add(file(dir, vision.preprocessor()));
    }
    ModelManifest m = new ModelManifest(name, family, "generated for tests", dimension, "none",
        new ModelManifest.Source("http://127.0.0.1/unused/", "test"), files, text, vision);
    Files.writeString(dir.resolve(ModelManifest.FILE_NAME), m.toJson());
    return m;
  }

  static ModelFile file(Path dir, String path) throws IOException {
    Path p = dir.resolve(path);
    return new ModelFile(path, Files.size(p), sha256(p));
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
