package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ActivationQuantizerTest {

  /** A batch's input large enough to be rounded on the pool gives the arrays of rounding it on the caller. */
  @Test
  void rounding_a_large_batch_on_the_pool_gives_the_callers_arrays() {
    int cols = 1024, count = 70; // 2,240 blocks, above the pool's threshold
    assertTrue(cols * count / 32 >= Activations.PARALLEL_BLOCKS);
    float[] x = BlockCodecTest.gaussian(cols * count + 5, 3, 2f);
    try (ComputePool pool = ComputePool.create(2)) {
      for (WeightType type : new WeightType[] {WeightType.Q8_0, WeightType.Q4_0}) {
        Activations serial = Activations.prepare(type, ActivationMode.Q8, x, 5, cols, count);
        Activations parallel = Activations.prepare(type, ActivationMode.Q8, x, 5, cols, count, pool);
        assertArrayEquals(serial.x, parallel.x, type.toString());
        assertArrayEquals(serial.scales, parallel.scales, type.toString());
        assertArrayEquals(serial.levels, parallel.levels, type.toString());
        assertArrayEquals(serial.offsets, parallel.offsets, type.toString());
        assertArrayEquals(serial.nibbleLevels, parallel.nibbleLevels, type.toString());
      }
    }
  }

  @Test
  void q8_0_activations_round_halfway_cases_to_even_like_ggmls_avx_path() {
    float[] x = new float[32];
    x[0] = 127; // amax 127: the multiplier is exactly 1
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -2.5f;
    x[4] = -127;
    byte[] q = new byte[32];
    float[] d = new float[1];
    ActivationQuantizer.quantizeQ8_0(x, 0, 32, q, 0, d, 0);
    assertEquals(1f, d[0]);
    assertEquals(127, q[0]);
    assertEquals(2, q[1]);
    assertEquals(4, q[2]);
    assertEquals(-2, q[3]);
    assertEquals(-127, q[4]);
  }

  @Test
  void q8_0_scale_is_stored_as_fp16() {
    float[] x = BlockCodecTest.gaussian(64, 5, 1f);
    byte[] q = new byte[64];
    float[] d = new float[2];
    ActivationQuantizer.quantizeQ8_0(x, 0, 64, q, 0, d, 0);
    for (int b = 0; b < 2; b++) {
      assertEquals(HalfFloats.roundF16(d[b]), d[b]);
      for (int j = 0; j < 32; j++) {
        assertTrue(Math.abs(q[32 * b + j] * d[b] - x[32 * b + j]) <= 0.51f * d[b] + 1e-3f * Math.abs(x[32 * b + j]),
            "element " + (32 * b + j));
      }
    }
  }

  @Test
  void q8_k_scales_by_the_signed_extreme_and_sums_each_sixteen_levels() {
    float[] x = new float[256];
    for (int j = 0; j < 256; j++) {
      x[j] = (j % 7) - 3;
    }
    x[100] = -127; // the extreme is negative: iscale = -127 / -127 = 1
    byte[] q = new byte[256];
    float[] d = new float[1];
    short[] bsums = new short[16];
    ActivationQuantizer.quantizeQ8K(x, 0, 256, q, 0, d, 0, bsums, 0);
    assertEquals(1f, d[0]);
    for (int j = 0; j < 256; j++) {
      assertEquals((int) x[j], q[j], "element " + j);
    }
    for (int g = 0; g < 16; g++) {
      int sum = 0;
      for (int j = 0; j < 16; j++) {
        sum += q[16 * g + j];
      }
      assertEquals(sum, bsums[g], "group " + g);
    }
  }

  @Test
  void q8_k_of_zeros_has_zero_scale_and_levels() {
    byte[] q = new byte[256];
    float[] d = {5};
    short[] bsums = new short[16];
    ActivationQuantizer.quantizeQ8K(new float[256], 0, 256, q, 0, d, 0, bsums, 0);
    assertEquals(0f, d[0]);
    for (byte b : q) {
      assertEquals(0, b);
    }
  }
}
