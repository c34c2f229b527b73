package dev.loupe.llm.tensor;

/**
 * Quantizes activation vectors the way ggml's CPU backend does before a quantized matmul: to Q8_0
 * blocks (32 elements) for Q8_0 and Q4_0 weights, to Q8_K blocks (256 elements) for the K-quants.
 *
 * <p>Q8_0 follows ggml's x86 {@code quantize_row_q8_0} (the path llama.cpp runs, not the
 * {@code _ref} one used for files): {@code d = amax/127} stored as fp16, elements {@code
 * rint(x·127/amax)}, halfway cases to even. Q8_K follows {@code quantize_row_q8_K_ref}: {@code d}
 * is an fp32 {@code max/−127} where {@code max} is the signed element of largest magnitude,
 * elements {@code min(127, rint(x/d))}, plus the sum of each 16 elements ({@code bsums}).
 * Stateless and thread-safe.
 */
public final class ActivationQuantizer {
  private ActivationQuantizer() {}

  /**
   * Q8_0-quantizes {@code x[xOff..xOff+n)} ({@code n} a multiple of 32): levels into {@code
   * q[qOff..]}, one scale per block (the fp16 value as fp32) into {@code d[dOff..]}.
   */
  public static void quantizeQ8_0(float[] x, int xOff, int n, byte[] q, int qOff, float[] d, int dOff) {
    requireBlocks(n, 32);
    float[] levels = new float[32];
    for (int b = 0; b < n / 32; b++) {
      d[dOff + b] = q8_0Block(x, xOff + 32 * b, levels, 0);
      for (int j = 0; j < 32; j++) {
        q[qOff + 32 * b + j] = (byte) levels[j];
      }
    }
  }

  /**
   * Q8_K-quantizes {@code x[xOff..xOff+n)} ({@code n} a multiple of 256): levels into {@code
   * q[qOff..]}, one fp32 scale per 256 into {@code d[dOff..]}, sums of each 16 levels into {@code
   * bsums[bOff..]}.
   */
  public static void quantizeQ8K(
      float[] x, int xOff, int n, byte[] q, int qOff, float[] d, int dOff, short[] bsums, int bOff) {
    requireBlocks(n, 256);
    float[] levels = new float[256];
    for (int b = 0; b < n / 256; b++) {
      d[dOff + b] = q8KBlock(x, xOff + 256 * b, levels, 0);
      for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int j = 0; j < 16; j++) {
          int v = (int) levels[16 * g + j];
          q[qOff + 256 * b + 16 * g + j] = (byte) v;
          sum += v;
        }
        bsums[bOff + 16 * b + g] = (short) sum;
      }
    }
  }

  private static void requireBlocks(int n, int block) {
    if (n < 0 || n % block != 0) {
      throw new IllegalArgumentException(n + " activations are not a whole number of " + block + "-element blocks");
    }
  }

  /** One Q8_0 block: levels (as exact floats) into {@code out[o..o+32)}; returns the decoded fp16 scale. */
  static float q8_0Block(float[] x, int xo, float[] out, int o) {
    float amax = 0;
    for (int j = 0; j < 32; j++) {
      amax = Math.max(amax, Math.abs(x[xo + j]));
    }
    float d = HalfFloats.roundF16(amax / 127f);
    float id = amax != 0 ? 127f / amax : 0f;
    for (int j = 0; j < 32; j++) {
      // the AVX path packs with signed saturation
      out[o + j] = Math.max(-128f, Math.min(127f, (float) Math.rint(x[xo + j] * id)));
    }
    return d;
  }

  /** One Q8_K block: levels (as exact floats) into {@code out[o..o+256)}; returns the fp32 scale. */
  static float q8KBlock(float[] x, int xo, float[] out, int o) {
    float max = 0, amax = 0;
    for (int j = 0; j < 256; j++) {
      float ax = Math.abs(x[xo + j]);
      if (ax > amax) {
        amax = ax;
        max = x[xo + j];
      }
    }
    if (amax == 0) {
      java.util.Arrays.fill(out, o, o + 256, 0f);
      return 0f;
    }
    float iscale = -127f / max;
    for (int j = 0; j < 256; j++) {
      out[o + j] = Math.min(127, BlockCodec.nearestInt(iscale * x[xo + j]));
    }
    return 1 / iscale;
  }
}
