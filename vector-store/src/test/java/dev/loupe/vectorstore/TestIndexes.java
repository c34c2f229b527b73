package dev.loupe.vectorstore;

import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.flat.FlatVectorIndex;
import dev.loupe.vectorstore.jvector.JVectorIndex;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import dev.loupe.vectorstore.opensearch.OpenSearchTestCluster;
import dev.loupe.vectorstore.opensearch.OpenSearchVectorIndex;
import java.io.IOException;
import java.nio.file.Path;

/** Opens an implementation by name, for tests that run an index in a child JVM. */
public final class TestIndexes {
  private TestIndexes() {}

  public static VectorIndex open(String kind, Path dir, IndexSpec spec) throws IOException {
    return switch (kind) {
      case "flat-f32" -> FlatVectorIndex.open(dir, spec, Encoding.F32);
      case "flat-f16" -> FlatVectorIndex.open(dir, spec, Encoding.F16);
      case "flat-i8" -> FlatVectorIndex.open(dir, spec, Encoding.I8);
      case "lucene" -> LuceneVectorIndex.open(dir, spec, LuceneVectorIndex.Options.defaults());
      case "lucene-sq" ->
          LuceneVectorIndex.open(
              dir, spec, LuceneVectorIndex.Options.defaults().withScalarQuantized(true));
      case "jvector" -> JVectorIndex.open(dir, spec, JVectorIndex.Options.defaults());
      case "jvector-pq" ->
          JVectorIndex.open(dir, spec, JVectorIndex.Options.defaults().withPqThreshold(1000));
      // On the test cluster (started by OpenSearchTestCluster), one OpenSearch index per folder.
      case "opensearch" ->
          OpenSearchVectorIndex.open(OpenSearchTestCluster.config(), openSearchIndexName(dir), spec,
              OpenSearchVectorIndex.Options.defaults().withReplicas(0));
      default -> throw new IllegalArgumentException("unknown index kind '" + kind + "'");
    };
  }

  /** The OpenSearch index the "opensearch" kind keeps the items of {@code dir} in. */
  public static String openSearchIndexName(Path dir) {
    String path = dir.toAbsolutePath().normalize().toString();
    return "loupe-test-" + Integer.toHexString(path.hashCode()) + "-" + Integer.toHexString(path.length());
  }
}
