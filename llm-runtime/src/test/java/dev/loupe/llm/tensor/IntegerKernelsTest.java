package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Vector API kernels' integer path for Q8_0/Q4_0 (quantized activations, 16-bit lanes) against
 * their float path on the same levels: the block sums are exact integers either way, so the bits
 * must be equal, one vector at a time and four at a time. Where the platform has fewer than 16
 * float lanes both sides run the float path and the test holds trivially.
 */
class IntegerKernelsTest {
  private static final KernelOps PANAMA = new PanamaKernelOps();

  static Stream<Arguments> shapes() {
    List<Arguments> cases = new ArrayList<>();
    for (WeightType type : new WeightType[] {WeightType.Q8_0, WeightType.Q4_0}) {
      for (int cols : new int[] {32, 64, 96, 416, 3200}) {
        for (ActivationMode mode : new ActivationMode[] {ActivationMode.GGML, ActivationMode.Q8}) {
          cases.add(Arguments.of(type, cols, mode));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} cols {1} {2}")
  @MethodSource("shapes")
  void integer_path_gives_the_float_paths_bits_for_one_and_for_four_vectors(WeightType type, int cols,
      ActivationMode mode) {
    int rows = 7, count = 6;
    long seed = 100L * type.ordinal() + cols + mode.ordinal();
    KernelDuelTest.Fixture f = KernelDuelTest.Fixture.random(type, rows, cols, seed);
    float[] xs = BlockCodecTest.gaussian(count * cols, seed + 1, 1f);
    assertSameBits(f.matrix(), Activations.prepare(type, mode, xs, 0, cols, count), type + " seed " + seed);
  }

  /**
   * The largest lane sum the 16-bit lanes must hold: Q8_0 weights of −128 (a file may store
   * them) times activation levels of ±127, two products per lane: ±32,512.
   */
  @Test
  void extreme_q8_0_weights_and_levels_do_not_overflow_the_16_bit_lanes() {
    int rows = 2, cols = 128;
    byte[] bytes = new byte[rows * (cols / 32) * 34];
    short d = Float.floatToFloat16(0.5f);
    for (int b = 0; b < rows * cols / 32; b++) {
      bytes[34 * b] = (byte) d;
      bytes[34 * b + 1] = (byte) (d >> 8);
      Arrays.fill(bytes, 34 * b + 2, 34 * b + 34, (byte) -128);
    }
    WeightMatrix m = new WeightMatrix(MemorySegment.ofArray(bytes), WeightType.Q8_0, rows, cols);
    float[] xs = new float[5 * cols];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = (i / cols) % 2 == 0 ? -3f : 3f; // levels −127 and 127
    }
    Activations a = Activations.prepare(WeightType.Q8_0, ActivationMode.Q8, xs, 0, cols, 5);
    assertSameBits(m, a, "extreme Q8_0");
    float[] out = new float[rows * 5];
    PANAMA.dotAll(WeightType.Q8_0, m.data(), 0, cols, a, out, 0, rows);
    // every product is (−128·0.5)·(∓127·ds), ds the fp16 activation scale; 128 of them, all exact
    float ds = HalfFloats.roundF16(3f / 127);
    assertEquals(128 * 64 * 127 * ds, out[0], "vector 0 row 0");
    assertEquals(-128 * 64 * 127 * ds, out[rows], "vector 1 row 0");
  }

  private static void assertSameBits(WeightMatrix m, Activations a, String what) {
    int rows = m.rows(), cols = m.cols();
    WeightType type = m.type();
    Activations floats = a.withoutLevels();
    float[] intAll = new float[rows * a.count], floatAll = new float[rows * a.count];
    for (int r = 0; r < rows; r++) {
      PANAMA.dotAll(type, m.data(), r * m.rowBytes(), cols, a, intAll, r, rows);
      PANAMA.dotAll(type, m.data(), r * m.rowBytes(), cols, floats, floatAll, r, rows);
      for (int v = 0; v < a.count; v++) {
        float one = PANAMA.dot(type, m.data(), r * m.rowBytes(), cols, a, v);
        float want = PANAMA.dot(type, m.data(), r * m.rowBytes(), cols, floats, v);
        String at = what + " row " + r + " vector " + v;
        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(one), at + ": integer path, one vector");
        assertEquals(Float.floatToIntBits(floatAll[r + v * rows]), Float.floatToIntBits(intAll[r + v * rows]),
            at + ": integer path, batched");
        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(floatAll[r + v * rows]), at + ": float path, batched");
      }
    }
  }
}
