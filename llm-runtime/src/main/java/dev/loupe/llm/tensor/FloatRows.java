package dev.loupe.llm.tensor;

/**
 * Dot products and scaled additions of float rows, the inner loops of attention over an F32 or
 * F16 KV cache, on this JVM's kernels ({@link KernelOpsProvider}: the Vector API where it runs, else
 * scalar loops). Each implementation has one summation order whatever compiles it, so a batched
 * prefill and token-by-token decoding give the same bits. Stateless and thread-safe.
 */
public final class FloatRows {
  private FloatRows() {}

  /** {@code Σ a[ao+i]·b[bo+i]} over {@code i < n}. */
  public static float dot(float[] a, int ao, float[] b, int bo, int n) {
    return KernelOps.get().dot(a, ao, b, bo, n);
  }

  /** {@code y[yo+i] += p·x[xo+i]} over {@code i < n}. */
  public static void axpy(float p, float[] x, int xo, float[] y, int yo, int n) {
    KernelOps.get().axpy(p, x, xo, y, yo, n);
  }

  /** {@code Σ a[ao+i]·h(b[bo+i])} over {@code i < n}, {@code h(s)} = {@link Float#float16ToFloat}. */
  public static float dotHalf(float[] a, int ao, short[] b, int bo, int n) {
    return KernelOps.get().dotHalf(a, ao, b, bo, n);
  }

  /** {@code y[yo+i] += p·h(x[xo+i])} over {@code i < n}, {@code h(s)} = {@link Float#float16ToFloat}: the bits of the scalar loop. */
  public static void axpyHalf(float p, short[] x, int xo, float[] y, int yo, int n) {
    KernelOps.get().axpyHalf(p, x, xo, y, yo, n);
  }
}
