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

  /**
   * {@code out[oo+j] = Σ_d q[qo+d]·k[ko + d·B + j]} for {@code j < B}, {@code B} = {@link
   * FloatRows#KEY_BLOCK}: attention's q·k of one query with a block of B keys stored
   * dimension-major (the B positions side by side for each of the {@code dims} dimensions). Each
   * sum is four chains of fused multiply-adds, over the dimensions {@code d ≡ 0, 1, 2, 3 (mod 4)} in order (the last
   * {@code dims mod 4} dimensions go to the first chain), added as {@code (c0 + c1) + (c2 + c3)}:
   * one position per lane, so every implementation gives the same bits and no lanes are summed.
   */
  default void dotColumns(float[] q, int qo, float[] k, int ko, int dims, float[] out, int oo) {
    int whole = dims & ~3, b = FloatRows.KEY_BLOCK;
    for (int j = 0; j < b; j++) {
      float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      int d = 0;
      for (; d < whole; d += 4) {
        c0 = Math.fma(q[qo + d], k[ko + d * b + j], c0);
        c1 = Math.fma(q[qo + d + 1], k[ko + (d + 1) * b + j], c1);
        c2 = Math.fma(q[qo + d + 2], k[ko + (d + 2) * b + j], c2);
        c3 = Math.fma(q[qo + d + 3], k[ko + (d + 3) * b + j], c3);
      }
      for (; d < dims; d++) {
        c0 = Math.fma(q[qo + d], k[ko + d * b + j], c0);
      }
      out[oo + j] = (c0 + c1) + (c2 + c3);
    }
  }

  /**
   * {@code y[yo+i] += p[po+r]·x[xo + r·n + i]} for each row {@code r < rows} in order, over
   * {@code i < n}: attention's weighted sum over a block of value rows. Each step is a product then
   * a sum, so every implementation gives the same bits, those of adding the rows one at a time.
   */
  default void axpyRows(float[] p, int po, int rows, float[] x, int xo, float[] y, int yo, int n) {
    for (int r = 0; r < rows; r++) {
      float pr = p[po + r];
      for (int i = 0; i < n; i++) {
        y[yo + i] += pr * x[xo + r * n + i];
      }
    }
  }

  /**
   * {@code s[so+j] = e^(s[so+j] − max)} for {@code j < n} ({@link FastExp}: the same bits in every
   * implementation, whatever {@code n}), returning their sum, in one order per implementation:
   * softmax's numerators and denominator.
   */
  default double expShifted(float[] s, int so, int n, float max) {
    double sum = 0;
    for (int j = 0; j < n; j++) {
      float e = FastExp.exp(s[so + j] - max);
      s[so + j] = e;
      sum += e;
    }
    return sum;
  }

  /**
   * {@code gate[i] = silu(gate[i])·up[i]} over {@code from ≤ i < to}, {@code silu(g) = g / (1 + e^−g)}
   * with {@link FastExp}: the feed-forward's SwiGLU. Each element is computed alone, with the same
   * bits in every implementation, so a batch split across threads gives the bits of one call.
   */
  default void swiGlu(float[] gate, float[] up, int from, int to) {
    for (int i = from; i < to; i++) {
      float g = gate[i];
      gate[i] = g / (1f + FastExp.exp(-g)) * up[i];
    }
  }

  /** The implementation chosen for this JVM. */
  static KernelOps get() {
    return KernelOpsProvider.INSTANCE;
  }
}
