package dev.loupe.gpu;

/**
 * The decode-step kernels of {@code llm.cu}, for the LLM runtime's CUDA backend ({@code
 * dev.loupe.llm.cuda}): Q8_0, Q4_0 and Q4_K matrix-vector products, RMSNorm, SwiGLU, RoPE and one step of
 * attention over an fp16 KV cache, and the "at" variants ({@link #embed}, {@link #ropeAt}, {@link
 * #storeKv}, {@link #attentionAt}) that read the token and the position from device memory, so that
 * one captured graph replays for every token. The "rows" variants and {@link #matmul} do the same for a batch of
 * tokens (prefill), each token's arithmetic in the decode kernels' order, so that a batch gives the
 * results of as many single steps bit for bit. Each method queues one launch on the given stream, so a whole decode step can be
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
  private final Kernel q8, q4, q4k, rmsnorm, swiglu, rope, attention;
  private final Kernel attentionAt, embed, add, ropeAt, kvStore;
  private final Kernel mm8, mm4, mm4k, embedRows, addRows, ropeRows, kvStoreRows, attentionRows;

  /** Loads the kernels into {@code context}. */
  public LlmKernels(GpuContext context) {
    module = context.loadModule("llm");
    q8 = module.kernel("loupe_matvec_q8_0");
    q4 = module.kernel("loupe_matvec_q4_0");
    q4k = module.kernel("loupe_matvec_q4_k");
    rmsnorm = module.kernel("loupe_rmsnorm");
    swiglu = module.kernel("loupe_swiglu");
    rope = module.kernel("loupe_rope");
    attention = module.kernel("loupe_attention_f16");
    attentionAt = module.kernel("loupe_attention_f16_at");
    embed = module.kernel("loupe_embed");
    add = module.kernel("loupe_add_f32");
    ropeAt = module.kernel("loupe_rope_at");
    kvStore = module.kernel("loupe_kv_store_f16");
    mm8 = module.kernel("loupe_matmul_q8_0");
    mm4 = module.kernel("loupe_matmul_q4_0");
    mm4k = module.kernel("loupe_matmul_q4_k");
    embedRows = module.kernel("loupe_embed_rows");
    addRows = module.kernel("loupe_add_rows");
    ropeRows = module.kernel("loupe_rope_rows");
    kvStoreRows = module.kernel("loupe_kv_store_rows");
    attentionRows = module.kernel("loupe_attention_f16_rows");
  }

  /** Tokens a matrix-matrix launch's block takes together: each weight block is read once per this many. */
  public static final int MATMUL_TILE = 8;

  /** Most positions {@link #attention}/{@link #attentionAt} take (their scores sit in 48 KiB of shared memory). */
  public static final int MAX_POSITIONS = 12_000;

  /** An embedding table's element type, by its ggml type id. */
  public enum TableType {
    F32(0), F16(1), Q4_0(2), Q8_0(8);

    /** The ggml type id the kernel takes. */
    public final int ggmlId;

    TableType(int ggmlId) {
      this.ggmlId = ggmlId;
    }

    /** Bytes of a row of {@code dim} elements. */
    public long rowBytes(int dim) {
      return switch (this) {
        case F32 -> 4L * dim;
        case F16 -> 2L * dim;
        case Q4_0 -> dim / 32 * 18L;
        case Q8_0 -> dim / 32 * 34L;
      };
    }
  }

  /**
   * {@code out[0..dim) = table[token[0]]}, dequantized to fp32, the token read from the device
   * ({@code token} holds one int32 below {@code rows}; the kernel does not check it).
   */
  public void embed(CudaStream stream, TableType type, DeviceBuffer table, int rows, DeviceBuffer token, DeviceBuffer out, int dim) {
    if (rows < 1 || dim < 1 || (type != TableType.F32 && type != TableType.F16 && dim % 32 != 0)) {
      throw new IllegalArgumentException("embedding table of " + rows + " rows of " + dim + " " + type
          + " needs positive sizes and, quantized, a width that is a multiple of 32");
    }
    need(table, rows * type.rowBytes(dim), "table");
    need(token, 4, "token");
    need(out, 4L * dim, "output");
    embed.launch(stream, Kernel.grid(Math.min(1024, (dim + BLOCK - 1) / BLOCK)), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(table).i32(type.ggmlId).pointer(token).pointer(out).i32(dim));
  }

  /** {@code y[i] += x[i]} for {@code i < n} (residual connections, biases). */
  public void add(CudaStream stream, DeviceBuffer y, DeviceBuffer x, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("add length " + n + " must be positive");
    }
    need(y, 4L * n, "output");
    need(x, 4L * n, "input");
    add.launch(stream, Kernel.grid(Math.min(1024, (n + BLOCK - 1) / BLOCK)), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(y).pointer(x).i32(n));
  }

  /**
   * As {@link #rope} at the position {@code pos[0]} read from the device, with the angle of pair
   * {@code p} computed as the CPU backend does: {@code freqScale · (pos · thetaScale^p) / factors[p]}
   * (the power by repeated float multiplication), {@code thetaScale = base^(-2 / ropeDim)}.
   */
  public void ropeAt(CudaStream stream, DeviceBuffer x, int heads, int headDim, int ropeDim, DeviceBuffer pos, float thetaScale,
      float freqScale, DeviceBuffer factors, boolean neox) {
    if (heads < 1 || ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || ropeDim / 2 > 1024) {
      throw new IllegalArgumentException("rope of " + heads + " heads of " + headDim + " (rotating " + ropeDim
          + ") needs an even rotated dimension within the head");
    }
    need(x, 4L * heads * headDim, "input");
    need(pos, 4, "position");
    if (factors != null) need(factors, 2L * ropeDim, "frequency factors");
    ropeAt.launch(stream, Kernel.grid(heads), Kernel.block(Math.max(32, ropeDim / 2)), 0,
        Kernel.args().pointer(x).i32(headDim).i32(ropeDim).pointer(pos).f32(thetaScale).f32(freqScale).pointer(factors)
            .i32(neox ? 1 : 0));
  }

  /**
   * Writes {@code k[0..kDim)} and {@code v[0..vDim)} as fp16 to row {@code pos[0]} of one layer's
   * cache ({@code keys} {@code [maxPositions][kDim]}, {@code values} {@code [maxPositions][vDim]}, given
   * as device pointers so a layer's slice of a larger buffer serves).
   */
  public void storeKv(CudaStream stream, DeviceBuffer k, DeviceBuffer v, long keys, long values, DeviceBuffer pos, int kDim, int vDim) {
    if (kDim < 1 || vDim < 1) {
      throw new IllegalArgumentException("key width " + kDim + " and value width " + vDim + " must be positive");
    }
    need(k, 4L * kDim, "key");
    need(v, 4L * vDim, "value");
    need(pos, 4, "position");
    int n = Math.max(kDim, vDim);
    kvStore.launch(stream, Kernel.grid(Math.min(1024, (n + BLOCK - 1) / BLOCK)), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(k).pointer(v).pointer(keys).pointer(values).pointer(pos).i32(kDim).i32(vDim));
  }

  /**
   * As {@link #attention} over the first {@code pos[0] + 1} positions (read from the device, at most
   * {@code maxPositions}); {@code keys}/{@code values} are device pointers to one layer's cache.
   */
  public void attentionAt(CudaStream stream, DeviceBuffer q, long keys, long values, DeviceBuffer out, int heads, int kvHeads,
      int headDim, DeviceBuffer pos, int maxPositions) {
    if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1 || maxPositions < 1 || maxPositions > MAX_POSITIONS) {
      throw new IllegalArgumentException("attention of " + heads + " heads over " + kvHeads + " kv heads of " + headDim + " over up to "
          + maxPositions + " positions needs heads a multiple of kv heads and 1.." + MAX_POSITIONS + " positions");
    }
    need(q, 4L * heads * headDim, "query");
    need(out, 4L * heads * headDim, "output");
    need(pos, 4, "position");
    attentionAt.launch(stream, Kernel.grid(heads), Kernel.block(BLOCK), 4 * maxPositions,
        Kernel.args().pointer(q).pointer(keys).pointer(values).pointer(out).i32(heads).i32(kvHeads).i32(headDim).pointer(pos)
            .i32(maxPositions));
  }

  /** A weight matrix's block format. */
  public enum Quant {
    Q8_0(34, 32),
    Q4_0(18, 32),
    /** ggml's block_q4_K: super-blocks of 256 elements in 144 bytes (18 bytes per 32, as Q4_0). */
    Q4_K(18, 256);

    /** Bytes per 32 elements. */
    public final int blockBytes;
    /** The number of elements a row's length must be a multiple of. */
    public final int rowMultiple;

    Quant(int blockBytes, int rowMultiple) {
      this.blockBytes = blockBytes;
      this.rowMultiple = rowMultiple;
    }

    /** Bytes of a {@code rows × cols} matrix. */
    public long bytes(int rows, int cols) {
      return (long) rows * (cols / 32) * blockBytes;
    }
  }

  /** {@code y[r] = Σ_c W[r][c] · x[c]} for {@code r < rows}; {@code cols} a multiple of 32 (256 for Q4_K). */
  public void matvec(CudaStream stream, Quant quant, DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int rows, int cols) {
    if (rows < 1 || cols < quant.rowMultiple || cols % quant.rowMultiple != 0) {
      throw new IllegalArgumentException("matrix " + rows + " x " + cols + " of " + quant + " needs rows >= 1 and columns a positive multiple of "
          + quant.rowMultiple);
    }
    need(w, quant.bytes(rows, cols), "weights");
    need(x, 4L * cols, "input");
    need(y, 4L * rows, "output");
    Kernel k = switch (quant) {
      case Q8_0 -> q8;
      case Q4_0 -> q4;
      case Q4_K -> q4k;
    };
    k.launch(stream, Kernel.grid((rows + BLOCK / 32 - 1) / (BLOCK / 32)), Kernel.block(BLOCK), 0,
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

  // ---------------------------------------------------------------- batched prefill

  /**
   * {@code Y[t][r] = Σ_c W[r][c] · X[t][c]} for {@code t < n} tokens ({@code X} {@code [n][cols]},
   * {@code Y} {@code [n][rows]}): a warp per row as in {@link #matvec}, each lane unpacking a weight
   * block once for {@value #MATMUL_TILE} tokens; every (row, token) is summed as {@link #matvec} sums it.
   */
  public void matmul(CudaStream stream, Quant quant, DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int rows, int cols, int n) {
    if (rows < 1 || n < 1 || cols < quant.rowMultiple || cols % quant.rowMultiple != 0) {
      throw new IllegalArgumentException("matrix " + rows + " x " + cols + " of " + quant + " times " + n
          + " tokens needs rows and tokens >= 1 and columns a positive multiple of " + quant.rowMultiple);
    }
    need(w, quant.bytes(rows, cols), "weights");
    need(x, 4L * cols * n, "input");
    need(y, 4L * rows * n, "output");
    Kernel k = switch (quant) {
      case Q8_0 -> mm8;
      case Q4_0 -> mm4;
      case Q4_K -> mm4k;
    };
    k.launch(stream, Kernel.grid((rows + BLOCK / 32 - 1) / (BLOCK / 32), (n + MATMUL_TILE - 1) / MATMUL_TILE), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(w).pointer(x).pointer(y).i32(rows).i32(cols).i32(n));
  }

  /** {@code out[t] = table[tokens[t]]} for {@code t < n}, as {@link #embed} looks up one row. */
  public void embedRows(CudaStream stream, TableType type, DeviceBuffer table, int rows, DeviceBuffer tokens, DeviceBuffer out, int dim,
      int n) {
    if (rows < 1 || dim < 1 || n < 1 || (type != TableType.F32 && type != TableType.F16 && dim % 32 != 0)) {
      throw new IllegalArgumentException("embedding table of " + rows + " rows of " + dim + " " + type + " for " + n
          + " tokens needs positive sizes and, quantized, a width that is a multiple of 32");
    }
    need(table, rows * type.rowBytes(dim), "table");
    need(tokens, 4L * n, "tokens");
    need(out, 4L * dim * n, "output");
    embedRows.launch(stream, Kernel.grid(Math.min(1024, (dim + BLOCK - 1) / BLOCK), n), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(table).i32(type.ggmlId).pointer(tokens).pointer(out).i32(dim));
  }

  /** {@code y[t][i] += b[i]} for {@code t < n}, {@code i < dim} (a bias over a batch). */
  public void addRows(CudaStream stream, DeviceBuffer y, DeviceBuffer b, int dim, int n) {
    if (dim < 1 || n < 1) {
      throw new IllegalArgumentException("adding a row of " + dim + " to " + n + " rows needs both positive");
    }
    need(y, 4L * dim * n, "output");
    need(b, 4L * dim, "row");
    addRows.launch(stream, Kernel.grid(Math.min(1024, (int) Math.min(Integer.MAX_VALUE, ((long) dim * n + BLOCK - 1) / BLOCK))),
        Kernel.block(BLOCK), 0, Kernel.args().pointer(y).pointer(b).i32(dim).i32(n));
  }

  /**
   * As {@link #ropeAt} for {@code n} tokens at positions {@code pos0, pos0 + 1, ...}; {@code x} is
   * {@code [n][heads][headDim]}.
   */
  public void ropeRows(CudaStream stream, DeviceBuffer x, int heads, int headDim, int ropeDim, int pos0, float thetaScale, float freqScale,
      DeviceBuffer factors, boolean neox, int n) {
    if (heads < 1 || n < 1 || pos0 < 0 || ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || ropeDim / 2 > 1024) {
      throw new IllegalArgumentException("rope of " + n + " tokens of " + heads + " heads of " + headDim + " (rotating " + ropeDim
          + ") at position " + pos0 + " needs an even rotated dimension within the head and positive counts");
    }
    need(x, 4L * heads * headDim * n, "input");
    if (factors != null) need(factors, 2L * ropeDim, "frequency factors");
    ropeRows.launch(stream, Kernel.grid(heads, n), Kernel.block(Math.max(32, ropeDim / 2)), 0,
        Kernel.args().pointer(x).i32(headDim).i32(ropeDim).i32(pos0).f32(thetaScale).f32(freqScale).pointer(factors).i32(neox ? 1 : 0));
  }

  /**
   * As {@link #storeKv} for {@code n} tokens ({@code k} {@code [n][kDim]}, {@code v} {@code [n][vDim]})
   * into rows {@code pos0 .. pos0 + n} of one layer's cache.
   */
  public void storeKvRows(CudaStream stream, DeviceBuffer k, DeviceBuffer v, long keys, long values, int pos0, int kDim, int vDim, int n) {
    if (kDim < 1 || vDim < 1 || n < 1 || pos0 < 0) {
      throw new IllegalArgumentException("storing " + n + " keys of " + kDim + " and values of " + vDim + " at position " + pos0
          + " needs positive sizes and a position >= 0");
    }
    need(k, 4L * kDim * n, "key");
    need(v, 4L * vDim * n, "value");
    int width = Math.max(kDim, vDim);
    kvStoreRows.launch(stream, Kernel.grid(Math.min(1024, (width + BLOCK - 1) / BLOCK), n), Kernel.block(BLOCK), 0,
        Kernel.args().pointer(k).pointer(v).pointer(keys).pointer(values).i32(pos0).i32(kDim).i32(vDim));
  }

  /**
   * Causal attention of {@code n} tokens at positions {@code pos0 ..} (their keys and values stored):
   * token {@code t} attends to the first {@code pos0 + t + 1} positions, as {@link #attentionAt}
   * does for one. {@code q} and {@code out} are {@code [n][heads][headDim]}.
   */
  public void attentionRows(CudaStream stream, DeviceBuffer q, long keys, long values, DeviceBuffer out, int heads, int kvHeads,
      int headDim, int pos0, int n) {
    if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1 || n < 1 || pos0 < 0 || pos0 + n > MAX_POSITIONS) {
      throw new IllegalArgumentException("attention of " + n + " tokens at position " + pos0 + " with " + heads + " heads over " + kvHeads
          + " kv heads of " + headDim + " needs heads a multiple of kv heads and at most " + MAX_POSITIONS + " positions");
    }
    need(q, 4L * heads * headDim * n, "query");
    need(out, 4L * heads * headDim * n, "output");
    attentionRows.launch(stream, Kernel.grid(heads, n), Kernel.block(BLOCK), 4 * (pos0 + n),
        Kernel.args().pointer(q).pointer(keys).pointer(values).pointer(out).i32(heads).i32(kvHeads).i32(headDim).i32(pos0));
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
