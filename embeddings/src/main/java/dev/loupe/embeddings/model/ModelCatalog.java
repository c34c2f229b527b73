package dev.loupe.embeddings.model;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models Loupe knows by name, with their manifests. The built-in catalog ships as resources:
 * {@code catalog/index.txt} lists the names (the first is the default model) and each has a
 * {@code catalog/<name>.json} manifest; the index also records where each pin came from.
 *
 * <p>Some entries are not pinned (see {@link ModelManifest.ModelFile#pinned()}): this release
 * knows their files but not their digests. Immutable and thread-safe.
 */
public final class ModelCatalog {

  /** The default CLIP model: what {@code loupe serve} embeds images and queries with. */
  public static final String DEFAULT_MODEL = "clip-vit-b32";

  private static final String INDEX = "catalog/index.txt";

  private final Map<String, ModelManifest> byName;

  private ModelCatalog(List<ModelManifest> manifests) {
    Map<String, ModelManifest> map = new LinkedHashMap<>();
    for (ModelManifest m : manifests) {
      if (map.putIfAbsent(m.name(), m) != null) {
        throw new IllegalArgumentException("the catalog lists model " + m.name() + " twice");
      }
    }
    this.byName = map;
  }

  /** A catalog of exactly these manifests, in this order; for tests and other sources. */
  public static ModelCatalog of(List<ModelManifest> manifests) {
    return new ModelCatalog(List.copyOf(manifests));
  }

  /** The catalog shipped with this release, read once from the class path. */
  public static ModelCatalog builtIn() {
    return BuiltIn.CATALOG;
  }

  private static final class BuiltIn {
    static final ModelCatalog CATALOG = load();

    private static ModelCatalog load() {
      try {
        List<ModelManifest> manifests = new ArrayList<>();
        for (String name : readIndex()) {
          String resource = "catalog/" + name + ".json";
          try (InputStream in = open(resource)) {
            ModelManifest m = ModelManifest.parse(in, "built-in catalog entry " + resource);
            if (!m.name().equals(name)) {
              throw new IllegalStateException(resource + " names model " + m.name() + ", not " + name);
            }
            manifests.add(m);
          }
        }
        return new ModelCatalog(manifests);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the built-in model catalog", e);
      }
    }

    private static List<String> readIndex() throws IOException {
      List<String> names = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(open(INDEX), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          String name = line.strip();
          if (!name.isEmpty() && !name.startsWith("#")) {
            names.add(ModelManifest.checkName(name));
          }
        }
      }
      return names;
    }

    private static InputStream open(String resource) throws IOException {
      InputStream in = ModelCatalog.class.getResourceAsStream(resource);
      if (in == null) {
        throw new IOException("resource " + resource + " is missing from the embeddings jar");
      }
      return in;
    }
  }

  /** Every entry, in catalog order. */
  public List<ModelManifest> all() {
    return List.copyOf(byName.values());
  }

  /** The entry named {@code name}, if the catalog has one. */
  public Optional<ModelManifest> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The entry named {@code name}.
   *
   * @throws IllegalArgumentException naming the known models if there is none
   */
  public ModelManifest get(String name) {
    ModelManifest m = byName.get(name);
    if (m == null) {
      throw new IllegalArgumentException(
          "unknown model '" + name + "'; known models: " + String.join(", ", byName.keySet()));
    }
    return m;
  }
}
