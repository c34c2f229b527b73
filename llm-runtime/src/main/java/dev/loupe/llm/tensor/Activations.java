package dev.loupe.llm.tensor;

/**
 * One or more input vectors prepared for the dot kernels of one weight type.
 *
 * <p>{@code x} holds vector {@code v} at {@code xOffset + v·cols}: the caller's fp32 values, or
 * (in the quantizing modes, every mode but {@link ActivationMode#FP32}) the rounded values or the integer levels of the quantized
 * activations, stored as exact floats. For block types, {@code scales} holds one factor per
 * activation block (per 32 elements for Q8_0/Q4_0, per 256 for the K-quants; 1 in FP32 mode) at
 * {@code v·(cols/block) + b}; for Q4_K/Q5_K, {@code sums} holds the sum of each 32 elements of
 * {@code x} at {@code v·(cols/32) + g} (the term the weights' mins multiply). For Q8_0/Q4_0 in
 * the quantizing modes ({@link ActivationMode#GGML}, {@link ActivationMode#Q8}), {@code levels} holds the same integer levels as {@code x} (from
 * offset 0) as shorts, for the integer kernels; for Q4_0 also, for the interleaved kernel, {@code
 * offsets} holds {@code −8 ×} the sum of each 32 levels at {@code v·(cols/32) + b} (the nibbles'
 * offset of 8 taken out of a block's sum once) and {@code nibbleLevels} the levels with element
 * {@code 16+k} of each block replaced by {@code a[16+k] − 16·a[k]} (so a whole weight byte times
 * {@code a[k]} plus its high nibble times that is {@code low·a[k] + high·a[16+k]}), all as shorts
 * that may wrap: the kernel's 16-bit sums wrap too, and each block's true sum fits, so the wrapped
 * terms add up to it. Built per call; immutable after construction.
 */
final class Activations {
  final float[] x;
  final int xOffset;
  final int cols;
  final int count;
  final float[] scales;
  final float[] sums;
  final short[] levels;
  final short[] offsets;
  final short[] nibbleLevels;

  private Activations(float[] x, int xOffset, int cols, int count, float[] scales, float[] sums) {
    this(x, xOffset, cols, count, scales, sums, null, null, null);
  }

  private Activations(float[] x, int xOffset, int cols, int count, float[] scales, float[] sums, short[] levels,
      short[] offsets, short[] nibbleLevels) {
    this.x = x;
    this.xOffset = xOffset;
    this.cols = cols;
    this.count = count;
    this.scales = scales;
    this.sums = sums;
    this.levels = levels;
    this.offsets = offsets;
    this.nibbleLevels = nibbleLevels;
  }

  /** The same activations without {@link #levels}, so the float kernels run on them (tests). */
  Activations withoutLevels() {
    return new Activations(x, xOffset, cols, count, scales, sums, null, null, null);
  }

  int scaleBlock(WeightType type) {
    return switch (type) {
      case Q8_0, Q4_0 -> 32;
      case Q4_K, Q5_K, Q6_K -> 256;
      case F32, F16, BF16 -> 1;
    };
  }

  /** Prepares {@code count} vectors of {@code cols} from {@code x[xOffset..]} for {@code type}. */
  static Activations prepare(WeightType type, ActivationMode mode, float[] x, int xOffset, int cols, int count) {
    return prepare(type, mode, x, xOffset, cols, count, null);
  }

  /**
   * Inputs of at least this many Q8_0 blocks (65,536 values) are rounded on the pool: batches of
   * prefill (with the SiLU step split too, +10-11% prefill in A/B runs). A decode step's inputs
   * (2,048-8,192 values) stay on the caller: splitting them adds a meeting of the threads and moves
   * the values between cores, and measured 0.90x decode in one A/B run (within this machine's noise).
   */
  static final int PARALLEL_BLOCKS = 2048;

  /** Rounds blocks {@code b0..b1} of {@code x[xOffset..]} to Q8_0: levels, scales, and for Q4_0 the offsets and nibble levels. */
  private static void q8Blocks(float[] x, int xOffset, int b0, int b1, float[] q, short[] levels, float[] scales,
      short[] offsets, short[] nibbleLevels) {
    for (int b = b0; b < b1; b++) {
      int o = 32 * b;
      scales[b] = ActivationQuantizer.q8_0Block(x, xOffset + o, q, o);
      int sum = 0;
      for (int j = 0; j < 32; j++) {
        levels[o + j] = (short) q[o + j];
        sum += levels[o + j];
      }
      if (offsets != null) {
        offsets[b] = (short) (-8 * sum);
        for (int j = 0; j < 16; j++) {
          nibbleLevels[o + j] = levels[o + j];
          nibbleLevels[o + 16 + j] = (short) (levels[o + 16 + j] - 16 * levels[o + j]);
        }
      }
    }
  }

  /** {@link #prepare}, rounding large Q8_0/Q4_0 inputs on {@code pool} (null: on the caller). */
  static Activations prepare(WeightType type, ActivationMode mode, float[] x, int xOffset, int cols, int count,
      ComputePool pool) {
    if (xOffset < 0 || (long) xOffset + (long) cols * count > x.length) {
      throw new IndexOutOfBoundsException(
          count + " input vectors of " + cols + " from offset " + xOffset + " exceed array length " + x.length);
    }
    int n = cols * count;
    return switch (type) {
      case F32 -> new Activations(x, xOffset, cols, count, null, null);
      case F16, BF16 -> {
        if (mode == ActivationMode.FP32) {
          yield new Activations(x, xOffset, cols, count, null, null);
        }
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
          r[i] = type == WeightType.F16 ? HalfFloats.roundF16(x[xOffset + i]) : HalfFloats.roundBf16(x[xOffset + i]);
        }
        yield new Activations(r, 0, cols, count, null, null);
      }
      case Q8_0, Q4_0 -> {
        int blocks = n / 32;
        float[] scales = new float[blocks];
        if (mode == ActivationMode.FP32) {
          java.util.Arrays.fill(scales, 1f);
          yield new Activations(x, xOffset, cols, count, scales, null);
        }
        float[] q = new float[n];
        short[] levels = new short[n];
        short[] offsets = type == WeightType.Q4_0 ? new short[blocks] : null;
        short[] nibbleLevels = type == WeightType.Q4_0 ? new short[n] : null;
        if (pool != null && blocks >= PARALLEL_BLOCKS) {
          pool.forRange(blocks, (b0, b1) -> q8Blocks(x, xOffset, b0, b1, q, levels, scales, offsets, nibbleLevels));
        } else {
          q8Blocks(x, xOffset, 0, blocks, q, levels, scales, offsets, nibbleLevels);
        }
        yield new Activations(q, 0, cols, count, scales, null, levels, offsets, nibbleLevels);
      }
      case Q4_K, Q5_K, Q6_K -> {
        int blocks = n / 256;
        float[] scales = new float[blocks];
        float[] values = x;
        int offset = xOffset;
        if (mode == ActivationMode.FP32) {
          java.util.Arrays.fill(scales, 1f);
        } else {
          values = new float[n];
          offset = 0;
          for (int b = 0; b < blocks; b++) {
            scales[b] = ActivationQuantizer.q8KBlock(x, xOffset + 256 * b, values, 256 * b);
          }
        }
        float[] sums = null;
        if (type != WeightType.Q6_K) {
          sums = new float[n / 32];
          for (int g = 0; g < sums.length; g++) {
            float s = 0;
            for (int j = 0; j < 32; j++) {
              s += values[offset + 32 * g + j];
            }
            sums[g] = s;
          }
        }
        yield new Activations(values, offset, cols, count, scales, sums);
      }
    };
  }
}
