package dev.loupe.vectorstore;

/**
 * What every vector in one index shares: its dimension and how vectors are compared. Fixed when
 * the index is created and checked again whenever it is reopened.
 */
public record IndexSpec(int dimension, Similarity similarity) {

  /** Largest dimension an index accepts; far above any embedding model Loupe runs. */
  public static final int MAX_DIMENSION = 8192;

  public IndexSpec {
    if (dimension < 1 || dimension > MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "dimension " + dimension + " is outside [1, " + MAX_DIMENSION + "]");
    }
    if (similarity == null) {
      throw new IllegalArgumentException("similarity must not be null");
    }
  }

  /**
   * Checks a vector against this spec and returns the copy an index stores: normalized under
   * {@link Similarity#COSINE}, otherwise an unchanged copy. The caller's array is never kept.
   *
   * @param what names the vector in error messages ("vector", "query")
   * @throws IllegalArgumentException naming the offending value: null, wrong dimension, a NaN or
   *     infinite component, or a zero vector under cosine
   */
  public float[] checkAndPrepare(float[] vector, String what) {
    if (vector == null) {
      throw new IllegalArgumentException(what + " must not be null");
    }
    if (vector.length != dimension) {
      throw new IllegalArgumentException(
          what + " dimension " + vector.length + " does not match index dimension " + dimension);
    }
    double norm2 = 0;
    for (int i = 0; i < vector.length; i++) {
      float v = vector[i];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException(what + " component " + i + " is " + v);
      }
      norm2 += (double) v * v;
    }
    float[] copy = vector.clone();
    if (similarity == Similarity.COSINE) {
      if (norm2 == 0) {
        throw new IllegalArgumentException(
            what + " is a zero vector, which has no direction under cosine similarity");
      }
      float inv = (float) (1.0 / Math.sqrt(norm2));
      for (int i = 0; i < copy.length; i++) {
        copy[i] *= inv;
      }
    }
    return copy;
  }
}
