package dev.loupe.indexer;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.embeddings.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A deterministic embedder for pipeline tests: a text is the normalized sum of its lower-cased
 * words hashed into the dimensions (feature hashing), an image the normalized histogram of its
 * coarse colours and positions. Cheap, thread-safe, and it counts what it embeds, so tests can
 * tell whether a file was embedded again.
 */
final class HashEmbedder implements Embedder {
  private final Info info;
  final AtomicLong inputs = new AtomicLong();
  final AtomicLong calls = new AtomicLong();

  HashEmbedder(String id, int dimension, Modality modality) {
    this.info = new Info(id, "test", dimension, Set.of(modality));
  }

  static HashEmbedder text(int dimension) {
    return new HashEmbedder("hash-text", dimension, Modality.TEXT);
  }

  static HashEmbedder images(int dimension) {
    return new HashEmbedder("hash-image", dimension, Modality.IMAGE);
  }

  @Override
  public List<float[]> embedAll(List<? extends Media> batch) {
    calls.incrementAndGet();
    List<float[]> out = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Media m = batch.get(i);
      info.checkAccepts(m, i);
      float[] v = new float[info.dimension()];
      switch (m) {
        case Media.Text t -> {
          if (t.text().isBlank()) throw new IllegalArgumentException("input " + i + " is blank text");
          for (String word : t.text().toLowerCase(Locale.ROOT).split("\\W+")) {
            if (!word.isEmpty()) v[Math.floorMod(word.hashCode(), v.length)] += 1;
          }
        }
        case Media.Image im -> {
          RgbImage p = im.pixels();
          for (int y = 0; y < p.height(); y += Math.max(1, p.height() / 16)) {
            for (int x = 0; x < p.width(); x += Math.max(1, p.width() / 16)) {
              int h = p.sample(x, y, 0) / 64 * 16 + p.sample(x, y, 1) / 64 * 4 + p.sample(x, y, 2) / 64;
              v[Math.floorMod(h * 31 + (4 * y / p.height()) * 7 + 4 * x / p.width(), v.length)] += 1;
            }
          }
        }
      }
      v[0] += 1e-3f; // never the zero vector
      double norm = 0;
      for (float f : v) norm += f * f;
      float inv = (float) (1 / Math.sqrt(norm));
      for (int j = 0; j < v.length; j++) v[j] *= inv;
      out.add(v);
    }
    inputs.addAndGet(batch.size());
    return out;
  }

  @Override
  public Info info() {
    return info;
  }

  @Override
  public void close() {}
}
