package dev.loupe.vectorstore.jvector;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.TestIndexes;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.VectorIndexContractTest;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;

/**
 * The jvector index under the {@link VectorIndexContractTest contract}: with exact graph scores,
 * and with product quantization from 1000 items (so the 3000-item recall test searches with PQ
 * and exact reranking). Behaviour only this implementation has is tested in {@link
 * JVectorRecallTest}, {@link JVectorWritesTest} and {@link JVectorFilesTest}.
 */
class JVectorIndexTest {

  @Nested
  class Graph extends VectorIndexContractTest {
    @Override
    protected VectorIndex open(Path dir, IndexSpec spec) throws IOException {
      return TestIndexes.open(kind(), dir, spec);
    }

    @Override
    protected String kind() {
      return "jvector";
    }

    @Override
    protected double minRecall() {
      return 0.9;
    }
  }

  @Nested
  class ProductQuantized extends VectorIndexContractTest {
    @Override
    protected VectorIndex open(Path dir, IndexSpec spec) throws IOException {
      return TestIndexes.open(kind(), dir, spec);
    }

    @Override
    protected String kind() {
      return "jvector-pq";
    }

    @Override
    protected double minRecall() {
      return 0.9;
    }
  }
}
