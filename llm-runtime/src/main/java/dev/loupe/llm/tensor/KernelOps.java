package dev.loupe.llm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Dot products of one weight row (ggml block layout, see {@link BlockCodec}) with prepared input
 * vectors ({@link Activations}): the inner loop of every matmul.
 *
 * <p>A row of {@code cols} elements starts at byte {@code offset} of {@code w}; {@code cols} is a
 * multiple of the type's block size. {@link ScalarKernelOps} is the reference, {@link
 * PanamaKernelOps} the Vector API fast path; {@link KernelOpsProvider} picks one per JVM.
 * Implementations are stateless and thread-safe.
 */
interface KernelOps {

  /** {@code Σ row[i]·x_v[i]}, with the activation scales of vector {@code v} applied. */
  float dot(WeightType type, MemorySegment w, long offset, int cols, Activations a, int v);

  /**
   * {@link #dot} for every vector of {@code a}, into {@code out[outOffset + v·outStride]}. Fast
   * paths read the row once for several vectors.
   */
  default void dotAll(WeightType type, MemorySegment w, long offset, int cols, Activations a,
      float[] out, int outOffset, int outStride) {
    for (int v = 0; v < a.count; v++) {
      out[outOffset + v * outStride] = dot(type, w, offset, cols, a, v);
    }
  }

  /**
   * Whether {@link #dotGroup} is implemented for {@code type}; {@link WeightMatrix#forMode}
   * interleaves matrices of that type for the integer activation modes only then.
   */
  default boolean interleaves(WeightType type) {
    return false;
  }

  /**
   * The dot products of group {@code g} of an interleaved matrix ({@link Q4_0Interleaved}, {@link
   * Q8_0Interleaved}) with every vector of {@code a} (integer levels; for Q4_0 also {@link
   * Activations#offsets} and {@link Activations#nibbleLevels}): row {@code 32g + r} with vector
   * {@code v} into {@code out[outOffset + v·outStride + r]} for the group's real rows. Per row and
   * vector, in block order, {@code s = s + (float) isum_b · (d_b · xs_b)} from {@code s = 0}, where
   * {@code isum_b} is the block's exact integer sum: the bits of {@link ScalarKernelOps#dot} on the
   * same levels.
   */
  default void dotGroup(InterleavedRows m, int g, Activations a, float[] out, int outOffset, int outStride) {
    throw new UnsupportedOperationException(this + " has no kernel for interleaved matrices");
  }

  /** {@code Σ a[ao+i]·b[bo+i]} over {@code i < n} (attention's q·k); one summation order per implementation. */
  default float dot(float[] a, int ao, float[] b, int bo, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) {
      s += a[ao + i] * b[bo + i];
    }
    return s;
  }

  /**
   * {@code y[yo+i] += p·x[xo+i]} over {@code i < n} (attention's weighted sum of values), each
   * element a product then a sum, so every implementation gives the same bits.
   */
  default void axpy(float p, float[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] += p * x[xo + i];
    }
  }

  /**
   * {@code Σ a[ao+i]·h(b[bo+i])} over {@code i < n}, {@code h} the fp16 value of a short (attention's
   * q·k over an F16 cache); one summation order per implementation.
   */
  default float dotHalf(float[] a, int ao, short[] b, int bo, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) {
      s += a[ao + i] * Float.float16ToFloat(b[bo + i]);
    }
    return s;
  }

  /**
   * {@code y[yo+i] += p·h(x[xo+i])} over {@code i < n}, {@code h} the fp16 value of a short
   * (attention's weighted sum over an F16 cache): each element a product then a sum, so every
   * implementation gives the same bits.
   */
  default void axpyHalf(float p, short[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] += p * Float.float16ToFloat(x[xo + i]);
    }
  }

  /** The implementation chosen for this JVM. */
  static KernelOps get() {
    return KernelOpsProvider.INSTANCE;
  }
}
