package dev.loupe.vectorstore.bench;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.jvector.JVectorIndex;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Path;

/** The graph indexes the benchmark compares, by name, with their default options. */
final class Indexes {
  private Indexes() {}

  static VectorIndex open(String kind, Path dir, IndexSpec spec) throws IOException {
    return switch (kind) {
      case "hnsw" -> LuceneVectorIndex.open(dir, spec, LuceneVectorIndex.Options.defaults());
      case "jvector" -> JVectorIndex.open(dir, spec, JVectorIndex.Options.defaults());
      default ->
          throw new IllegalArgumentException("index '" + kind + "' is not available in this build");
    };
  }
}
