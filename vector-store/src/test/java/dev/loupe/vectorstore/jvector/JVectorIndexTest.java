package dev.loupe.vectorstore.jvector;

import dev.loupe.vectorstore.VectorIndexContractTest;
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
    protected String kind() {
      return "jvector-pq";
    }

    @Override
    protected double minRecall() {
      return 0.9;
    }
  }
}
