package dev.loupe.llm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Encoders and decoders for ggml's tensor blocks, byte for byte in llama.cpp's layout.
 *
 * <p>Layouts (little-endian, blocks packed without padding):
 * <ul>
 *   <li>F32 / F16 / BF16: one element per 4 / 2 / 2 bytes.
 *   <li>Q8_0 (34 bytes / 32 elements): fp16 {@code d}, then 32 int8 {@code q}; value {@code q·d}.
 *   <li>Q4_0 (18 / 32): fp16 {@code d}, then 16 bytes; element {@code j} is the low nibble of byte
 *       {@code j}, element {@code j+16} its high nibble; value {@code (q-8)·d}.
 *   <li>Q4_K (144 / 256): fp16 {@code d}, fp16 {@code dmin}, 12 bytes of eight 6-bit scales and
 *       eight 6-bit mins (see {@link #scaleMinK4}), 128 bytes of nibbles. Each 64 elements use 32
 *       bytes: low nibbles are the first 32 elements (sub-block {@code 2c}), high nibbles the next 32
 *       (sub-block {@code 2c+1}); value {@code d·sc·q − dmin·m}.
 *   <li>Q5_K (176 / 256): as Q4_K with 32 bytes {@code qh} between the scales and the nibbles; bit
 *       {@code 2c} of {@code qh[l]} is the fifth bit of element {@code 64c+l}, bit {@code 2c+1} that
 *       of element {@code 64c+32+l}.
 *   <li>Q6_K (210 / 256): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh} (high 2 bits), 16
 *       int8 scales (one per 16 elements), fp16 {@code d}; value {@code d·sc·(q−32)}. Each half of
 *       128 elements uses 64 {@code ql}, 32 {@code qh} and 8 scales; see {@link #dequantizeQ6K}.
 * </ul>
 *
 * <p>Decoding reproduces ggml's {@code dequantize_row_*} bit for bit, including the order of the
 * float operations (ggml's base library is built without FMA contraction). Encoding follows
 * ggml's reference quantizers ({@code quantize_row_*_ref}): exactly for F16, BF16, Q8_0 and Q4_0;
 * for the K-quants the same search for scales and mins (weighted least squares over a range of
 * candidate scales), which produces valid blocks of the same accuracy but is not promised to be
 * byte-identical with llama.cpp's output. Only decoding must match ggml: files written here are read
 * by both engines. Stateless and thread-safe.
 */
public final class BlockCodec {
  static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

  /** The K-quants' super-block size. */
  public static final int QK_K = 256;

  private BlockCodec() {}

  // ------------------------------------------------------------------ decoding

  /**
   * Decodes {@code count} elements of type {@code type} starting at byte {@code offset} (the start of
   * a block) into {@code out[outOffset..]}. {@code count} must be a multiple of the block size.
   */
  public static void dequantize(
      WeightType type, MemorySegment data, long offset, float[] out, int outOffset, int count) {
    type.bytesFor(count); // validates whole blocks
    if (outOffset < 0 || outOffset + count > out.length) {
      throw new IndexOutOfBoundsException(
          "output range " + outOffset + "+" + count + " exceeds array length " + out.length);
    }
    int blocks = count / type.blockSize();
    switch (type) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          out[outOffset + i] = data.get(F32, offset + 4L * i);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          out[outOffset + i] = Float.float16ToFloat(data.get(I16, offset + 2L * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          out[outOffset + i] = HalfFloats.bf16ToF32(data.get(I16, offset + 2L * i));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < blocks; b++) {
          dequantizeQ8_0(data, offset + 34L * b, out, outOffset + 32 * b);
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < blocks; b++) {
          dequantizeQ4_0(data, offset + 18L * b, out, outOffset + 32 * b);
        }
      }
      case Q4_K -> {
        for (int b = 0; b < blocks; b++) {
          dequantizeQ4K(data, offset + 144L * b, out, outOffset + QK_K * b);
        }
      }
      case Q5_K -> {
        for (int b = 0; b < blocks; b++) {
          dequantizeQ5K(data, offset + 176L * b, out, outOffset + QK_K * b);
        }
      }
      case Q6_K -> {
        for (int b = 0; b < blocks; b++) {
          dequantizeQ6K(data, offset + 210L * b, out, outOffset + QK_K * b);
        }
      }
    }
  }

  /** Decodes a heap byte array; see {@link #dequantize(WeightType, MemorySegment, long, float[], int, int)}. */
  public static float[] dequantize(WeightType type, byte[] data, int count) {
    float[] out = new float[count];
    dequantize(type, MemorySegment.ofArray(data), 0, out, 0, count);
    return out;
  }

  static float f16(MemorySegment data, long offset) {
    return Float.float16ToFloat(data.get(I16, offset));
  }

  static void dequantizeQ8_0(MemorySegment data, long block, float[] y, int o) {
    float d = f16(data, block);
    for (int j = 0; j < 32; j++) {
      y[o + j] = data.get(I8, block + 2 + j) * d;
    }
  }

  static void dequantizeQ4_0(MemorySegment data, long block, float[] y, int o) {
    float d = f16(data, block);
    for (int j = 0; j < 16; j++) {
      int q = data.get(I8, block + 2 + j) & 0xFF;
      y[o + j] = ((q & 0x0F) - 8) * d;
      y[o + j + 16] = ((q >>> 4) - 8) * d;
    }
  }

  /**
   * The 6-bit scale ({@code out[0]}) and min ({@code out[1]}) of sub-block {@code j} (0..7) from
   * the 12 packed bytes at {@code scales}: sub-blocks 0-3 keep theirs in the low 6 bits of bytes
   * {@code j} and {@code j+4}; sub-blocks 4-7 take a nibble from byte {@code j+4} and the top two
   * bits of bytes {@code j-4} (scale) and {@code j} (min). ggml's {@code get_scale_min_k4}.
   */
  static void scaleMinK4(int j, MemorySegment data, long scales, int[] out) {
    if (j < 4) {
      out[0] = data.get(I8, scales + j) & 63;
      out[1] = data.get(I8, scales + j + 4) & 63;
    } else {
      int qj4 = data.get(I8, scales + j + 4) & 0xFF;
      out[0] = (qj4 & 0x0F) | (((data.get(I8, scales + j - 4) & 0xFF) >>> 6) << 4);
      out[1] = (qj4 >>> 4) | (((data.get(I8, scales + j) & 0xFF) >>> 6) << 4);
    }
  }

  static void dequantizeQ4K(MemorySegment data, long block, float[] y, int o) {
    float d = f16(data, block);
    float min = f16(data, block + 2);
    long scales = block + 4;
    long q = block + 16;
    int[] sm = new int[2];
    for (int c = 0; c < 4; c++) {
      scaleMinK4(2 * c, data, scales, sm);
      float d1 = d * sm[0], m1 = min * sm[1];
      scaleMinK4(2 * c + 1, data, scales, sm);
      float d2 = d * sm[0], m2 = min * sm[1];
      for (int l = 0; l < 32; l++) {
        y[o + 64 * c + l] = d1 * (data.get(I8, q + l) & 0x0F) - m1;
      }
      for (int l = 0; l < 32; l++) {
        y[o + 64 * c + 32 + l] = d2 * ((data.get(I8, q + l) & 0xFF) >>> 4) - m2;
      }
      q += 32;
    }
  }

  static void dequantizeQ5K(MemorySegment data, long block, float[] y, int o) {
    float d = f16(data, block);
    float min = f16(data, block + 2);
    long scales = block + 4;
    long qh = block + 16;
    long ql = block + 48;
    int[] sm = new int[2];
    for (int c = 0; c < 4; c++) {
      scaleMinK4(2 * c, data, scales, sm);
      float d1 = d * sm[0], m1 = min * sm[1];
      scaleMinK4(2 * c + 1, data, scales, sm);
      float d2 = d * sm[0], m2 = min * sm[1];
      int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
      for (int l = 0; l < 32; l++) {
        int h = data.get(I8, qh + l);
        y[o + 64 * c + l] = d1 * ((data.get(I8, ql + l) & 0x0F) + ((h & u1) != 0 ? 16 : 0)) - m1;
      }
      for (int l = 0; l < 32; l++) {
        int h = data.get(I8, qh + l);
        y[o + 64 * c + 32 + l] = d2 * (((data.get(I8, ql + l) & 0xFF) >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
      }
      ql += 32;
    }
  }

  static void dequantizeQ6K(MemorySegment data, long block, float[] y, int o) {
    float d = f16(data, block + 208);
    for (int half = 0; half < 2; half++) {
      long ql = block + 64L * half;
      long qh = block + 128 + 32L * half;
      long sc = block + 192 + 8L * half;
      int base = o + 128 * half;
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int a = data.get(I8, ql + l) & 0xFF;
        int b = data.get(I8, ql + l + 32) & 0xFF;
        int h = data.get(I8, qh + l) & 0xFF;
        int q1 = ((a & 0x0F) | ((h & 3) << 4)) - 32;
        int q2 = ((b & 0x0F) | (((h >>> 2) & 3) << 4)) - 32;
        int q3 = ((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
        int q4 = ((b >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
        y[base + l] = d * data.get(I8, sc + is) * q1;
        y[base + l + 32] = d * data.get(I8, sc + is + 2) * q2;
        y[base + l + 64] = d * data.get(I8, sc + is + 4) * q3;
        y[base + l + 96] = d * data.get(I8, sc + is + 6) * q4;
      }
    }
  }

  // ------------------------------------------------------------------ encoding

  /**
   * Encodes {@code values} (a multiple of the block size long) as {@code type}, in the layout above.
   */
  public static byte[] quantize(WeightType type, float[] values) {
    return quantize(type, values, 0, values.length);
  }

  /** Encodes {@code values[offset..offset+count)}; see {@link #quantize(WeightType, float[])}. */
  public static byte[] quantize(WeightType type, float[] values, int offset, int count) {
    long size = type.bytesFor(count);
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(count + " elements of " + type + " do not fit one byte array");
    }
    byte[] out = new byte[(int) size];
    MemorySegment seg = MemorySegment.ofArray(out);
    int blocks = count / type.blockSize();
    switch (type) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          seg.set(F32, 4L * i, values[offset + i]);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          seg.set(I16, 2L * i, Float.floatToFloat16(values[offset + i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          seg.set(I16, 2L * i, HalfFloats.f32ToBf16(values[offset + i]));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < blocks; b++) {
          quantizeQ8_0(values, offset + 32 * b, out, 34 * b);
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < blocks; b++) {
          quantizeQ4_0(values, offset + 32 * b, out, 18 * b);
        }
      }
      case Q4_K, Q5_K -> {
        KQuantizer k = new KQuantizer();
        for (int b = 0; b < blocks; b++) {
          k.quantizeQ45K(values, offset + QK_K * b, out, type.typeSize() * b, type == WeightType.Q5_K);
        }
      }
      case Q6_K -> {
        KQuantizer k = new KQuantizer();
        for (int b = 0; b < blocks; b++) {
          k.quantizeQ6K(values, offset + QK_K * b, out, 210 * b);
        }
      }
    }
    return out;
  }

  static void putF16(byte[] out, int at, float value) {
    short h = Float.floatToFloat16(value);
    out[at] = (byte) h;
    out[at + 1] = (byte) (h >> 8);
  }

  static float getF16(byte[] in, int at) {
    return Float.float16ToFloat((short) ((in[at] & 0xFF) | (in[at + 1] << 8)));
  }

  /** C's {@code roundf}: to nearest, halfway cases away from zero. */
  static int roundHalfAway(float x) {
    float a = Math.abs(x);
    float t = (float) Math.floor(a);
    if (a - t >= 0.5f) {
      t += 1;
    }
    return (int) Math.copySign(t, x);
  }

  /** ggml's {@code nearest_int}: to nearest, halfway cases to even. */
  static int nearestInt(float x) {
    return (int) Math.rint(x);
  }

  /** ggml's {@code quantize_row_q8_0_ref} for one block. */
  static void quantizeQ8_0(float[] x, int from, byte[] out, int at) {
    float amax = 0;
    for (int j = 0; j < 32; j++) {
      amax = Math.max(amax, Math.abs(x[from + j]));
    }
    float d = amax / 127;
    float id = d != 0 ? 1.0f / d : 0.0f;
    putF16(out, at, d);
    for (int j = 0; j < 32; j++) {
      out[at + 2 + j] = (byte) roundHalfAway(x[from + j] * id);
    }
  }

  /** ggml's {@code quantize_row_q4_0_ref} for one block: the scale maps the largest magnitude to −8. */
  static void quantizeQ4_0(float[] x, int from, byte[] out, int at) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
      float v = x[from + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    float d = max / -8;
    float id = d != 0 ? 1.0f / d : 0.0f;
    putF16(out, at, d);
    for (int j = 0; j < 16; j++) {
      float x0 = x[from + j] * id;
      float x1 = x[from + 16 + j] * id;
      int q0 = Math.min(15, (byte) (int) (x0 + 8.5f));
      int q1 = Math.min(15, (byte) (int) (x1 + 8.5f));
      out[at + 2 + j] = (byte) (q0 | (q1 << 4));
    }
  }
}
