package dev.loupe.vectorstore;

/**
 * An index that can list every stored vector with its id and metadata, so a copy of it (the GPU
 * hot tier's device mirror) can be built. Vectors come as the index stores them for search (see
 * {@link VectorIndex#vector}); items without a vector are skipped.
 */
@FunctionalInterface
public interface VectorSource {

  /** Receives one item; the {@code vector} array is the receiver's to keep. */
  @FunctionalInterface
  interface Visitor {
    void visit(String id, float[] vector, Metadata metadata);
  }

  /**
   * Calls {@code visitor} once per item with a vector, in no particular order, over a
   * point-in-time view: writes that complete meanwhile may or may not be seen.
   */
  void forEachVector(Visitor visitor);
}
