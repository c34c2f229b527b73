package dev.loupe.llm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A copy of a Q8_0 matrix with its rows interleaved in groups of {@value InterleavedRows#ROWS},
 * built at load time for the integer kernels ({@link ActivationMode#Q8}, {@link
 * ActivationMode#GGML}), as {@link Q4_0Interleaved} is for Q4_0: a vector load holds the same
 * element of {@value InterleavedRows#ROWS} rows, one row per lane, so a block's sums are made for
 * all of them at once and its scale step runs once per {@value InterleavedRows#ROWS} rows.
 *
 * <p>Layout, little-endian, in an off-heap segment aligned to 64 bytes: group {@code g} (rows
 * {@code 32g..32g+31}; the last group padded with zero rows) is {@link #groupBytes()} long at
 * {@code g·groupBytes()}; within it, block {@code b} (elements {@code 32b..32b+31} of every row)
 * is {@value #BLOCK_BYTES} bytes at {@code b·}{@value #BLOCK_BYTES}: the 32 rows' fp16 scales (row
 * {@code r} at {@code 2r}), then 32 slices of 32 bytes, slice {@code k} holding the int8 element
 * {@code k} of the block of every row (row {@code r} at {@code 64 + 32k + r}). The same bytes as
 * the file's, rearranged: 34 bytes per 32 weights, plus the padding of the last group.
 *
 * <p>Cost at load: one pass over the weights on the loading thread, and their size again in
 * off-heap memory, where the mapped file's pages are given back ({@link WeightMatrix#forMode}).
 * The copy lives in an automatic arena: it is freed when the last matrix using it is unreachable.
 * Immutable and thread-safe after construction.
 */
final class Q8_0Interleaved implements InterleavedRows {
  /** Bytes of one block of a group: 32 scales and 32 rows' 32 int8 elements. */
  static final int BLOCK_BYTES = ROWS * 34;

  private final MemorySegment data;
  private final int rows;
  private final int cols;

  private Q8_0Interleaved(MemorySegment data, int rows, int cols) {
    this.data = data;
    this.rows = rows;
    this.cols = cols;
  }

  /**
   * Interleaves {@code rows} Q8_0 rows of {@code cols} elements (ggml layout, from offset 0 of
   * {@code src}) into a new off-heap copy. Reads every byte of {@code src} once.
   */
  static Q8_0Interleaved of(MemorySegment src, int rows, int cols) {
    int nb = cols / 32;
    long rowBytes = 34L * nb;
    int groups = (rows + ROWS - 1) / ROWS;
    long groupBytes = (long) BLOCK_BYTES * nb;
    MemorySegment dst = Arena.ofAuto().allocate(groupBytes * groups, 64);
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
          int i = Math.toIntExact(r * rowBytes) + 34 * b;
          out[o++] = in[i];
          out[o++] = in[i + 1];
        }
        for (int k = 0; k < 32; k++) {
          for (int r = 0, i = 34 * b + 2 + k; r < ROWS; r++, i += (int) rowBytes) {
            out[o++] = in[i];
          }
        }
      }
      MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, g * groupBytes, out.length);
    }
    return new Q8_0Interleaved(dst, rows, cols);
  }

  MemorySegment data() {
    return data;
  }

  int cols() {
    return cols;
  }

  @Override
  public int groups() {
    return (rows + ROWS - 1) / ROWS;
  }

  /** Bytes of one group of {@value InterleavedRows#ROWS} rows. */
  long groupBytes() {
    return (long) BLOCK_BYTES * (cols / 32);
  }

  /** Rows of group {@code g} that are real rows (not padding). */
  int rowsIn(int g) {
    return Math.min(ROWS, rows - g * ROWS);
  }
}
