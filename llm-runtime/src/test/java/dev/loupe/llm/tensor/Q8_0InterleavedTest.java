package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Q8_0 matrices interleaved for the integer kernels ({@link WeightMatrix#forMode}) against the
 * scalar reference on the file's layout: the block sums are exact integers and the interleaved
 * kernels scale and add them in the reference's order, so every row must give the reference's
 * bits, on awkward row counts (1, a partial group, whole groups plus a tail), up to 256 blocks, one
 * to five vectors (the one- and two-vector kernels), one and two threads, and on the extreme int8
 * weights and levels. Skipped where the platform has no 512-bit vectors.
 */
class Q8_0InterleavedTest {
  // The layout is on by default; these tests hold it on whatever the JVM was started with.
  @org.junit.jupiter.api.BeforeAll
  static void turnOn() {
    System.setProperty(PanamaKernelOps.INTERLEAVE_Q8_0, "true");
  }

  @org.junit.jupiter.api.AfterAll
  static void turnOff() {
    System.clearProperty(PanamaKernelOps.INTERLEAVE_Q8_0);
  }

  private static final KernelOps PANAMA = new PanamaKernelOps();
  private static final KernelOps SCALAR = new ScalarKernelOps();

  @ParameterizedTest(name = "{0}×{1} {2}")
  @MethodSource("dev.loupe.llm.tensor.InterleavedChecks#shapes")
  void interleaved_matmuls_give_the_scalar_references_bits(int rows, int cols, ActivationMode mode) {
    assumeTrue(PANAMA.interleaves(WeightType.Q8_0), "no interleaved kernel at this vector width");
    long seed = 37L * rows + cols + mode.ordinal();
    WeightMatrix m = KernelDuelTest.Fixture.random(WeightType.Q8_0, rows, cols, seed).matrix().withKernels(PANAMA);
    float[] xs = BlockCodecTest.gaussian(7 * cols + 3, seed + 1, 1f);
    assertMatchesScalar(m, mode, xs, "seed " + seed);
  }

  /**
   * Random int8 weights over the whole range −128..127 (the quantizer never writes −128, a file
   * may) against levels of ±127 only, so products reach 128·127 and block sums ±520,192, beyond
   * 16-bit lanes and near the 2^24 where float sums would stop being exact.
   */
  @Test
  void full_range_weights_and_extreme_levels_give_the_scalar_references_bits() {
    assumeTrue(PANAMA.interleaves(WeightType.Q8_0), "no interleaved kernel at this vector width");
    long seed = 8;
    SplittableRandom random = new SplittableRandom(seed);
    int rows = 70, cols = 512;
    byte[] bytes = new byte[rows * (cols / 32) * 34];
    random.nextBytes(bytes);
    for (int b = 0; b < rows * cols / 32; b++) {
      short d = Float.floatToFloat16((float) random.nextDouble(1e-3, 1));
      bytes[34 * b] = (byte) d;
      bytes[34 * b + 1] = (byte) (d >> 8);
    }
    WeightMatrix m = new WeightMatrix(MemorySegment.ofArray(bytes), WeightType.Q8_0, rows, cols).withKernels(PANAMA);
    float[] xs = new float[7 * cols + 3];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = (float) ((random.nextBoolean() ? 1 : -1) * random.nextDouble(0.5, 4)); // block maxima vary
    }
    for (int i = 0; i < xs.length; i += 32) {
      Arrays.fill(xs, i, Math.min(xs.length, i + 8), random.nextBoolean() ? 4f : -4f); // levels ±127
    }
    assertMatchesScalar(m, ActivationMode.Q8, xs, "seed " + seed);
  }

  /**
   * The largest block sums: weights −128 against levels −127 give 520,192, weights 127 against 127
   * give 516,128; neither fits 16 bits.
   */
  @Test
  void extreme_weights_and_levels_give_exact_block_sums() {
    assumeTrue(PANAMA.interleaves(WeightType.Q8_0), "no interleaved kernel at this vector width");
    int rows = 33, cols = 64;
    byte[] bytes = new byte[rows * (cols / 32) * 34];
    short d = Float.floatToFloat16(0.5f);
    for (int b = 0; b < rows * cols / 32; b++) {
      bytes[34 * b] = (byte) d;
      bytes[34 * b + 1] = (byte) (d >> 8);
      Arrays.fill(bytes, 34 * b + 2, 34 * b + 34, (byte) ((b / (cols / 32)) % 2 == 0 ? -128 : 127));
    }
    WeightMatrix m = new WeightMatrix(MemorySegment.ofArray(bytes), WeightType.Q8_0, rows, cols).withKernels(PANAMA);
    WeightMatrix mi = m.forMode(ActivationMode.Q8);
    float[] x = new float[cols];
    Arrays.fill(x, 0, 32, -3f); // levels −127
    float[] out = new float[rows];
    try (ComputePool pool = ComputePool.singleThreaded()) {
      mi.matmul(x, 0, out, 0, pool, ActivationMode.Q8);
    }
    float ds = HalfFloats.roundF16(3f / 127);
    assertEquals(32 * 128 * 127 * (0.5f * ds), out[0], "row 0: the block sum 520,192");
    assertEquals(-32 * 127 * 127 * (0.5f * ds), out[1], "row 1: the block sum −516,128");
    assertEquals(32 * 128 * 127 * (0.5f * ds), out[32], "row 32, the lone row of the last group");
  }

  @Test
  void q8_0_is_interleaved_once_for_the_integer_modes_only() {
    WeightMatrix q8 = KernelDuelTest.Fixture.random(WeightType.Q8_0, 5, 64, 2).matrix().withKernels(PANAMA);
    assertSame(q8, q8.forMode(ActivationMode.FP32), "FP32 activations keep the file layout");
    WeightMatrix scalar = q8.withKernels(SCALAR);
    assertSame(scalar, scalar.forMode(ActivationMode.Q8), "the scalar kernels have no interleaved form");
    if (PANAMA.interleaves(WeightType.Q8_0)) {
      WeightMatrix mi = q8.forMode(ActivationMode.GGML);
      assertNotSame(q8, mi);
      assertTrue(mi.interleaved());
      assertSame(mi, mi.forMode(ActivationMode.Q8), "interleaved once");
    }
  }

  /**
   * Every row of {@code m}'s interleaved form against the scalar reference, for 1, 2, 5 and 7
   * vectors of {@code xs} (from 3): the one-, two- and four-vector kernels, alone and together.
   */
  private static void assertMatchesScalar(WeightMatrix m, ActivationMode mode, float[] xs, String why) {
    for (int count : new int[] {1, 2, 5, 7}) {
      InterleavedChecks.matmulsGiveScalarBits(m, mode, xs, count, why);
    }
  }
}
