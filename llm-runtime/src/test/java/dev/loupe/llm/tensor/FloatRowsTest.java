package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Attention's float-row kernels, the Vector API against the scalar reference, on every size around the lane count. */
class FloatRowsTest {
  private final KernelOps scalar = new ScalarKernelOps();
  private final KernelOps panama = new PanamaKernelOps();

  @Test
  void column_dot_products_have_the_scalar_references_bits_for_every_head_size() {
    Random r = new Random(7);
    int block = FloatRows.KEY_BLOCK;
    for (int dims = 0; dims <= 133; dims++) {
      float[] q = random(r, dims + 3), k = random(r, dims * block + 5);
      float[] fast = new float[block + 4], reference = new float[block + 4];
      Arrays.fill(fast, 99f);
      Arrays.fill(reference, 99f);
      panama.dotColumns(q, 3, k, 5, dims, fast, 2);
      scalar.dotColumns(q, 3, k, 5, dims, reference, 2);
      for (int j = 0; j < block; j++) {
        double exact = 0;
        for (int d = 0; d < dims; d++) exact += (double) q[3 + d] * k[5 + d * block + j];
        assertEquals(exact, reference[2 + j], 1e-5 * (dims + 1), "scalar, dims=" + dims + " position " + j);
      }
      assertArrayEquals(reference, fast, "the scalar reference's bits, dims=" + dims);
      assertEquals(99f, fast[0]);
      assertEquals(99f, fast[block + 3], "nothing written past the block");
    }
    // the documented order: four chains (c0 + c1) + (c2 + c3), not one running sum
    float[] q = {1f, 1e8f, -1e8f, 1f};
    float[] k = new float[4 * block];
    for (int d = 0; d < 4; d++) k[d * block] = 1f;
    float[] out = new float[block];
    panama.dotColumns(q, 0, k, 0, 4, out, 0);
    assertEquals(0f, out[0], "(1 + 1e8) + (-1e8 + 1) in floats; a running sum gives 1");
    scalar.dotColumns(q, 0, k, 0, 4, out, 0);
    assertEquals(0f, out[0], "the scalar reference");
  }

  @Test
  void halves_convert_as_float16ToFloat_does() {
    short[] all = new short[65536];
    for (int i = 0; i < all.length; i++) all[i] = (short) i;
    float[] out = new float[all.length + 3];
    FloatRows.halfToFloat(all, 0, out, 3, all.length);
    for (int i = 0; i < all.length; i++) {
      assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) i)), Float.floatToRawIntBits(out[3 + i]),
          "half 0x" + Integer.toHexString(i));
    }
  }

  @Test
  void weighted_row_sums_have_the_bits_of_adding_one_row_at_a_time() {
    Random r = new Random(11);
    for (int rows = 0; rows <= 17; rows++) {
      for (int n = 0; n <= 130; n += rows == 1 ? 1 : 7) {
        float[] p = random(r, rows + 1), x = random(r, rows * n + 2), y = random(r, n + 6);
        float[] reference = y.clone();
        for (int row = 0; row < rows; row++) {
          for (int i = 0; i < n; i++) reference[4 + i] += p[1 + row] * x[2 + row * n + i];
        }
        float[] fast = y.clone(), scalarOut = y.clone();
        panama.axpyRows(p, 1, rows, x, 2, fast, 4, n);
        scalar.axpyRows(p, 1, rows, x, 2, scalarOut, 4, n);
        assertArrayEquals(reference, scalarOut, "scalar, rows=" + rows + " n=" + n);
        assertArrayEquals(reference, fast, "vector: the row-by-row bits, nothing outside the range, rows=" + rows + " n=" + n);
      }
    }
    float[] y = {1, 2, 3};
    FloatRows.axpyRows(new float[] {2f, 1f}, 0, 2, new float[] {1, 1, 1, 0, 1, 2}, 0, y, 0, 3);
    assertArrayEquals(new float[] {3, 5, 7}, y);
  }

  @Test
  void fast_exp_is_within_two_ulps_of_math_exp_everywhere() {
    // every float from -110 to 90 in steps of a few ulps, and the edges
    int worst = 0;
    for (float x = -110f; x <= 90f; x = Math.nextUp(x + Math.abs(x) * 1e-5f + 1e-30f)) {
      float exact = (float) Math.exp(x), fast = FastExp.exp(x);
      if (exact == 0f || Float.isInfinite(exact)) {
        assertEquals(exact, fast, Float.MIN_VALUE, "x=" + x);
      } else {
        worst = Math.max(worst, Math.abs(Float.floatToIntBits(fast) - Float.floatToIntBits(exact)));
      }
    }
    assertTrue(worst <= 2, "worst error " + worst + " ulps");
    assertEquals(1f, FastExp.exp(0f));
    assertEquals(1f, FastExp.exp(-0f));
    assertEquals(0f, FastExp.exp(Float.NEGATIVE_INFINITY));
    assertEquals(Float.POSITIVE_INFINITY, FastExp.exp(Float.POSITIVE_INFINITY));
    assertTrue(Float.isNaN(FastExp.exp(Float.NaN)));
  }

  @Test
  void softmax_numerators_have_the_scalar_bits_and_do_not_depend_on_the_length() {
    Random r = new Random(19);
    for (int n = 0; n <= 70; n++) {
      float[] s = random(r, n + 3);
      for (int j = 0; j < s.length; j++) s[j] *= 8;
      float max = 1.5f;
      float[] fast = s.clone(), reference = s.clone(), shorter = s.clone();
      double sum = panama.expShifted(fast, 2, n, max);
      double referenceSum = scalar.expShifted(reference, 2, n, max);
      panama.expShifted(shorter, 2, Math.max(0, n - 5), max);
      assertEquals(referenceSum, sum, 1e-6 * (1 + referenceSum), "sum, n=" + n);
      assertArrayEquals(reference, fast, "FastExp's bits on every lane and in the tail, nothing outside the range, n=" + n);
      for (int j = 2; j < 2 + n - 5; j++) assertEquals(fast[j], shorter[j], "a value's bits do not depend on n");
    }
    float[] masked = {Float.NEGATIVE_INFINITY, 0f, Float.NaN};
    assertEquals(1.0, panama.expShifted(masked, 0, 2, 0f));
    assertArrayEquals(new float[] {0f, 1f, Float.NaN}, masked);
  }

  @Test
  void swiglu_has_the_scalar_bits_however_it_is_split() {
    Random r = new Random(23);
    int n = 301;
    float[] gate = random(r, n), up = random(r, n);
    for (int i = 0; i < n; i++) gate[i] *= 12; // both tails of the sigmoid
    gate[0] = -200f; // e^200 overflows: silu is -0
    gate[1] = 200f;
    float[] whole = gate.clone(), reference = gate.clone(), pieces = gate.clone();
    panama.swiGlu(whole, up, 0, n);
    scalar.swiGlu(reference, up, 0, n);
    for (int from = 0, step = 1; from < n; from += step, step = step * 3 % 37 + 1) {
      panama.swiGlu(pieces, up, from, Math.min(n, from + step));
    }
    assertArrayEquals(reference, whole, "FastExp's bits on every lane");
    assertArrayEquals(whole, pieces, "cut anywhere, the same bits");
    for (int i = 0; i < n; i++) {
      float exact = (float) (gate[i] / (1 + Math.exp(-gate[i])) * up[i]);
      assertEquals(exact, whole[i], 4 * Math.ulp(exact), "i=" + i + " gate " + gate[i]);
    }
    assertEquals(0f, whole[0], 0f);
    assertEquals(200f * up[1], whole[1]);
  }

  private static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }
}
