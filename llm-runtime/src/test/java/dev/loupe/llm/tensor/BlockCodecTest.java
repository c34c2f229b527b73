package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BlockCodecTest {

  private static void putF16(byte[] b, int at, float v) {
    BlockCodec.putF16(b, at, v);
  }

  /** Packs eight 6-bit scales and mins the way block_q4_K/q5_K store them, written from the spec. */
  private static void packScales(byte[] b, int at, int[] sc, int[] m) {
    for (int j = 0; j < 4; j++) {
      b[at + j] = (byte) ((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      b[at + j + 4] = (byte) ((m[j] & 63) | ((m[j + 4] >> 4) << 6));
      b[at + j + 8] = (byte) ((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
  }

  @Test
  void q8_0_block_decodes_to_level_times_scale() {
    byte[] block = new byte[34];
    putF16(block, 0, 0.5f);
    for (int j = 0; j < 32; j++) {
      block[2 + j] = (byte) (j - 16);
    }
    float[] out = BlockCodec.dequantize(WeightType.Q8_0, block, 32);
    for (int j = 0; j < 32; j++) {
      assertEquals((j - 16) * 0.5f, out[j], "element " + j);
    }
  }

  @Test
  void q4_0_block_puts_element_j_in_the_low_nibble_and_j_plus_16_in_the_high_nibble() {
    byte[] block = new byte[18];
    putF16(block, 0, 2f);
    for (int j = 0; j < 16; j++) {
      block[2 + j] = (byte) (j | ((15 - j) << 4));
    }
    float[] out = BlockCodec.dequantize(WeightType.Q4_0, block, 32);
    for (int j = 0; j < 16; j++) {
      assertEquals((j - 8) * 2f, out[j], "element " + j);
      assertEquals((15 - j - 8) * 2f, out[j + 16], "element " + (j + 16));
    }
  }

  @Test
  void q4_k_block_uses_six_bit_scales_and_mins_per_32_elements() {
    int[] sc = {1, 2, 3, 63, 17, 40, 5, 33};
    int[] m = {0, 7, 63, 2, 48, 1, 31, 16};
    byte[] block = new byte[144];
    putF16(block, 0, 0.25f);
    putF16(block, 2, 0.5f);
    packScales(block, 4, sc, m);
    for (int c = 0; c < 4; c++) {
      for (int l = 0; l < 32; l++) {
        block[16 + 32 * c + l] = (byte) ((l % 16) | (((l + c) % 16) << 4));
      }
    }
    float[] out = BlockCodec.dequantize(WeightType.Q4_K, block, 256);
    for (int e = 0; e < 256; e++) {
      int j = e / 32, l = e % 32, c = j / 2;
      int q = j % 2 == 0 ? l % 16 : (l + c) % 16;
      assertEquals(0.25f * sc[j] * q - 0.5f * m[j], out[e], "element " + e);
    }
  }

  @Test
  void q5_k_block_takes_the_fifth_bit_from_qh() {
    int[] sc = {9, 63, 2, 30, 44, 1, 60, 12};
    int[] m = {3, 0, 50, 8, 19, 63, 2, 27};
    byte[] block = new byte[176];
    putF16(block, 0, 0.125f);
    putF16(block, 2, 0.25f);
    packScales(block, 4, sc, m);
    int[] q = new int[256];
    for (int e = 0; e < 256; e++) {
      q[e] = (e * 7 + 3) % 32;
    }
    for (int c = 0; c < 4; c++) {
      for (int l = 0; l < 32; l++) {
        int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        block[48 + 32 * c + l] = (byte) ((lo & 15) | ((hi & 15) << 4));
        block[16 + l] |= (byte) (((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
    float[] out = BlockCodec.dequantize(WeightType.Q5_K, block, 256);
    for (int e = 0; e < 256; e++) {
      int j = e / 32;
      assertEquals(0.125f * sc[j] * q[e] - 0.25f * m[j], out[e], "element " + e);
    }
  }

  @Test
  void q6_k_block_combines_four_low_and_two_high_bits_with_signed_scales_per_16() {
    byte[] block = new byte[210];
    putF16(block, 208, 0.5f);
    int[] sc = new int[16];
    for (int g = 0; g < 16; g++) {
      sc[g] = g % 2 == 0 ? g - 8 : 127 - g;
      block[192 + g] = (byte) sc[g];
    }
    int[] q = new int[256];
    for (int e = 0; e < 256; e++) {
      q[e] = (e * 13 + 5) % 64; // stored level 0..63, value q-32
    }
    for (int half = 0; half < 2; half++) {
      for (int l = 0; l < 32; l++) {
        int b = 128 * half + l;
        int q1 = q[b], q2 = q[b + 32], q3 = q[b + 64], q4 = q[b + 96];
        block[64 * half + l] = (byte) ((q1 & 15) | ((q3 & 15) << 4));
        block[64 * half + 32 + l] = (byte) ((q2 & 15) | ((q4 & 15) << 4));
        block[128 + 32 * half + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
    float[] out = BlockCodec.dequantize(WeightType.Q6_K, block, 256);
    for (int e = 0; e < 256; e++) {
      assertEquals(0.5f * sc[e / 16] * (q[e] - 32), out[e], "element " + e);
    }
  }

  @Test
  void float_types_decode_little_endian_elements() {
    byte[] f16 = {0x00, 0x3C, 0x00, (byte) 0xC0, 0x01, 0x00};
    assertArrayEquals(new float[] {1f, -2f, 0x1p-24f}, BlockCodec.dequantize(WeightType.F16, f16, 3));
    byte[] bf16 = {(byte) 0x80, 0x3F, (byte) 0xC0, (byte) 0xBF};
    assertArrayEquals(new float[] {1f, -1.5f}, BlockCodec.dequantize(WeightType.BF16, bf16, 2));
    byte[] f32 = BlockCodec.quantize(WeightType.F32, new float[] {3.25f, -0f});
    assertArrayEquals(new byte[] {0, 0, 0x50, 0x40, 0, 0, 0, (byte) 0x80}, f32);
  }

  /**
   * Random blocks (finite scales) decoded by the codec against a transcription of ggml's {@code
   * dequantize_row_*} loops that walks pointers the way the C does: same bits expected.
   */
  @ParameterizedTest
  @EnumSource(WeightType.class)
  void random_blocks_decode_bit_for_bit_like_ggml_loops(WeightType type) {
    long seed = 1234 + type.ordinal();
    Random r = new Random(seed);
    int blocks = 5;
    byte[] data = new byte[(int) type.bytesFor((long) type.blockSize() * blocks * (type.quantized() ? 1 : 64))];
    r.nextBytes(data);
    int count = (int) (data.length / type.typeSize() * type.blockSize());
    for (int b = 0; b < data.length / type.typeSize(); b++) {
      int at = b * type.typeSize();
      switch (type) {
        case Q8_0, Q4_0 -> putF16(data, at, (float) r.nextGaussian());
        case Q4_K, Q5_K -> {
          putF16(data, at, (float) r.nextGaussian() * 0.01f);
          putF16(data, at + 2, (float) r.nextGaussian() * 0.01f);
        }
        case Q6_K -> putF16(data, at + 208, (float) r.nextGaussian() * 0.01f);
        case F16 -> putF16(data, at, (float) r.nextGaussian());
        case BF16, F32 -> {
          if (type == WeightType.F32) {
            MemorySegment.ofArray(data).set(BlockCodec.F32, at, (float) r.nextGaussian());
          }
        }
      }
    }
    float[] got = BlockCodec.dequantize(type, data, count);
    float[] want = GgmlReference.dequantize(type, data, count);
    for (int i = 0; i < count; i++) {
      assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
          type + " element " + i + " (seed " + seed + "): " + want[i] + " vs " + got[i]);
    }
  }

  @ParameterizedTest
  @EnumSource(WeightType.class)
  void decoding_at_an_offset_into_a_larger_segment_reads_the_right_blocks(WeightType type) {
    float[] values = gaussian(type.blockSize() * (type.quantized() ? 3 : 96), 99, 1f);
    byte[] bytes = BlockCodec.quantize(type, values);
    int per = type.quantized() ? type.blockSize() : 32;
    byte[] shifted = new byte[bytes.length + 7];
    System.arraycopy(bytes, 0, shifted, 7, bytes.length);
    float[] whole = BlockCodec.dequantize(type, bytes, values.length);
    float[] out = new float[per + 3];
    BlockCodec.dequantize(type, MemorySegment.ofArray(shifted), 7 + type.bytesFor(per), out, 3, per);
    for (int i = 0; i < per; i++) {
      assertEquals(whole[per + i], out[3 + i], "element " + i);
    }
  }

  /**
   * quantize → dequantize on seeded Gaussian data: the error relative to the data's RMS stays within
   * each type's bound (about half a quantization step, measured on this data with margin).
   */
  @ParameterizedTest
  @EnumSource(WeightType.class)
  void quantize_then_dequantize_stays_within_the_types_error_bound(WeightType type) {
    long seed = 77 + type.ordinal();
    float[] values = gaussian(256 * 64, seed, 0.02f);
    float[] back = BlockCodec.dequantize(type, BlockCodec.quantize(type, values), values.length);
    double err = 0, norm = 0;
    for (int i = 0; i < values.length; i++) {
      err += (values[i] - back[i]) * (double) (values[i] - back[i]);
      norm += values[i] * (double) values[i];
    }
    double rel = Math.sqrt(err / norm);
    double bound = switch (type) {
      case F32 -> 0;
      case F16 -> 3e-4; // 2.1e-4
      case BF16 -> 2.5e-3; // 1.7e-3
      case Q8_0 -> 0.007; // measured 0.0054
      case Q6_K -> 0.022; // 0.018
      case Q5_K -> 0.045; // 0.036
      case Q4_0 -> 0.11; // 0.086
      case Q4_K -> 0.09; // 0.072
    };
    assertTrue(rel <= bound, type + " relative RMS error " + rel + " exceeds " + bound + " (seed " + seed + ")");
  }

  @Test
  void q4_0_quantizer_follows_ggml_reference_on_an_exact_block() {
    float[] x = new float[32];
    for (int j = 0; j < 32; j++) {
      x[j] = (j % 16) - 8; // largest magnitude is -8, so d = 1 and q = x + 8
    }
    byte[] b = BlockCodec.quantize(WeightType.Q4_0, x);
    assertEquals(0x3C00, (b[0] & 0xFF) | (b[1] & 0xFF) << 8);
    for (int j = 0; j < 16; j++) {
      assertEquals(j | (j << 4), b[2 + j] & 0xFF, "byte " + j);
    }
    assertArrayEquals(x, BlockCodec.dequantize(WeightType.Q4_0, b, 32));
  }

  @Test
  void q8_0_quantizer_rounds_halfway_cases_away_from_zero_like_roundf() {
    float[] x = new float[32];
    x[0] = 127; // d = 1, id = 1
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.49999997f;
    byte[] b = BlockCodec.quantize(WeightType.Q8_0, x);
    assertEquals(127, b[2]);
    assertEquals(3, b[3]);
    assertEquals(-3, b[4]);
    assertEquals(0, b[5]);
  }

  @Test
  void all_zero_blocks_encode_and_decode_to_zero() {
    for (WeightType type : WeightType.values()) {
      float[] zeros = new float[256];
      // ±0: Q4_0's scale of an all-zero block is max / −8 = −0, as in ggml
      assertArrayEquals(zeros, BlockCodec.dequantize(type, BlockCodec.quantize(type, zeros), 256), 0f, type.toString());
    }
  }

  @Test
  void rejects_element_counts_that_are_not_whole_blocks() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BlockCodec.quantize(WeightType.Q4_K, new float[300]));
    assertTrue(e.getMessage().contains("300"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> BlockCodec.dequantize(WeightType.Q8_0, new byte[34], 31));
    assertThrows(IllegalArgumentException.class, () -> WeightType.fromGgmlId(3));
    assertEquals(WeightType.Q6_K, WeightType.fromGgmlId(14));
  }

  static float[] gaussian(int n, long seed, float sigma) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) r.nextGaussian() * sigma;
    }
    return x;
  }
}
