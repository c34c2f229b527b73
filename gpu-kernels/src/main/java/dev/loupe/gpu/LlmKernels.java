package dev.loupe.gpu;

/**
 * The decode-step kernels of {@code llm.cu}, for the LLM runtime's CUDA backend (not written yet):
 * Q8_0 and Q4_0 matrix-vector products, RMSNorm, SwiGLU, RoPE and one step of attention over an
 * fp16 KV cache. Each method queues one launch on the given stream, so a whole decode step can be
 * captured into a {@link CudaGraph} ({@link CudaStream#beginCapture()}) and replayed per token.
 *
 * <p><b>Layouts.</b> Activations are fp32, row-major. Weights are ggml blocks, rows back to back
 * without padding: Q8_0 has {@code cols / 32} blocks of 34 bytes a row (fp16 scale, 32 int8), Q4_0
 * blocks of 18 bytes (fp16 scale, 16 bytes of nibbles: element {@code j < 16} the low nibble of
 * byte {@code j}, {@code j + 16} its high nibble, value {@code (nibble - 8) · scale}). The KV cache
 * holds, per layer, keys and values as {@code [position][kvHeads · headDim]} fp16.
 *
 * <p>Arguments are checked here and name the offending value; device buffers are the caller's.
 * Thread safety: as {@link Kernel} (launches on different streams may come from different threads).
 */
public final class LlmKernels implements AutoCloseable {
  private static final int BLOCK = 256;

  private final CudaModule module;
  private final Kernel q8, q4, rmsnorm, swiglu, rope, attention;

  /** Loads the kernels into {@code context}. */
  public LlmKernels(GpuContext context) {
    module = context.loadModule("llm");
    q8 = module.kernel("loupe_matvec_q8_0");
    q4 = module.kernel("loupe_matvec_q4_0");
    rmsnorm = module.kernel("loupe_rmsnorm");
    swiglu = module.kernel("loupe_swiglu");
    rope = module.kernel("loupe_rope");
    attention = module.kernel("loupe_attention_f16");
  }

  /** A weight matrix's block format. */
  public enum Quant {
    Q8_0(34),
    Q4_0(18);

    /** Bytes per block of 32 elements. */
    public final int blockBytes;

    Quant(int blockBytes) {
      this.blockBytes = blockBytes;
    }

    /** Bytes of a {@code rows × cols} matrix. */
    public long bytes(int rows, int cols) {
      return (long) rows * (cols / 32) * blockBytes;
    }
  }

  /** {@code y[r] = Σ_c W[r][c] · x[c]} for {@code r < rows}; {@code cols} a multiple of 32. */
  public void matvec(CudaStream stream, Quant quant, DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int rows, int cols) {
    if (rows < 1 || cols < 32 || cols % 32 != 0) {
      throw new IllegalArgumentException("matrix " + rows + " x " + cols + " needs rows >= 1 and columns a positive multiple of 32");
    }
    need(w, quant.bytes(rows, cols), "weights");
    need(x, 4L * cols, "input");
    need(y, 4L * rows, "output");
    (quant == Quant.Q8_0 ? q8 : q4).launch(stream, Kernel.grid((rows + BLOCK / 32 - 1) / (BLOCK / 32)), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(w).pointer(x).pointer(y).i32(rows).i32(cols));
  }

  /** {@code y = x / sqrt(mean(x²) + eps) · weight} for each of {@code rows} rows of {@code n}. */
  public void rmsnorm(CudaStream stream, DeviceBuffer x, DeviceBuffer weight, DeviceBuffer y, int rows, int n, float eps) {
    if (rows < 1 || n < 1) {
      throw new IllegalArgumentException("rmsnorm of " + rows + " rows of " + n + " needs both positive");
    }
    need(x, 4L * rows * n, "input");
    need(weight, 4L * n, "weight");
    need(y, 4L * rows * n, "output");
    rmsnorm.launch(stream, Kernel.grid(rows), Kernel.block(BLOCK), 0, Kernel.args().pointer(x).pointer(weight).pointer(y).i32(n).f32(eps));
  }

  /** {@code out[i] = silu(gate[i]) · up[i]} for {@code i < n}. */
  public void swiglu(CudaStream stream, DeviceBuffer gate, DeviceBuffer up, DeviceBuffer out, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("swiglu length " + n + " must be positive");
    }
    need(gate, 4L * n, "gate");
    need(up, 4L * n, "up");
    need(out, 4L * n, "output");
    swiglu.launch(stream, Kernel.grid(Math.min(1024, (n + BLOCK - 1) / BLOCK)), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(gate).pointer(up).pointer(out).i32(n));
  }

  /**
   * Rotates the first {@code ropeDim} components of each of {@code heads} vectors of {@code headDim}
   * in {@code x} for position {@code pos}: pair {@code p} by {@code pos · theta^(-2p / ropeDim) /
   * factors[p]} ({@code factors} null: 1); {@code neox} pairs {@code (p, p + ropeDim / 2)}, else
   * {@code (2p, 2p + 1)}.
   */
  public void rope(CudaStream stream, DeviceBuffer x, int heads, int headDim, int ropeDim, int pos, float theta, DeviceBuffer factors,
      boolean neox) {
    if (heads < 1 || ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || ropeDim / 2 > 1024 || pos < 0) {
      throw new IllegalArgumentException("rope of " + heads + " heads of " + headDim + " (rotating " + ropeDim + ") at position "
          + pos + " needs an even rotated dimension within the head and a position >= 0");
    }
    need(x, 4L * heads * headDim, "input");
    if (factors != null) need(factors, 2L * ropeDim, "frequency factors");
    rope.launch(stream, Kernel.grid(heads), Kernel.block(Math.max(32, ropeDim / 2)), 0,
        Kernel.args().pointer(x).i32(headDim).i32(ropeDim).i32(pos).f32(theta).pointer(factors).i32(neox ? 1 : 0));
  }

  /**
   * One decode step of attention: for each head, softmax over the first {@code positions} cached
   * keys of {@code q_h · k_t / sqrt(headDim)}, then the weighted sum of the cached values; head
   * {@code h} reads kv head {@code h / (heads / kvHeads)}.
   */
  public void attention(CudaStream stream, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values, DeviceBuffer out, int heads,
      int kvHeads, int headDim, int positions) {
    if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1 || positions < 1 || positions > 12_000) {
      throw new IllegalArgumentException("attention of " + heads + " heads over " + kvHeads + " kv heads of " + headDim + " at "
          + positions + " positions needs heads a multiple of kv heads and 1..12000 positions");
    }
    long kv = 2L * positions * kvHeads * headDim;
    need(q, 4L * heads * headDim, "query");
    need(keys, kv, "keys");
    need(values, kv, "values");
    need(out, 4L * heads * headDim, "output");
    attention.launch(stream, Kernel.grid(heads), Kernel.block(BLOCK), 4 * positions,
        Kernel.args().pointer(q).pointer(keys).pointer(values).pointer(out).i32(heads).i32(kvHeads).i32(headDim).i32(positions));
  }

  private static void need(DeviceBuffer b, long bytes, String what) {
    if (b.bytes() < bytes) {
      throw new IllegalArgumentException(what + " buffer of " + b.bytes() + " bytes is smaller than the " + bytes + " bytes needed");
    }
  }

  @Override
  public void close() {
    module.close();
  }
}
