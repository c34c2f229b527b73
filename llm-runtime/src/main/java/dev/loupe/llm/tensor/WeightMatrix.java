package dev.loupe.llm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight of a model: {@code rows × cols} elements of one {@link WeightType} in a read-only
 * {@link MemorySegment} (typically a slice of a memory-mapped GGUF file; never copied), row-major
 * with rows of {@code cols} elements in ggml's block layout (GGUF dims {@code [ne0 = cols, ne1 =
 * rows]}). {@code cols} is a multiple of the type's block size.
 *
 * <p>{@link #matmul} computes {@code out[r] = Σ_c W[r][c]·x[c]} for every row, in parallel over
 * rows on a {@link ComputePool}; {@link #matmulBatch} does the same for several input vectors,
 * reading each weight row once for all of them (prefill, speculative verification). The dot
 * kernels are the JVM's choice of {@link KernelOps} unless {@link #withKernels} says otherwise.
 *
 * <p>{@link #forMode} gives the matrix a second, faster layout for a model's activation mode: Q4_0
 * and Q8_0 matrices meant for the integer kernels are copied with their rows interleaved ({@link
 * Q4_0Interleaved}, {@link Q8_0Interleaved}), and their integer-mode matmuls read only the copy.
 *
 * <p>Immutable and thread-safe; the segment must stay alive (its arena open) while in use.
 */
public final class WeightMatrix {
  private final MemorySegment data;
  private final WeightType type;
  private final int rows;
  private final int cols;
  private final long rowBytes;
  private final KernelOps ops;
  /** The rows interleaved for the integer kernels, or null; see {@link #forMode}. */
  private final InterleavedRows interleaved;

  /**
   * Wraps {@code data} (at least {@code rows·rowBytes} long, from its start) as a matrix; rejects
   * column counts that are not whole blocks and segments too short.
   */
  public WeightMatrix(MemorySegment data, WeightType type, int rows, int cols) {
    this(data, type, rows, cols, KernelOps.get(), null);
  }

  private WeightMatrix(MemorySegment data, WeightType type, int rows, int cols, KernelOps ops,
      InterleavedRows interleaved) {
    if (rows < 1 || cols < 1) {
      throw new IllegalArgumentException("weight shape " + rows + "×" + cols + " must be positive");
    }
    if (cols % type.blockSize() != 0) {
      throw new IllegalArgumentException(
          "weight of " + cols + " columns is not a multiple of the " + type + " block size " + type.blockSize()
              + "; this tensor cannot be used as " + type);
    }
    this.rowBytes = type.bytesFor(cols);
    if (data.byteSize() < rowBytes * rows) {
      throw new IllegalArgumentException(
          "weight data of " + data.byteSize() + " bytes is shorter than " + rows + " rows of " + rowBytes
              + " bytes = " + rowBytes * rows + " (" + rows + "×" + cols + " " + type + ")");
    }
    this.data = data;
    this.type = type;
    this.rows = rows;
    this.cols = cols;
    this.ops = ops;
    this.interleaved = interleaved;
  }

  /** The same matrix computed with the given kernels (duel tests, benchmarks), in the file's layout. */
  WeightMatrix withKernels(KernelOps kernels) {
    return new WeightMatrix(data, type, rows, cols, kernels, null);
  }

  /**
   * This matrix made ready for matmuls in {@code mode}: for Q4_0 and Q8_0 weights, an integer mode
   * ({@link ActivationMode#Q8}, {@link ActivationMode#GGML}) and kernels that have an interleaved
   * form (the Vector API at 512 bits), a matrix whose matmuls in those modes read a copy with rows
   * interleaved in groups of 32 ({@link Q4_0Interleaved}, {@link Q8_0Interleaved}), off-heap, and
   * give each row exactly the {@link ScalarKernelOps} result (block sums exact, scaled and added in
   * block order); otherwise this matrix. The copy costs one pass over the weights at load and their
   * size in off-heap memory; where {@link #data()} is a mapped file,
   * the pages the copy read are then unloaded, so resident memory stays near the file's size, and
   * integer-mode matmuls do not read them again (FP32-mode calls, {@link #dot} and {@link
   * #dequantizeRow} still do).
   */
  public WeightMatrix forMode(ActivationMode mode) {
    if (mode == ActivationMode.FP32 || !ops.interleaves(type) || interleaved != null) {
      return this;
    }
    InterleavedRows copy = switch (type) {
      case Q4_0 -> Q4_0Interleaved.of(data, rows, cols);
      case Q8_0 -> Q8_0Interleaved.of(data, rows, cols);
      default -> throw new IllegalStateException(ops + " claims an interleaved form of " + type);
    };
    if (data.isMapped()) {
      data.unload(); // the pages just read are not needed again: resident memory stays near the file's size
    }
    return new WeightMatrix(data, type, rows, cols, ops, copy);
  }

  /** Whether integer-mode matmuls read an interleaved copy ({@link #forMode}). */
  boolean interleaved() {
    return interleaved != null;
  }

  /** Name of the dot kernels chosen for this JVM, for start-up logs and benchmarks. */
  public static String kernelsName() {
    return KernelOps.get().toString();
  }

  public MemorySegment data() {
    return data;
  }

  public WeightType type() {
    return type;
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  /** Bytes per row. */
  public long rowBytes() {
    return rowBytes;
  }

  /** Total bytes of weights a full matmul streams. */
  public long byteSize() {
    return rowBytes * rows;
  }

  /** Decodes row {@code row} into {@code out[outOffset..outOffset+cols)} (e.g. an embedding lookup). */
  public void dequantizeRow(int row, float[] out, int outOffset) {
    checkRow(row);
    BlockCodec.dequantize(type, data, row * rowBytes, out, outOffset, cols);
  }

  /** {@code Σ_c W[row][c]·x[xOffset + c]} with fp32 activations. */
  public float dot(int row, float[] x, int xOffset) {
    checkRow(row);
    Activations a = Activations.prepare(type, ActivationMode.FP32, x, xOffset, cols, 1);
    return ops.dot(type, data, row * rowBytes, cols, a, 0);
  }

  /** {@code out[r] = W[r]·x} for all rows, fp32 activations. */
  public void matmul(float[] x, float[] out, ComputePool pool) {
    matmul(x, 0, out, 0, pool, ActivationMode.FP32);
  }

  /**
   * {@code out[outOffset + r] = W[r]·x[xOffset..xOffset+cols)} for all rows, the activations
   * treated per {@code mode}.
   */
  public void matmul(float[] x, int xOffset, float[] out, int outOffset, ComputePool pool, ActivationMode mode) {
    checkOut(out, outOffset, rows);
    Activations a = Activations.prepare(type, mode, x, xOffset, cols, 1, pool);
    if (interleaved != null && a.levels != null) {
      matmulInterleaved(a, out, outOffset, pool);
      return;
    }
    pool.forRange(rows, (start, end) -> {
      for (int r = start; r < end; r++) {
        out[outOffset + r] = ops.dot(type, data, r * rowBytes, cols, a, 0);
      }
    });
  }

  /**
   * The batched matmul: {@code count} input vectors packed in {@code xs} (vector {@code v} at
   * {@code xOffset + v·cols}) give {@code count} output vectors packed in {@code out} (vector
   * {@code v} at {@code outOffset + v·rows}), each equal to {@link #matmul} of its input. Each
   * weight row is read once for all vectors.
   */
  public void matmulBatch(float[] xs, int xOffset, int count, float[] out, int outOffset, ComputePool pool,
      ActivationMode mode) {
    if (count < 1) {
      throw new IllegalArgumentException("batch of " + count + " vectors must hold at least one");
    }
    checkOut(out, outOffset, (long) rows * count);
    Activations a = Activations.prepare(type, mode, xs, xOffset, cols, count, pool);
    if (interleaved != null && a.levels != null) {
      matmulInterleaved(a, out, outOffset, pool);
      return;
    }
    pool.forRange(rows, (start, end) -> {
      for (int r = start; r < end; r++) {
        ops.dotAll(type, data, r * rowBytes, cols, a, out, outOffset + r, rows);
      }
    });
  }

  /** The matmul of every vector of {@code a} on the interleaved copy, split across threads by groups of rows. */
  private void matmulInterleaved(Activations a, float[] out, int outOffset, ComputePool pool) {
    pool.forRange(interleaved.groups(), (start, end) -> {
      for (int g = start; g < end; g++) {
        ops.dotGroup(interleaved, g, a, out, outOffset + g * InterleavedRows.ROWS, rows);
      }
    });
  }

  /**
   * {@link #matmulBatch} of several matrices over the same inputs (q/k/v, gate/up) in one parallel
   * range: the inputs are prepared once and the threads meet once instead of once per matrix.
   * Matrix {@code i} writes {@code outs[i]} from offset 0; each result equals its own {@link
   * #matmulBatch}. The matrices must share their type and column count.
   */
  public static void matmulBatchAll(WeightMatrix[] ms, float[] xs, int xOffset, int count, float[][] outs,
      ComputePool pool, ActivationMode mode) {
    if (ms.length == 0 || ms.length != outs.length) {
      throw new IllegalArgumentException(
          ms.length + " matrices and " + outs.length + " outputs must be the same number, at least one");
    }
    if (count < 1) {
      throw new IllegalArgumentException("batch of " + count + " vectors must hold at least one");
    }
    WeightMatrix first = ms[0];
    int[] starts = new int[ms.length + 1];
    for (int i = 0; i < ms.length; i++) {
      WeightMatrix m = ms[i];
      if (m.type != first.type || m.cols != first.cols || m.ops != first.ops
          || (m.interleaved == null) != (first.interleaved == null)) {
        throw new IllegalArgumentException(m + " cannot share a pass with " + first
            + ": fused matmuls need one type, column count and layout (all or none interleaved)");
      }
      checkOut(outs[i], 0, (long) m.rows * count);
      starts[i + 1] = Math.addExact(starts[i], m.rows);
    }
    Activations a = Activations.prepare(first.type, mode, xs, xOffset, first.cols, count, pool);
    if (first.interleaved != null && a.levels != null) {
      int[] groupStarts = new int[ms.length + 1];
      for (int i = 0; i < ms.length; i++) {
        groupStarts[i + 1] = groupStarts[i] + ms[i].interleaved.groups();
      }
      pool.forRange(groupStarts[ms.length], (start, end) -> {
        int i = 0;
        for (int g = start; g < end; g++) {
          while (g >= groupStarts[i + 1]) {
            i++;
          }
          WeightMatrix m = ms[i];
          int mg = g - groupStarts[i];
          m.ops.dotGroup(m.interleaved, mg, a, outs[i], mg * InterleavedRows.ROWS, m.rows);
        }
      });
      return;
    }
    pool.forRange(starts[ms.length], (start, end) -> {
      int i = 0;
      for (int g = start; g < end; g++) {
        while (g >= starts[i + 1]) {
          i++;
        }
        WeightMatrix m = ms[i];
        int r = g - starts[i];
        m.ops.dotAll(m.type, m.data, r * m.rowBytes, m.cols, a, outs[i], r, m.rows);
      }
    });
  }

  private void checkRow(int row) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " is outside 0.." + (rows - 1));
    }
  }

  private static void checkOut(float[] out, int outOffset, long length) {
    if (outOffset < 0 || outOffset + length > out.length) {
      throw new IndexOutOfBoundsException(
          "output range " + outOffset + "+" + length + " exceeds array length " + out.length);
    }
  }

  @Override
  public String toString() {
    return "WeightMatrix[" + rows + "×" + cols + " " + type + (interleaved != null ? ", interleaved" : "") + "]";
  }
}
