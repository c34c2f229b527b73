package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Duel tests: the Vector API kernels against the scalar reference, and the scalar reference
 * against a double-precision dot of the decoded weights ({@link BlockCodec}) with the effective
 * activations, on awkward shapes (one row, odd row counts, one block, many blocks, float rows of
 * lengths that are not a multiple of the vector width).
 *
 * <p>Tolerance: {@code |a − b| ≤ 1e-5 · Σ|w_i·x_i|} (the sum of absolute products bounds every
 * partial sum, so this is a few hundred fp32 ulps of the largest intermediate: different summation
 * orders stay well inside it, a wrong element or scale does not).
 */
class KernelDuelTest {
  private static final double TOLERANCE = 1e-5;
  private static final ComputePool TWO = ComputePool.create(2);
  private static final KernelOps SCALAR = new ScalarKernelOps();
  private static final KernelOps PANAMA = new PanamaKernelOps();

  @AfterAll
  static void closePool() {
    TWO.close();
  }

  static Stream<Arguments> shapes() {
    List<Arguments> cases = new ArrayList<>();
    for (WeightType type : WeightType.values()) {
      int[] colCounts = type.quantized()
          ? (type.blockSize() == 32 ? new int[] {32, 64, 224, 416, 3200} : new int[] {256, 512, 1792, 3328})
          : new int[] {1, 7, 13, 100, 207, 511, 1025};
      for (int cols : colCounts) {
        for (int rows : new int[] {1, 7, 13}) {
          for (ActivationMode mode : ActivationMode.values()) {
            cases.add(Arguments.of(type, rows, cols, mode));
          }
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}x{2} {3}")
  @MethodSource("shapes")
  void vector_api_and_scalar_kernels_agree(WeightType type, int rows, int cols, ActivationMode mode) {
    long seed = 31L * type.ordinal() + 7L * rows + cols + mode.ordinal();
    Fixture f = Fixture.random(type, rows, cols, seed);
    float[] scalar = new float[rows], panama = new float[rows];
    f.matrix.withKernels(SCALAR).matmul(f.x, 0, scalar, 0, TWO, mode);
    f.matrix.withKernels(PANAMA).matmul(f.x, 0, panama, 0, TWO, mode);
    double[] bound = f.absoluteProducts(mode);
    for (int r = 0; r < rows; r++) {
      double diff = Math.abs(scalar[r] - panama[r]);
      assertTrue(diff <= TOLERANCE * bound[r] + 1e-30,
          type + " " + mode + " row " + r + ": scalar " + scalar[r] + " vs Vector API " + panama[r]
              + " (Σ|wx| " + bound[r] + ", seed " + seed + ")");
    }
  }

  @ParameterizedTest(name = "{0} {1}x{2} {3}")
  @MethodSource("shapes")
  void scalar_kernel_equals_the_decoded_weights_dotted_in_double(WeightType type, int rows, int cols,
      ActivationMode mode) {
    long seed = 17L * type.ordinal() + 5L * rows + cols + mode.ordinal();
    Fixture f = Fixture.random(type, rows, cols, seed);
    float[] got = new float[rows];
    f.matrix.withKernels(SCALAR).matmul(f.x, 0, got, 0, ComputePool.singleThreaded(), mode);
    double[] bound = f.absoluteProducts(mode);
    double[] want = f.exactDots(mode);
    for (int r = 0; r < rows; r++) {
      double diff = Math.abs(got[r] - want[r]);
      assertTrue(diff <= TOLERANCE * bound[r] + 1e-30,
          type + " " + mode + " row " + r + ": kernel " + got[r] + " vs decoded " + want[r] + " (seed " + seed + ")");
    }
  }

  /** A random matrix (Gaussian weights quantized to the type) and input vector. */
  record Fixture(WeightMatrix matrix, float[] decoded, float[] x) {
    static Fixture random(WeightType type, int rows, int cols, long seed) {
      float[] w = BlockCodecTest.gaussian(rows * cols, seed, 0.05f);
      float[] x = BlockCodecTest.gaussian(cols, seed + 1, 1f);
      byte[] bytes = BlockCodec.quantize(type, w);
      MemorySegment seg = MemorySegment.ofArray(bytes);
      return new Fixture(new WeightMatrix(seg, type, rows, cols), BlockCodec.dequantize(type, bytes, rows * cols), x);
    }

    /** The activations the kernels effectively multiply with: levels times their scales. */
    float[] effective(ActivationMode mode) {
      WeightType type = matrix.type();
      int cols = matrix.cols();
      Activations a = Activations.prepare(type, mode, x, 0, cols, 1);
      float[] e = new float[cols];
      int block = a.scaleBlock(type);
      for (int i = 0; i < cols; i++) {
        e[i] = a.x[a.xOffset + i] * (a.scales == null ? 1f : a.scales[i / block]);
      }
      return e;
    }

    double[] absoluteProducts(ActivationMode mode) {
      float[] e = effective(mode);
      int rows = matrix.rows(), cols = matrix.cols();
      double[] s = new double[rows];
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
          s[r] += Math.abs((double) decoded[r * cols + c] * e[c]);
        }
      }
      return s;
    }

    double[] exactDots(ActivationMode mode) {
      float[] e = effective(mode);
      int rows = matrix.rows(), cols = matrix.cols();
      double[] s = new double[rows];
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
          s[r] += (double) decoded[r * cols + c] * e[c];
        }
      }
      return s;
    }
  }
}
