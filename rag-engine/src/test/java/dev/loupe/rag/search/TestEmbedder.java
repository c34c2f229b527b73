package dev.loupe.rag.search;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.embeddings.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A deterministic embedder for search tests. Text is feature-hashed (each lower-cased word adds 1
 * to one dimension); the colour words red, green and blue land on dimensions 0, 1 and 2, which is
 * where an image puts its mean red, green and blue, so in the CLIP-shaped variant "red" is near a
 * red picture. Thread-safe.
 */
final class TestEmbedder implements Embedder {
  private static final Map<String, Integer> COLOURS = Map.of("red", 0, "green", 1, "blue", 2);
  private final Info info;

  private TestEmbedder(String id, int dimension, Set<Modality> modalities) {
    this.info = new Info(id, "test", dimension, modalities);
  }

  /** A passage model: text only. */
  static TestEmbedder passages(int dimension) {
    return new TestEmbedder("test-passages", dimension, Set.of(Modality.TEXT));
  }

  /** A CLIP-shaped model: text and images in one space. */
  static TestEmbedder clip(int dimension) {
    return new TestEmbedder("test-clip", dimension, Set.of(Modality.TEXT, Modality.IMAGE));
  }

  /** A solid image of one colour. */
  static RgbImage solid(int r, int g, int b) {
    byte[] rgb = new byte[8 * 8 * 3];
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = (byte) r;
      rgb[i + 1] = (byte) g;
      rgb[i + 2] = (byte) b;
    }
    return new RgbImage(8, 8, rgb);
  }

  @Override
  public List<float[]> embedAll(List<? extends Media> inputs) {
    List<float[]> out = new ArrayList<>(inputs.size());
    for (int i = 0; i < inputs.size(); i++) {
      Media m = inputs.get(i);
      info.checkAccepts(m, i);
      float[] v = new float[info.dimension()];
      switch (m) {
        case Media.Text t -> {
          for (String word : t.text().toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (word.isEmpty()) continue;
            Integer colour = COLOURS.get(word);
            v[colour != null ? colour : 3 + Math.floorMod(word.hashCode(), v.length - 3)] += 1;
          }
        }
        case Media.Image im -> {
          RgbImage p = im.pixels();
          for (int y = 0; y < p.height(); y++) {
            for (int x = 0; x < p.width(); x++) {
              for (int c = 0; c < 3; c++) v[c] += p.sample(x, y, c) / 255f;
            }
          }
        }
      }
      v[v.length - 1] += 1e-3f; // never the zero vector
      double norm = 0;
      for (float f : v) norm += f * f;
      float inv = (float) (1 / Math.sqrt(norm));
      for (int j = 0; j < v.length; j++) v[j] *= inv;
      out.add(v);
    }
    return out;
  }

  @Override
  public Info info() {
    return info;
  }

  @Override
  public void close() {}
}
