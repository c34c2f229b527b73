package dev.loupe.llm.tensor;

/**
 * Test oracle: ggml's {@code dequantize_row_*} loops transcribed statement by statement over a
 * byte array, with explicit "pointers" that advance as the C's do, and fp16 decoded bit by bit
 * rather than with {@link Float#float16ToFloat}. Written independently of {@link BlockCodec} so
 * the two can disagree.
 */
final class GgmlReference {
  private GgmlReference() {}

  static float fp16(byte[] b, int at) {
    int h = (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
    int sign = (h >>> 15) & 1, exp = (h >>> 10) & 31, man = h & 1023;
    float v;
    if (exp == 0) {
      v = man * 0x1p-24f;
    } else if (exp == 31) {
      v = man == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
    } else {
      v = Float.intBitsToFloat(((exp - 15 + 127) << 23) | (man << 13));
    }
    return sign == 1 ? -v : v;
  }

  private static int u8(byte[] b, int at) {
    return b[at] & 0xFF;
  }

  static float[] dequantize(WeightType type, byte[] x, int k) {
    float[] y = new float[k];
    int yi = 0;
    int nb = k / type.blockSize();
    for (int i = 0; i < nb; i++) {
      int blk = i * type.typeSize();
      switch (type) {
        case F32 -> y[yi++] = Float.intBitsToFloat(
            u8(x, blk) | u8(x, blk + 1) << 8 | u8(x, blk + 2) << 16 | u8(x, blk + 3) << 24);
        case F16 -> y[yi++] = fp16(x, blk);
        case BF16 -> y[yi++] = Float.intBitsToFloat((u8(x, blk) | u8(x, blk + 1) << 8) << 16);
        case Q8_0 -> {
          float d = fp16(x, blk);
          for (int j = 0; j < 32; ++j) {
            y[i * 32 + j] = x[blk + 2 + j] * d;
          }
        }
        case Q4_0 -> {
          float d = fp16(x, blk);
          for (int j = 0; j < 16; ++j) {
            int x0 = (u8(x, blk + 2 + j) & 0x0F) - 8;
            int x1 = (u8(x, blk + 2 + j) >> 4) - 8;
            y[i * 32 + j] = x0 * d;
            y[i * 32 + j + 16] = x1 * d;
          }
        }
        case Q4_K -> {
          int q = blk + 16;
          float d = fp16(x, blk), min = fp16(x, blk + 2);
          int is = 0;
          for (int j = 0; j < 256; j += 64) {
            int[] sm = scaleMin(is, x, blk + 4);
            float d1 = d * sm[0], m1 = min * sm[1];
            sm = scaleMin(is + 1, x, blk + 4);
            float d2 = d * sm[0], m2 = min * sm[1];
            for (int l = 0; l < 32; ++l) {
              y[yi++] = d1 * (u8(x, q + l) & 0xF) - m1;
            }
            for (int l = 0; l < 32; ++l) {
              y[yi++] = d2 * (u8(x, q + l) >> 4) - m2;
            }
            q += 32;
            is += 2;
          }
        }
        case Q5_K -> {
          int ql = blk + 48, qh = blk + 16;
          float d = fp16(x, blk), min = fp16(x, blk + 2);
          int is = 0, u1 = 1, u2 = 2;
          for (int j = 0; j < 256; j += 64) {
            int[] sm = scaleMin(is, x, blk + 4);
            float d1 = d * sm[0], m1 = min * sm[1];
            sm = scaleMin(is + 1, x, blk + 4);
            float d2 = d * sm[0], m2 = min * sm[1];
            for (int l = 0; l < 32; ++l) {
              y[yi++] = d1 * ((u8(x, ql + l) & 0xF) + ((u8(x, qh + l) & u1) != 0 ? 16 : 0)) - m1;
            }
            for (int l = 0; l < 32; ++l) {
              y[yi++] = d2 * ((u8(x, ql + l) >> 4) + ((u8(x, qh + l) & u2) != 0 ? 16 : 0)) - m2;
            }
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
          }
        }
        case Q6_K -> {
          float d = fp16(x, blk + 208);
          int ql = blk, qh = blk + 128, sc = blk + 192;
          for (int n = 0; n < 256; n += 128) {
            for (int l = 0; l < 32; ++l) {
              int is = l / 16;
              int q1 = (byte) ((u8(x, ql + l) & 0xF) | (((u8(x, qh + l) >> 0) & 3) << 4)) - 32;
              int q2 = (byte) ((u8(x, ql + l + 32) & 0xF) | (((u8(x, qh + l) >> 2) & 3) << 4)) - 32;
              int q3 = (byte) ((u8(x, ql + l) >> 4) | (((u8(x, qh + l) >> 4) & 3) << 4)) - 32;
              int q4 = (byte) ((u8(x, ql + l + 32) >> 4) | (((u8(x, qh + l) >> 6) & 3) << 4)) - 32;
              y[yi + l] = d * x[sc + is] * q1;
              y[yi + l + 32] = d * x[sc + is + 2] * q2;
              y[yi + l + 64] = d * x[sc + is + 4] * q3;
              y[yi + l + 96] = d * x[sc + is + 6] * q4;
            }
            yi += 128;
            ql += 64;
            qh += 32;
            sc += 8;
          }
        }
      }
    }
    return y;
  }

  private static int[] scaleMin(int j, byte[] q, int at) {
    if (j < 4) {
      return new int[] {u8(q, at + j) & 63, u8(q, at + j + 4) & 63};
    }
    return new int[] {
      (u8(q, at + j + 4) & 0xF) | ((u8(q, at + j - 4) >> 6) << 4),
      (u8(q, at + j + 4) >> 4) | ((u8(q, at + j) >> 6) << 4)
    };
  }
}
