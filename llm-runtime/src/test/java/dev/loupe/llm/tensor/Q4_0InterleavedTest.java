package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Q4_0 matrices interleaved for the integer kernels ({@link WeightMatrix#forMode}) against the
 * scalar reference on the file's layout: the block sums are exact integers and the interleaved
 * kernel scales and adds them in the reference's order, so every row must give the reference's
 * bits, on awkward row counts (1, a partial group, whole groups plus a tail), many blocks, one and
 * several vectors, one and two threads. Skipped where the platform has no 512-bit vectors.
 */
class Q4_0InterleavedTest {
  private static final KernelOps PANAMA = new PanamaKernelOps();
  private static final KernelOps SCALAR = new ScalarKernelOps();

  @ParameterizedTest(name = "{0}×{1} {2}")
  @MethodSource("dev.loupe.llm.tensor.InterleavedChecks#shapes")
  void interleaved_matmuls_give_the_scalar_references_bits(int rows, int cols, ActivationMode mode) {
    assumeTrue(PANAMA.interleaves(WeightType.Q4_0), "no interleaved kernel at this vector width");
    long seed = 31L * rows + cols + mode.ordinal();
    WeightMatrix m = KernelDuelTest.Fixture.random(WeightType.Q4_0, rows, cols, seed).matrix().withKernels(PANAMA);
    for (int count : new int[] {1, 5}) {
      float[] xs = BlockCodecTest.gaussian(count * cols + 3, seed + count, 1f);
      InterleavedChecks.matmulsGiveScalarBits(m, mode, xs, count, "seed " + seed);
    }
  }

  /**
   * The largest block sums the 16-bit lanes must hold: nibbles 0 (weight −8) against levels of
   * ±127 in all 32 elements give ∓32,512; nibbles 15 (weight 7) give ±28,448. The lanes wrap
   * while summing the raw nibbles, and the −8·Σa correction brings them back.
   */
  @Test
  void extreme_nibbles_and_levels_do_not_overflow_the_16_bit_lanes() {
    assumeTrue(PANAMA.interleaves(WeightType.Q4_0), "no interleaved kernel at this vector width");
    int rows = 33, cols = 64;
    byte[] bytes = new byte[rows * (cols / 32) * 18];
    short d = Float.floatToFloat16(0.5f);
    for (int b = 0; b < rows * cols / 32; b++) {
      bytes[18 * b] = (byte) d;
      bytes[18 * b + 1] = (byte) (d >> 8);
      Arrays.fill(bytes, 18 * b + 2, 18 * b + 18, (byte) ((b / (cols / 32)) % 2 == 0 ? 0x00 : 0xFF));
    }
    WeightMatrix m = new WeightMatrix(MemorySegment.ofArray(bytes), WeightType.Q4_0, rows, cols).withKernels(PANAMA);
    WeightMatrix mi = m.forMode(ActivationMode.Q8);
    float[] x = new float[cols];
    Arrays.fill(x, 0, 32, 3f); // levels 127
    Arrays.fill(x, 32, 64, -3f); // levels −127
    float[] out = new float[rows];
    try (ComputePool pool = ComputePool.singleThreaded()) {
      mi.matmul(x, 0, out, 0, pool, ActivationMode.Q8);
    }
    float ds = HalfFloats.roundF16(3f / 127);
    for (int r = 0; r < rows; r++) {
      int q = r % 2 == 0 ? -8 : 7;
      // block 0: 32·q·127, block 1: 32·q·(−127), each times 0.5·ds: exact, and they cancel
      float block0 = (32 * q * 127) * (0.5f * ds), block1 = (32 * q * -127) * (0.5f * ds);
      assertEquals(block0 + block1, out[r], "row " + r);
    }
    float[] lone = new float[rows];
    Arrays.fill(x, 32, 64, 0f);
    try (ComputePool pool = ComputePool.singleThreaded()) {
      mi.matmul(x, 0, lone, 0, pool, ActivationMode.Q8);
    }
    assertEquals(-32 * 8 * 127 * (0.5f * ds), lone[0], "row 0: the block sum −32,512");
    assertEquals(32 * 7 * 127 * (0.5f * ds), lone[1], "row 1: the block sum 28,448");
  }

  @Test
  void only_the_integer_modes_are_interleaved() {
    WeightMatrix q4 = KernelDuelTest.Fixture.random(WeightType.Q4_0, 5, 64, 1).matrix().withKernels(PANAMA);
    assertSame(q4, q4.forMode(ActivationMode.FP32), "FP32 activations keep the file layout");
    WeightMatrix f16 = KernelDuelTest.Fixture.random(WeightType.F16, 5, 64, 2).matrix().withKernels(PANAMA);
    assertSame(f16, f16.forMode(ActivationMode.Q8), "F16 keeps the file layout");
    WeightMatrix scalar = q4.withKernels(SCALAR);
    assertSame(scalar, scalar.forMode(ActivationMode.Q8), "the scalar kernels have no interleaved form");
    if (PANAMA.interleaves(WeightType.Q4_0)) {
      WeightMatrix mi = q4.forMode(ActivationMode.GGML);
      assertNotSame(q4, mi);
      assertSame(mi, mi.forMode(ActivationMode.Q8), "interleaved once");
    }
  }
}
