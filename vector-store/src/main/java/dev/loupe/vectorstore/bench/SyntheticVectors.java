package dev.loupe.vectorstore.bench;

import java.util.SplittableRandom;

/**
 * Seeded synthetic embeddings that behave like real ones rather than like uniform noise: unit
 * vectors grouped around cluster centres of uneven sizes, all sharing a common mean direction
 * (real embedding spaces are anisotropic), and varying around their centre mostly along a few
 * dozen directions with a decaying spectrum, plus a little full-rank noise. Real embeddings have
 * such a low intrinsic dimension (a few dozen principal components carry most of CLIP's
 * variance); isotropic noise in all 512 dimensions would instead behave like random data, the
 * worst case for every graph index. Nearest neighbours are close together and top-k gaps are
 * small, which is what makes approximate indexes and quantization work hard.
 *
 * <p>Vector {@code i} is a pure function of {@code (seed, i)}, so a benchmark can stream a
 * million vectors into several indexes without holding them all. Thread-safe and immutable.
 */
public final class SyntheticVectors {
  private final int dimension;
  private final long seed;
  private final float[][] centres;
  private final float[] mean;
  /** Directions of within-cluster variation, each scaled by its standard deviation. */
  private final float[][] basis;
  /** Standard deviation of the full-rank part, per component. */
  private final float isotropic;

  /**
   * @param clusters number of cluster centres
   * @param spread noise norm relative to the unit centre; 0.8 gives a typical within-cluster
   *     cosine of about 0.75, close to what CLIP shows for images of one subject. 90% of the
   *     noise energy lies along {@code min(64, dimension)} random directions with variances
   *     falling as 1/(j+1); the remaining 10% is spread over all components.
   */
  public SyntheticVectors(int dimension, int clusters, float spread, long seed) {
    if (dimension < 1 || clusters < 1) {
      throw new IllegalArgumentException(
          "dimension " + dimension + " and clusters " + clusters + " must be positive");
    }
    this.dimension = dimension;
    this.seed = seed;
    SplittableRandom random = new SplittableRandom(seed);
    this.mean = gaussianUnit(random, dimension);
    this.centres = new float[clusters][];
    for (int c = 0; c < clusters; c++) {
      float[] centre = gaussianUnit(random, dimension);
      for (int j = 0; j < dimension; j++) {
        centre[j] += 0.6f * mean[j];
      }
      centres[c] = normalize(centre);
    }
    int rank = Math.min(64, dimension);
    double harmonic = 0;
    for (int j = 0; j < rank; j++) {
      harmonic += 1.0 / (j + 1);
    }
    this.basis = new float[rank][];
    for (int j = 0; j < rank; j++) {
      float sigma = (float) (spread * Math.sqrt(0.9 / ((j + 1) * harmonic)));
      float[] direction = gaussianUnit(random, dimension);
      for (int i = 0; i < dimension; i++) {
        direction[i] *= sigma;
      }
      basis[j] = direction;
    }
    this.isotropic = (float) (spread * Math.sqrt(0.1 / dimension));
  }

  /** The defaults used by {@code ./loupe bench vectors}: about one cluster per 500 vectors. */
  public static SyntheticVectors forBenchmark(int dimension, int n, long seed) {
    return new SyntheticVectors(dimension, Math.max(16, n / 500), 0.8f, seed);
  }

  public int dimension() {
    return dimension;
  }

  /** Vector {@code i} of the data set, L2-normalized. */
  public float[] vector(long i) {
    return sample(new SplittableRandom(mix(seed, i)));
  }

  /**
   * Query {@code i}: drawn from the same distribution as the data but from a different stream,
   * so queries are near, not equal to, indexed vectors.
   */
  public float[] query(long i) {
    return sample(new SplittableRandom(mix(~seed, i)));
  }

  private float[] sample(SplittableRandom random) {
    // Uneven cluster sizes: squaring a uniform variate favours low-numbered clusters.
    double u = random.nextDouble();
    float[] centre = centres[(int) (u * u * centres.length)];
    float[] v = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      v[i] = centre[i] + isotropic * (float) random.nextGaussian();
    }
    for (float[] direction : basis) {
      float g = (float) random.nextGaussian();
      for (int i = 0; i < dimension; i++) {
        v[i] = Math.fma(g, direction[i], v[i]);
      }
    }
    return normalize(v);
  }

  private static float[] gaussianUnit(SplittableRandom random, int dimension) {
    float[] v = new float[dimension];
    for (int j = 0; j < dimension; j++) {
      v[j] = (float) random.nextGaussian();
    }
    return normalize(v);
  }

  private static float[] normalize(float[] v) {
    double n = 0;
    for (float x : v) {
      n += (double) x * x;
    }
    float inv = (float) (1 / Math.sqrt(n));
    for (int j = 0; j < v.length; j++) {
      v[j] *= inv;
    }
    return v;
  }

  private static long mix(long seed, long i) {
    long z = seed + 0x9E3779B97F4A7C15L * (i + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
