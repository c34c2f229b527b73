package dev.loupe.llm.tensor;

import static dev.loupe.llm.tensor.BlockCodec.F32;
import static dev.loupe.llm.tensor.BlockCodec.I16;
import static dev.loupe.llm.tensor.BlockCodec.I8;
import static dev.loupe.llm.tensor.BlockCodec.f16;

import java.lang.foreign.MemorySegment;

/**
 * The reference {@link KernelOps}: plain loops, one element at a time, block sums first and then
 * the block's scale, as ggml's generic C kernels do. Always available.
 */
final class ScalarKernelOps implements KernelOps {

  @Override
  public float dot(WeightType type, MemorySegment w, long offset, int cols, Activations a, int v) {
    float[] x = a.x;
    int xo = a.xOffset + v * cols;
    return switch (type) {
      case F32 -> {
        float s = 0;
        for (int i = 0; i < cols; i++) {
          s += w.get(F32, offset + 4L * i) * x[xo + i];
        }
        yield s;
      }
      case F16 -> {
        float s = 0;
        for (int i = 0; i < cols; i++) {
          s += Float.float16ToFloat(w.get(I16, offset + 2L * i)) * x[xo + i];
        }
        yield s;
      }
      case BF16 -> {
        float s = 0;
        for (int i = 0; i < cols; i++) {
          s += HalfFloats.bf16ToF32(w.get(I16, offset + 2L * i)) * x[xo + i];
        }
        yield s;
      }
      case Q8_0 -> {
        int so = v * (cols / 32);
        float s = 0;
        for (int b = 0; b < cols / 32; b++) {
          long p = offset + 34L * b;
          float block = 0;
          for (int j = 0; j < 32; j++) {
            block += w.get(I8, p + 2 + j) * x[xo + 32 * b + j];
          }
          s += block * (f16(w, p) * a.scales[so + b]);
        }
        yield s;
      }
      case Q4_0 -> {
        int so = v * (cols / 32);
        float s = 0;
        for (int b = 0; b < cols / 32; b++) {
          long p = offset + 18L * b;
          float block = 0;
          for (int j = 0; j < 16; j++) {
            int q = w.get(I8, p + 2 + j) & 0xFF;
            block += ((q & 0x0F) - 8) * x[xo + 32 * b + j] + ((q >>> 4) - 8) * x[xo + 32 * b + 16 + j];
          }
          s += block * (f16(w, p) * a.scales[so + b]);
        }
        yield s;
      }
      case Q4_K, Q5_K -> dotQ45K(type == WeightType.Q5_K, w, offset, cols, a, v);
      case Q6_K -> dotQ6K(w, offset, cols, a, v);
    };
  }

  private static float dotQ45K(boolean five, MemorySegment w, long offset, int cols, Activations a, int v) {
    int nb = cols / 256;
    int xo = a.xOffset + v * cols;
    int[] sm = new int[2];
    float s = 0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (five ? 176L : 144L) * b;
      float xs = a.scales[v * nb + b];
      float d = f16(w, p) * xs, dmin = f16(w, p + 2) * xs;
      long qs = p + (five ? 48 : 16);
      for (int j = 0; j < 8; j++) {
        BlockCodec.scaleMinK4(j, w, p + 4, sm);
        int c = j / 2, shift = (j % 2) * 4;
        float group = 0;
        for (int l = 0; l < 32; l++) {
          int q = ((w.get(I8, qs + 32 * c + l) & 0xFF) >>> shift) & 0x0F;
          if (five && (w.get(I8, p + 16 + l) & (1 << j)) != 0) {
            q += 16;
          }
          group += q * a.x[xo + 256 * b + 32 * j + l];
        }
        s += d * sm[0] * group - dmin * sm[1] * a.sums[v * nb * 8 + 8 * b + j];
      }
    }
    return s;
  }

  private static float dotQ6K(MemorySegment w, long offset, int cols, Activations a, int v) {
    int nb = cols / 256;
    int xo = a.xOffset + v * cols;
    float s = 0;
    for (int b = 0; b < nb; b++) {
      long p = offset + 210L * b;
      float d = f16(w, p + 208) * a.scales[v * nb + b];
      for (int g = 0; g < 16; g++) { // 16 groups of 16 elements, element e = 16g + i
        float group = 0;
        for (int i = 0; i < 16; i++) {
          int e = 16 * g + i;
          int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
          int ql = w.get(I8, p + 64 * half + l + (quarter % 2) * 32) & 0xFF;
          int lo = quarter < 2 ? ql & 0x0F : ql >>> 4;
          int hi = ((w.get(I8, p + 128 + 32 * half + l) & 0xFF) >>> (2 * quarter)) & 3;
          group += ((lo | (hi << 4)) - 32) * a.x[xo + 256 * b + e];
        }
        s += d * w.get(I8, p + 192 + g) * group;
      }
    }
    return s;
  }

  @Override
  public String toString() {
    return "scalar";
  }
}
