package dev.loupe.http;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.embeddings.bench.GeneratedClip;
import dev.loupe.embeddings.model.InstalledModel;
import dev.loupe.embeddings.model.ModelCatalog;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.embeddings.model.ModelManifest;
import dev.loupe.embeddings.model.ModelManifest.ModelFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Random-weight models ({@link GeneratedClip}'s tiny CLIP shape) installed into a test's data
 * folder under the names the {@link Pipeline} opens, so a real server embeds with real ONNX
 * sessions.
 *
 * <p>How they are installed: {@link ModelManager#importFrom}, the code path of {@code loupe models
 * import DIR}, with a manager whose catalog is empty. The built-in catalog pins {@code
 * clip-vit-b32} to the real model's digests and rightly refuses other files under that name; with
 * no catalog entry to compare against, the import checks the generated files against their own
 * manifest, copies them and installs the folder in one rename. The server's own manager (built-in
 * catalog) then finds a model whose files match its manifest, which is all it checks once a model
 * is installed.
 *
 * <p>The generated model is written once per build under {@code target/generated-models} and
 * reused. Tests that need it are skipped, saying why, when CLIP's tokenizer is absent from
 * {@code ../shared/testdata}.
 */
final class GeneratedModels {
  private static final Path CACHE = Path.of("target", "generated-models", "tiny-clip").toAbsolutePath();

  private GeneratedModels() {}

  /** The tiny CLIP model folder (named {@code generated-tiny}); skips the test without CLIP's tokenizer. */
  static synchronized Path tinyClip() throws IOException {
    Path tokenizer = GeneratedClip.findClipTokenizer();
    assumeTrue(tokenizer != null, "skipped: ../shared/testdata/tokenizers/clip-vit-b32/tokenizer.json is absent"
        + " (the shared test data lives beside the repository); the generated CLIP model needs its tokenizer");
    return GeneratedClip.write(CACHE, "tiny", GeneratedClip.TINY_VISION, GeneratedClip.TINY_TEXT, tokenizer,
        new PrintStream(OutputStream.nullOutputStream()));
  }

  /** Installs the tiny CLIP (text and image towers) as {@code clip-vit-b32} in {@code <dataDir>/models}. */
  static InstalledModel installClip(Path dataDir) throws IOException {
    Path source = tinyClip();
    ModelManifest generated = ModelManifest.read(source.resolve(ModelManifest.FILE_NAME));
    return install(dataDir, source, rename(generated, Pipeline.VISUAL_MODEL, generated.files(), generated.vision()));
  }

  /**
   * Installs the tiny CLIP's text tower alone as {@code all-minilm-l6-v2}: a model that takes
   * text only, as the real passage model does.
   */
  static InstalledModel installTextOnly(Path dataDir) throws IOException {
    Path source = tinyClip();
    ModelManifest generated = ModelManifest.read(source.resolve(ModelManifest.FILE_NAME));
    List<ModelFile> textFiles = generated.files().stream()
        .filter(f -> f.path().equals(generated.text().onnx()) || f.path().equals(generated.text().tokenizer()))
        .toList();
    return install(dataDir, source, rename(generated, Pipeline.TEXT_MODEL, textFiles, null));
  }

  private static ModelManifest rename(ModelManifest m, String name, List<ModelFile> files, ModelManifest.VisionEncoder vision) {
    return new ModelManifest(name, m.family(), "generated for tests: " + m.description(), m.dimension(), m.licence(),
        m.source(), files, m.text(), vision);
  }

  /** Stages {@code manifest}'s files from {@code source} in a folder of their own, imports them, and deletes the stage. */
  private static InstalledModel install(Path dataDir, Path source, ModelManifest manifest) throws IOException {
    Path staging = Files.createTempDirectory(CACHE.getParent(), "import-" + manifest.name() + "-");
    try {
      for (ModelFile f : manifest.files()) {
        Path to = staging.resolve(f.path());
        Files.createDirectories(to.getParent());
        Files.copy(source.resolve(f.path()), to);
      }
      Files.writeString(staging.resolve(ModelManifest.FILE_NAME), manifest.toJson());
      ModelManager importer = new ModelManager(ModelManager.modelsDir(dataDir), ModelCatalog.of(List.of()),
          ModelManager.Options.defaults());
      return importer.importFrom(staging, manifest.name(), false, ModelManager.Progress.NONE);
    } finally {
      try (Stream<Path> tree = Files.walk(staging)) {
        for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
