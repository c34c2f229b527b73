package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Attention's float-row kernels, the Vector API against the scalar reference, on every length around the lane count. */
class FloatRowsTest {
  private final KernelOps scalar = new ScalarKernelOps();
  private final KernelOps panama = new PanamaKernelOps();

  @Test
  void dot_products_agree_with_the_scalar_reference_on_every_length_and_offset() {
    Random r = new Random(7);
    for (int n = 0; n <= 130; n++) {
      float[] a = random(r, n + 5), b = random(r, n + 9);
      double exact = 0;
      for (int i = 0; i < n; i++) exact += (double) a[3 + i] * b[7 + i];
      float fast = panama.dot(a, 3, b, 7, n), reference = scalar.dot(a, 3, b, 7, n);
      assertEquals(exact, reference, 1e-5 * (n + 1), "scalar, n=" + n);
      assertEquals(exact, fast, 1e-5 * (n + 1), "vector, n=" + n);
      assertEquals(fast, panama.dot(a, 3, b, 7, n), "the same bits every time, n=" + n);
    }
  }

  @Test
  void scaled_additions_agree_with_the_scalar_reference_and_leave_the_rest_alone() {
    Random r = new Random(11);
    for (int n = 0; n <= 130; n++) {
      float[] x = random(r, n + 2), y = random(r, n + 6);
      float[] fast = y.clone(), reference = y.clone();
      panama.axpy(0.37f, x, 2, fast, 4, n);
      scalar.axpy(0.37f, x, 2, reference, 4, n);
      for (int i = 0; i < y.length; i++) {
        if (i < 4 || i >= 4 + n) {
          assertEquals(y[i], fast[i], "outside the range, n=" + n + " i=" + i);
        } else {
          assertEquals(reference[i], fast[i], "the same bits as the scalar loop, n=" + n + " i=" + i);
        }
      }
    }
    float[] y = {1, 2, 3};
    FloatRows.axpy(2f, new float[] {1, 1, 1}, 0, y, 0, 3);
    assertArrayEquals(new float[] {3, 4, 5}, y);
  }

  @Test
  void half_dot_products_agree_with_the_scalar_reference_on_every_length_and_offset() {
    Random r = new Random(13);
    for (int n = 0; n <= 130; n++) {
      float[] a = random(r, n + 5);
      short[] b = halves(r, n + 9);
      double exact = 0;
      for (int i = 0; i < n; i++) exact += (double) a[3 + i] * Float.float16ToFloat(b[7 + i]);
      float fast = panama.dotHalf(a, 3, b, 7, n), reference = scalar.dotHalf(a, 3, b, 7, n);
      assertEquals(exact, reference, 1e-5 * (n + 1), "scalar, n=" + n);
      assertEquals(exact, fast, 1e-5 * (n + 1), "vector, n=" + n);
      assertEquals(fast, panama.dotHalf(a, 3, b, 7, n), "the same bits every time, n=" + n);
    }
    // an infinity or a NaN in the cache reaches the sum as it does in the scalar loop
    float[] ones = new float[64];
    Arrays.fill(ones, 1f);
    short[] k = new short[64];
    k[40] = Float.floatToFloat16(Float.POSITIVE_INFINITY);
    assertEquals(Float.POSITIVE_INFINITY, panama.dotHalf(ones, 0, k, 0, 64));
    k[41] = Float.floatToFloat16(Float.NaN);
    assertEquals(Float.NaN, panama.dotHalf(ones, 0, k, 0, 64));
  }

  @Test
  void half_scaled_additions_decode_every_half_as_the_scalar_loop_does() {
    // all 65,536 halves (subnormals, signed zeros, infinities, NaN) at every lane position
    short[] all = new short[65536];
    for (int i = 0; i < all.length; i++) all[i] = (short) i;
    float[] fast = new float[all.length], reference = new float[all.length];
    Arrays.fill(fast, -0f); // -0 + h = h for every h, signed zeros included
    Arrays.fill(reference, -0f);
    panama.axpyHalf(1f, all, 0, fast, 0, all.length);
    scalar.axpyHalf(1f, all, 0, reference, 0, all.length);
    for (int i = 0; i < all.length; i++) {
      assertEquals(Float.float16ToFloat((short) i), reference[i], "scalar, half 0x" + Integer.toHexString(i));
      assertEquals(reference[i], fast[i], "vector, half 0x" + Integer.toHexString(i));
    }
    Random r = new Random(17);
    for (int n = 0; n <= 130; n++) {
      short[] x = halves(r, n + 2);
      float[] y = random(r, n + 6);
      float[] f = y.clone(), s = y.clone();
      panama.axpyHalf(0.37f, x, 2, f, 4, n);
      scalar.axpyHalf(0.37f, x, 2, s, 4, n);
      for (int i = 0; i < y.length; i++) {
        if (i < 4 || i >= 4 + n) {
          assertEquals(y[i], f[i], "outside the range, n=" + n + " i=" + i);
        } else {
          assertEquals(s[i], f[i], "the same bits as the scalar loop, n=" + n + " i=" + i);
        }
      }
    }
  }

  private static short[] halves(Random r, int n) {
    short[] v = new short[n];
    for (int i = 0; i < n; i++) v[i] = Float.floatToFloat16((float) r.nextGaussian());
    return v;
  }

  private static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }
}
