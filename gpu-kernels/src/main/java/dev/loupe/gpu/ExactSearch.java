package dev.loupe.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Launches the exact-search kernels of {@code exact_search.cu}: a fused scoring kernel that keeps
 * each block's best {@code k} per query, then a merge kernel that reduces those lists to the final
 * {@code k} per query. The scoring kernel multiplies fp32 queries on the CUDA cores ({@link
 * Precision#EXACT}, bandwidth-bound for a few queries) or, for batches that ask for it ({@link
 * Precision#TENSOR_CORES}), fp16 queries on the tensor cores. Scores follow the flat index's convention (dot, cosine on normalized
 * vectors, {@code 1 / (1 + d²)} for Euclidean); ties rank the lower row first.
 *
 * <p><b>Layout</b> ({@link Rows}): {@code n × dim} components row-major in one device buffer, fp16
 * (IEEE half, little-endian) or int8 with one fp32 scale per row; an fp32 squared norm per row;
 * optional tombstone bitmap (bit {@code r & 31} of 32-bit word {@code r >> 5}; 1 = deleted). The
 * optional filter bitmap has the same layout (1 = may be returned).
 *
 * <p><b>Thread safety.</b> {@link #search} is synchronized: one search at a time runs on this
 * object's stream, reusing its device workspace (grown on demand, freed by {@link #close()}).
 */
public final class ExactSearch implements AutoCloseable {
  /** Largest {@code k} the kernels keep. */
  public static final int MAX_K = 256;
  /** Threads per block of every kernel here (the .cu file's BLOCK). */
  static final int BLOCK = 256;
  /** Rows per top-k update (TILE) and queries per pass (MAX_QB) in the .cu file. */
  static final int TILE = 256, MAX_QB = 4;
  /** Dynamic shared memory a launch may use without opting in. */
  static final int SHARED_LIMIT = 48 * 1024;

  /** Component type of the stored rows. */
  public enum Element {
    F16(2, "loupe_score_f16"),
    I8(1, "loupe_score_i8");

    public final int bytes;
    final String kernel;

    Element(int bytes, String kernel) {
      this.bytes = bytes;
      this.kernel = kernel;
    }
  }

  /** How a row is scored; the codes are the kernel's {@code metric} argument. */
  public enum Metric {
    DOT,
    COSINE,
    L2
  }

  /**
   * The rows to search, owned by the caller.
   *
   * @param data {@code n × dim × element.bytes} bytes
   * @param scales {@code n} fp32 (int8 only; null for fp16)
   * @param norms2 {@code n} fp32 squared norms of the decoded rows
   * @param tombstones {@code ceil(n / 32)} 32-bit words, or null when nothing is deleted
   */
  public record Rows(Element element, DeviceBuffer data, DeviceBuffer scales, DeviceBuffer norms2, DeviceBuffer tombstones,
      int n, int dim) {
    public Rows {
      if (element == null || data == null || norms2 == null) {
        throw new IllegalArgumentException("element, data and norms2 must not be null");
      }
      if (n < 0 || dim < 1) {
        throw new IllegalArgumentException("rows " + n + " and dimension " + dim + " must be non-negative and positive");
      }
      if (element == Element.I8 && scales == null) {
        throw new IllegalArgumentException("int8 rows need their scales");
      }
      long need = (long) n * dim * element.bytes;
      if (data.bytes() < need || norms2.bytes() < 4L * n) {
        throw new IllegalArgumentException("device buffers of " + data.bytes() + " and " + norms2.bytes()
            + " bytes are too small for " + n + " rows of " + dim + " " + element);
      }
    }
  }

  /** How the queries of a search are multiplied with the rows. */
  public enum Precision {
    /** fp32 queries on the CUDA cores: scores as the CPU exact index computes them, up to summation order. */
    EXACT,
    /**
     * fp16 queries on the tensor cores ({@code loupe_score_f16_mma}) where {@link
     * #usesTensorCores} says the search qualifies (fp16 rows padded to {@link #paddedRows}, at
     * least {@link #MMA_MIN_BATCH} queries, {@code k ≤ 32}, dimension a multiple of 16), {@link
     * #EXACT} otherwise. Scores differ from exact ones by the queries' fp16 rounding.
     */
    TENSOR_CORES
  }

  /** Queries a batch needs before the tensor-core kernel pays. */
  public static final int MMA_MIN_BATCH = 32;
  /** The tensor-core kernel's query tile, row tile, largest k and score tile stride (the .cu file's MMA_*). */
  static final int MMA_QT = 64, MMA_RT = 128, MMA_K = 32, MMA_LD = MMA_RT + 4;

  /** Rows a data buffer must hold for the tensor-core kernel to search {@code n}: {@code n} rounded up to 128. */
  public static long paddedRows(long n) {
    return (n + MMA_RT - 1) / MMA_RT * MMA_RT;
  }

  /** Whether a search of {@code nq} queries for {@code k} in {@code rows} runs on the tensor cores under {@code precision}. */
  public static boolean usesTensorCores(Rows rows, int nq, int k, Precision precision) {
    return precision == Precision.TENSOR_CORES && rows.element() == Element.F16 && nq >= MMA_MIN_BATCH && k <= MMA_K
        && rows.dim() % 16 == 0 && rows.n() > 0 && rows.data().bytes() >= paddedRows(rows.n()) * rows.dim() * 2;
  }

  /** Per query, the best {@code k} rows (best first; -1 past the last match) and their scores. */
  public record Result(int[][] rows, float[][] scores) {}

  private final GpuContext context;
  private final CudaModule module;
  private final Kernel scoreF16, scoreI8, scoreMma, merge;
  private final CudaStream stream;
  // queries, qnorms, candidate scores, candidate rows, out scores, out rows, fp16 queries
  private final DeviceBuffer[] workspace = new DeviceBuffer[7];

  /** Loads the kernels into {@code context}. */
  public ExactSearch(GpuContext context) {
    this.context = context;
    this.module = context.loadModule("exact_search");
    this.scoreF16 = module.kernel(Element.F16.kernel);
    this.scoreI8 = module.kernel(Element.I8.kernel);
    this.scoreMma = module.kernel("loupe_score_f16_mma");
    this.merge = module.kernel("loupe_merge_topk");
    this.stream = context.createStream();
  }

  /** Which image the kernels came from ({@code exact_search sm_90 cubin} or {@code exact_search.ptx}). */
  public String moduleName() {
    return module.name();
  }

  /**
   * Scores every live row of {@code rows} that {@code filter} allows (null: all) against each
   * query and returns the best {@code k} per query.
   *
   * @param queries {@code nq} queries of {@code rows.dim()} fp32, normalized by the caller for cosine
   * @param filter a bitmap device buffer of {@code ceil(n / 32)} words, or null
   * @throws IllegalArgumentException for {@code k} outside {@code [1, MAX_K]} or a query of the wrong dimension
   */
  public synchronized Result search(Rows rows, float[][] queries, Metric metric, DeviceBuffer filter, int k) {
    return search(rows, queries, metric, filter, k, Precision.EXACT);
  }

  /** As {@link #search(Rows, float[][], Metric, DeviceBuffer, int)}, on the tensor cores where {@code precision} allows. */
  public synchronized Result search(Rows rows, float[][] queries, Metric metric, DeviceBuffer filter, int k, Precision precision) {
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException("k " + k + " is outside [1, " + MAX_K + "] for the GPU search");
    }
    int nq = queries.length, dim = rows.dim(), n = rows.n();
    if (nq == 0) {
      return new Result(new int[0][], new float[0][]);
    }
    if (n == 0) {
      return empty(nq, k);
    }
    boolean mma = usesTensorCores(rows, nq, k, precision);
    int groupMax = Math.max(1, Math.min(MAX_QB, SHARED_LIMIT / (4 * dim)));
    int gy = mma ? ceil(nq, MMA_QT) : groupMax == MAX_QB ? ceil(nq, MAX_QB) : 1;
    int tile = mma ? MMA_RT : TILE;
    int sms = Math.max(1, context.device().multiprocessors());
    int perSm = mma ? 4 : 8; // blocks each SM should get
    int blocks = Math.min(ceil(n, tile), Math.max(1, Math.min(perSm * sms / Math.min(gy, perSm * sms), 16_384 / k)));
    int rowsPerBlock = ceil(ceil(n, blocks), tile) * tile;
    blocks = ceil(n, rowsPerBlock);

    try (Arena arena = Arena.ofConfined()) {
      MemorySegment hostQ = arena.allocate(4L * nq * dim, 16);
      MemorySegment hostN = arena.allocate(4L * nq, 16);
      MemorySegment hostQ16 = mma ? arena.allocate(2L * gy * MMA_QT * dim, 16) : null; // zeroed: the padding queries
      for (int q = 0; q < nq; q++) {
        float[] v = queries[q];
        if (v.length != dim) {
          throw new IllegalArgumentException("query dimension " + v.length + " does not match the rows' dimension " + dim);
        }
        MemorySegment.copy(v, 0, hostQ, ValueLayout.JAVA_FLOAT, 4L * q * dim, dim);
        float n2 = 0;
        for (int i = 0; i < dim; i++) {
          float x = v[i];
          if (mma) { // the norm of the query the tensor cores multiply
            short h = Float.floatToFloat16(x);
            hostQ16.setAtIndex(ValueLayout.JAVA_SHORT, (long) q * dim + i, h);
            x = Float.float16ToFloat(h);
          }
          n2 = Math.fma(x, x, n2);
        }
        hostN.setAtIndex(ValueLayout.JAVA_FLOAT, q, n2);
      }
      DeviceBuffer dq = mma ? workspace(6, hostQ16.byteSize()) : workspace(0, hostQ.byteSize());
      DeviceBuffer dn = workspace(1, hostN.byteSize());
      long candidates = 4L * nq * blocks * k;
      DeviceBuffer cs = workspace(2, candidates), cr = workspace(3, candidates);
      DeviceBuffer os = workspace(4, 4L * nq * k), or = workspace(5, 4L * nq * k);
      try {
        dq.copyFromAsync(mma ? hostQ16 : hostQ, 0, stream);
        dn.copyFromAsync(hostN, 0, stream);
        if (mma) {
          scoreMma.launch(stream, Kernel.grid(blocks, gy), Kernel.block(BLOCK), MMA_QT * MMA_LD * 4,
              Kernel.args()
                  .pointer(rows.data()).pointer(rows.norms2()).i32(n).i32(dim)
                  .pointer(dq).pointer(dn).i32(nq).i32(metric.ordinal())
                  .pointer(filter).pointer(rows.tombstones()).i32(k).i32(rowsPerBlock)
                  .pointer(cs).pointer(cr));
        } else {
          Kernel score = rows.element() == Element.F16 ? scoreF16 : scoreI8;
          int step = groupMax == MAX_QB ? nq : groupMax;
          for (int q0 = 0; q0 < nq; q0 += step) {
            int g = Math.min(step, nq - q0);
            score.launch(stream, Kernel.grid(blocks, ceil(g, MAX_QB)), Kernel.block(BLOCK), Math.min(g, MAX_QB) * dim * 4,
                Kernel.args()
                    .pointer(rows.data()).pointer(rows.scales()).pointer(rows.norms2()).i32(n).i32(dim)
                    .pointer(dq.pointer(4L * q0 * dim)).pointer(dn.pointer(4L * q0)).i32(g).i32(metric.ordinal())
                    .pointer(filter).pointer(rows.tombstones()).i32(k).i32(rowsPerBlock)
                    .pointer(cs.pointer(4L * q0 * blocks * k)).pointer(cr.pointer(4L * q0 * blocks * k)));
          }
        }
        merge.launch(stream, Kernel.grid(nq), Kernel.block(BLOCK), 0,
            Kernel.args().pointer(cs).pointer(cr).i32(blocks).i32(k).i32(nq).pointer(os).pointer(or));
        MemorySegment outS = arena.allocate(4L * nq * k, 16), outR = arena.allocate(4L * nq * k, 16);
        os.copyToAsync(outS, 0, stream);
        or.copyToAsync(outR, 0, stream);
        stream.synchronize();
        int[][] resultRows = new int[nq][k];
        float[][] resultScores = new float[nq][k];
        for (int q = 0; q < nq; q++) {
          MemorySegment.copy(outR, ValueLayout.JAVA_INT, 4L * q * k, resultRows[q], 0, k);
          MemorySegment.copy(outS, ValueLayout.JAVA_FLOAT, 4L * q * k, resultScores[q], 0, k);
        }
        return new Result(resultRows, resultScores);
      } catch (RuntimeException e) {
        // Queued copies read the arena's host memory: let the stream drain before the arena closes.
        try {
          stream.synchronize();
        } catch (CudaException again) {
          e.addSuppressed(again);
        }
        throw e;
      }
    }
  }

  private static Result empty(int nq, int k) {
    int[][] rows = new int[nq][k];
    float[][] scores = new float[nq][k];
    for (int q = 0; q < nq; q++) {
      java.util.Arrays.fill(rows[q], -1);
      java.util.Arrays.fill(scores[q], Float.NEGATIVE_INFINITY);
    }
    return new Result(rows, scores);
  }

  private DeviceBuffer workspace(int slot, long bytes) {
    DeviceBuffer b = workspace[slot];
    if (b == null || b.bytes() < bytes) {
      if (b != null) {
        b.close();
      }
      workspace[slot] = null;
      b = workspace[slot] = context.allocate(Math.max(bytes, b == null ? 0 : b.bytes() + (b.bytes() >> 1)));
    }
    return b;
  }

  private static int ceil(long a, long b) {
    return (int) ((a + b - 1) / b);
  }

  @Override
  public synchronized void close() {
    for (int i = 0; i < workspace.length; i++) {
      if (workspace[i] != null) {
        workspace[i].close();
        workspace[i] = null;
      }
    }
    stream.close();
    module.close();
  }
}
