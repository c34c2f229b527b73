package dev.loupe.llm.tensor;

/**
 * The inner loops of attention over an F32 or F16 KV cache and the feed-forward's SwiGLU, on this
 * JVM's kernels ({@link KernelOpsProvider}: the Vector API where it runs, else scalar loops).
 * Every implementation gives the same bits (but for the order of softmax's sum, one per
 * implementation), whatever tier of the JIT runs it, so a batched prefill and token-by-token
 * decoding agree. Stateless and thread-safe.
 */
public final class FloatRows {
  /**
   * Positions per block of the KV cache: a block holds the keys of 16 consecutive positions
   * dimension-major, {@code [dimension][position]}, so one query's scores for the 16 are computed
   * lane = position with no sum across lanes ({@link #dotColumns}), and their values row by row,
   * {@code [position][dimension]} ({@link #axpyRows}).
   */
  public static final int KEY_BLOCK = 16;

  private FloatRows() {}

  /**
   * {@code out[oo+j] = Σ_d q[qo+d]·k[ko + d·KEY_BLOCK + j]} for {@code j < KEY_BLOCK}: one query
   * against a block of keys ({@link KernelOps#dotColumns} gives the summation order).
   */
  public static void dotColumns(float[] q, int qo, float[] k, int ko, int dims, float[] out, int oo) {
    KernelOps.get().dotColumns(q, qo, k, ko, dims, out, oo);
  }

  /**
   * {@code y[yo+i] += p[po+r]·x[xo + r·n + i]} for each row {@code r < rows} in order, over
   * {@code i < n}: a block of value rows {@code [row][n]} weighted by their probabilities.
   */
  public static void axpyRows(float[] p, int po, int rows, float[] x, int xo, float[] y, int yo, int n) {
    KernelOps.get().axpyRows(p, po, rows, x, xo, y, yo, n);
  }

  /**
   * {@code out[oo+i] = h(x[xo+i])} over {@code i < n}, {@code h} = {@link Float#float16ToFloat}
   * (exact, infinities and NaN included). A plain loop: C2 compiles it to the CPU's vector
   * conversion (F16C {@code vcvtph2ps}, 16 halves an instruction with AVX-512), four times the
   * speed of decoding the bits with the Vector API.
   */
  public static void halfToFloat(short[] x, int xo, float[] out, int oo, int n) {
    for (int i = 0; i < n; i++) {
      out[oo + i] = Float.float16ToFloat(x[xo + i]);
    }
  }

  /** {@code s[so+j] = e^(s[so+j] − max)} for {@code j < n}, returning their sum ({@link KernelOps#expShifted}). */
  public static double expShifted(float[] s, int so, int n, float max) {
    return KernelOps.get().expShifted(s, so, n, max);
  }

  /** {@code gate[i] = silu(gate[i])·up[i]} over {@code from ≤ i < to} ({@link KernelOps#swiGlu}). */
  public static void swiGlu(float[] gate, float[] up, int from, int to) {
    KernelOps.get().swiGlu(gate, up, from, to);
  }
}
