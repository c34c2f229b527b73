package dev.loupe.llm.tensor;

import java.lang.foreign.MemorySegment;

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
final class Q8_0Interleaved extends InterleavedRows {
  /** Bytes of one block of a group: 32 scales and 32 rows' 32 bytes. */
  static final int BLOCK_BYTES = ROWS * 34;

  private Q8_0Interleaved(MemorySegment data, int rows, int cols) {
    super(data, rows, cols);
  }

  /**
   * Interleaves {@code rows} Q8_0 rows of {@code cols} elements (ggml layout, from offset 0 of
   * {@code src}) into a new off-heap copy ({@link InterleavedRows#interleave}). Reads every byte of
   * {@code src} once.
   */
  static Q8_0Interleaved of(MemorySegment src, int rows, int cols) {
    return new Q8_0Interleaved(interleave(src, rows, cols, 32), rows, cols);
  }

  @Override
  int blockBytes() {
    return BLOCK_BYTES;
  }
}
