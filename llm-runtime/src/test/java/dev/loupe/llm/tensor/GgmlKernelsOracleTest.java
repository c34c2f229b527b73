package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.oracle.GgmlInternals;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Loupe's block arithmetic against the ggml functions llama.cpp runs on this CPU, called in its
 * library ({@link GgmlInternals}): dequantization bit for bit, the quantization of activations
 * ({@link ActivationMode#GGML}) bit for bit, and the dot of one row in GGML mode within float
 * rounding of ggml's {@code vec_dot}. Runs in its own forked JVM (an {@code *OracleTest}).
 */
class GgmlKernelsOracleTest {
  static final int COLS = 1024;

  @ParameterizedTest
  @EnumSource(value = WeightType.class, names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void dequantization_equals_ggml_s_to_float_bit_for_bit(WeightType type) {
    Random r = new Random(11 + type.ordinal());
    float[] values = gaussian(r, 8 * COLS);
    byte[] blocks = BlockCodec.quantize(type, values);
    float[] expected = GgmlInternals.get().dequantize(type.ggmlId(), blocks, values.length);
    float[] actual = BlockCodec.dequantize(type, blocks, values.length);
    assertArrayEquals(expected, actual, type + " (seed " + (11 + type.ordinal()) + ")");
  }

  @ParameterizedTest
  @EnumSource(value = WeightType.class, names = {"F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void activations_are_quantized_as_ggml_quantizes_them(WeightType type) {
    GgmlInternals ggml = GgmlInternals.get();
    for (int seed = 0; seed < 20; seed++) {
      Random r = new Random(seed);
      float[] x = gaussian(r, COLS);
      if (seed % 2 == 1) x[r.nextInt(COLS)] *= -40; // a negative element of largest magnitude
      byte[] expected = ggml.quantizeActivations(type.ggmlId(), x);
      byte[] actual = loupeActivations(type, x);
      assertArrayEquals(expected, actual, type + " activations, seed " + seed + " (ggml vec_dot_type "
          + ggml.typeName(ggml.vecDotType(type.ggmlId())) + ")");
    }
  }

  @ParameterizedTest
  @EnumSource(value = WeightType.class, names = {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void ggml_mode_dots_equal_ggml_s_vec_dot_up_to_float_rounding(WeightType type) {
    GgmlInternals ggml = GgmlInternals.get();
    double worst = 0;
    try (ComputePool pool = ComputePool.singleThreaded()) {
      for (int seed = 0; seed < 20; seed++) {
        Random r = new Random(seed);
        float[] w = gaussian(r, COLS);
        float[] x = gaussian(r, COLS);
        byte[] row = BlockCodec.quantize(type, w);
        float expected = ggml.vecDot(type.ggmlId(), row, ggml.quantizeActivations(type.ggmlId(), x), COLS);
        WeightMatrix m = new WeightMatrix(MemorySegment.ofArray(row), type, 1, COLS);
        float[] out = new float[1];
        m.matmul(x, 0, out, 0, pool, ActivationMode.GGML);
        double rel = Math.abs(expected - out[0]) / Math.max(1, Math.abs(expected));
        worst = Math.max(worst, rel);
      }
    }
    System.out.printf("%s: GGML-mode dot vs ggml vec_dot, worst relative difference %.3g%n", type, worst);
    assertTrue(worst < 1e-5, type + ": relative difference " + worst);
  }

  /** Loupe's GGML-mode activations encoded in ggml's block layout of the weight type's vec_dot_type. */
  static byte[] loupeActivations(WeightType type, float[] x) {
    int n = x.length;
    return switch (type) {
      case F16 -> {
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : x) b.putShort(HalfFloats.f32ToF16(v));
        yield b.array();
      }
      case Q8_0, Q4_0 -> {
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        ActivationQuantizer.quantizeQ8_0(x, 0, n, q, 0, d, 0);
        ByteBuffer b = ByteBuffer.allocate(34 * (n / 32)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n / 32; i++) {
          b.putShort(HalfFloats.f32ToF16(d[i])).put(q, 32 * i, 32);
        }
        yield b.array();
      }
      case Q4_K, Q5_K, Q6_K -> {
        byte[] q = new byte[n];
        float[] d = new float[n / 256];
        short[] sums = new short[n / 16];
        ActivationQuantizer.quantizeQ8K(x, 0, n, q, 0, d, 0, sums, 0);
        ByteBuffer b = ByteBuffer.allocate(292 * (n / 256)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n / 256; i++) {
          b.putFloat(d[i]).put(q, 256 * i, 256);
          for (int g = 0; g < 16; g++) b.putShort(sums[16 * i + g]);
        }
        yield b.array();
      }
      default -> throw new IllegalArgumentException(type + " activations are not quantized");
    };
  }

  static float[] gaussian(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  @Test
  void the_layout_of_ggml_s_type_traits_reads_back_known_values() {
    GgmlInternals ggml = GgmlInternals.get();
    assertEquals("q4_K", ggml.typeName(WeightType.Q4_K.ggmlId()));
    assertEquals(256, ggml.blockSize(WeightType.Q4_K.ggmlId()));
    assertEquals(144, ggml.typeSize(WeightType.Q4_K.ggmlId()));
    assertEquals(WeightType.Q8_0.ggmlId(), ggml.vecDotType(WeightType.Q4_0.ggmlId()));
  }
}
