package dev.loupe.vectorstore;

/**
 * How an index compares vectors. Every implementation reports scores in the same convention, so
 * results from different indexes can be compared: a higher score is always a better match.
 *
 * <ul>
 *   <li>{@link #COSINE}: the cosine of the angle, in [-1, 1]. Vectors are L2-normalized when they
 *       are added and queries when they are searched, so a zero vector is rejected.
 *   <li>{@link #DOT_PRODUCT}: the raw inner product. For normalized embeddings this equals cosine
 *       and is cheaper.
 *   <li>{@link #EUCLIDEAN}: {@code 1 / (1 + d²)} where {@code d} is the Euclidean distance (the
 *       convention Lucene uses), so the nearest vector has the highest score.
 * </ul>
 */
public enum Similarity {
  COSINE,
  DOT_PRODUCT,
  EUCLIDEAN;

  /**
   * Score for a pair from their inner product and squared norms; the one formula all flat scans
   * share. {@code queryNorm2} and {@code vectorNorm2} are only read for {@link #EUCLIDEAN}.
   */
  public float scoreFromDot(float dot, float queryNorm2, float vectorNorm2) {
    return switch (this) {
      case COSINE, DOT_PRODUCT -> dot;
      case EUCLIDEAN -> 1f / (1f + Math.max(0f, queryNorm2 + vectorNorm2 - 2f * dot));
    };
  }

  /** Reference score computed directly from two vectors, for tests and oracles. */
  public float score(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "vector dimension " + a.length + " does not match " + b.length);
    }
    double dot = 0, na = 0, nb = 0, d2 = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
      double diff = (double) a[i] - b[i];
      d2 += diff * diff;
    }
    return switch (this) {
      case COSINE -> (float) (dot / Math.sqrt(na * nb));
      case DOT_PRODUCT -> (float) dot;
      case EUCLIDEAN -> (float) (1.0 / (1.0 + d2));
    };
  }

  /** Parses {@code cosine}, {@code dot} / {@code dot_product}, {@code euclidean} / {@code l2}. */
  public static Similarity parse(String name) {
    return switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "cosine" -> COSINE;
      case "dot", "dot_product", "dot-product" -> DOT_PRODUCT;
      case "euclidean", "l2" -> EUCLIDEAN;
      default ->
          throw new IllegalArgumentException(
              "unknown similarity '" + name + "'; expected cosine, dot or euclidean");
    };
  }
}
