package dev.loupe.embeddings.model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A model that is installed and whose files matched their pinned sizes and digests when it was
 * checked: its folder and manifest. Immutable.
 *
 * @param dir the model's folder, {@code <data>/models/<name>}
 * @param manifest its {@code model.json}
 */
public record InstalledModel(Path dir, ModelManifest manifest) {
  public InstalledModel {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(manifest, "manifest");
  }

  /** Where one of the model's listed files is, e.g. {@code file(manifest().text().onnx())}. */
  public Path file(String path) {
    return dir.resolve(manifest.file(path).path());
  }
}
