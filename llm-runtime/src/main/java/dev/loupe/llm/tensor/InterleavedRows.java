package dev.loupe.llm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;

/**
 * A copy of a quantized matrix with its rows interleaved in groups of {@value #ROWS}, made at load
 * for the integer kernels ({@link WeightMatrix#forMode}): {@link Q4_0Interleaved} or {@link
 * Q8_0Interleaved}. Both rearrange ggml blocks of a 2-byte fp16 scale and {@code slices} bytes the
 * same way ({@link #interleave}); they differ in what a slice byte holds. Immutable and thread-safe.
 */
abstract sealed class InterleavedRows permits Q4_0Interleaved, Q8_0Interleaved {
  /** Rows per group: one row per lane of 32 short lanes or of two 16-float vectors. */
  static final int ROWS = 32;

  private final MemorySegment data;
  private final int rows;
  private final int cols;

  InterleavedRows(MemorySegment data, int rows, int cols) {
    this.data = data;
    this.rows = rows;
    this.cols = cols;
  }

  /** Bytes of one block of a group: the {@value #ROWS} rows' scales and slices. */
  abstract int blockBytes();

  final MemorySegment data() {
    return data;
  }

  final int cols() {
    return cols;
  }

  /** Number of groups, the last one possibly partial. */
  final int groups() {
    return (rows + ROWS - 1) / ROWS;
  }

  /** Bytes of one group of {@value #ROWS} rows. */
  final long groupBytes() {
    return (long) blockBytes() * (cols / 32);
  }

  /** Rows of group {@code g} that are real rows (not padding). */
  final int rowsIn(int g) {
    return Math.min(ROWS, rows - g * ROWS);
  }

  /**
   * Interleaves {@code rows} rows of {@code cols} elements in ggml blocks of a 2-byte scale and
   * {@code slices} bytes (Q4_0: 16, Q8_0: 32), from offset 0 of {@code src}, into a new off-heap
   * copy aligned to 64 bytes: group {@code g} (rows {@code 32g..32g+31}, the last padded with zero
   * rows) at {@code g·groupBytes}; within it block {@code b} at {@code b·(2 + slices)·32}: the 32
   * rows' scales (row {@code r} at {@code 2r}), then slice {@code k} of the 32 rows (row {@code r}
   * at {@code 64 + 32k + r}). Reads every byte of {@code src} once. The copy lives in an automatic
   * arena, freed when the last matrix using it is unreachable.
   */
  static MemorySegment interleave(MemorySegment src, int rows, int cols, int slices) {
    int nb = cols / 32, fileBlock = 2 + slices;
    long rowBytes = (long) fileBlock * nb;
    int groups = (rows + ROWS - 1) / ROWS;
    long groupBytes = (long) fileBlock * ROWS * nb;
    MemorySegment dst;
    try {
      dst = Arena.ofAuto().allocate(groupBytes * groups, 64);
    } catch (OutOfMemoryError e) { // the JVM's direct-memory limit (by default its heap limit), or the machine's memory
      OutOfMemoryError clear = new OutOfMemoryError(String.format(Locale.ROOT,
          "no room for the %.1f MiB row-interleaved copy of a %d x %d matrix (%s): the copies of a model's Q4_0/Q8_0"
              + " weights take about the file's size off-heap, within the JVM's direct-memory limit;"
              + " raise it with -XX:MaxDirectMemorySize (./loupe sets it to the machine's memory; LOUPE_JAVA_OPTS"
              + " overrides), or load the model with fp32 activations",
          groupBytes * groups / 1048576.0, rows, cols, e.getMessage()));
      clear.initCause(e);
      throw clear;
    }
    byte[] in = new byte[Math.toIntExact(rowBytes * ROWS)];
    byte[] out = new byte[Math.toIntExact(groupBytes)];
    for (int g = 0; g < groups; g++) {
      int n = Math.min(ROWS, rows - g * ROWS);
      if (n < ROWS) {
        Arrays.fill(in, (byte) 0); // padding rows: scale 0
      }
      MemorySegment.copy(src, ValueLayout.JAVA_BYTE, g * rowBytes * ROWS, in, 0, Math.toIntExact(n * rowBytes));
      // written in order, read across the group's 32 rows (all in the L2-sized buffer)
      int o = 0;
      for (int b = 0; b < nb; b++) {
        for (int r = 0; r < ROWS; r++) {
          int i = Math.toIntExact(r * rowBytes) + fileBlock * b;
          out[o++] = in[i];
          out[o++] = in[i + 1];
        }
        for (int k = 0; k < slices; k++) {
          for (int r = 0, i = fileBlock * b + 2 + k; r < ROWS; r++, i += (int) rowBytes) {
            out[o++] = in[i];
          }
        }
      }
      MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, g * groupBytes, out.length);
    }
    return dst;
  }
}
