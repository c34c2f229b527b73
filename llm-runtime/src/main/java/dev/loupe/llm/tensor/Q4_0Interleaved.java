package dev.loupe.llm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A copy of a Q4_0 matrix with its rows interleaved in groups of {@value InterleavedRows#ROWS}, built at load
 * time for the integer kernels ({@link ActivationMode#Q8}, {@link ActivationMode#GGML}): a vector
 * load then holds the same element of {@value InterleavedRows#ROWS} rows, one row per lane, so a block's integer
 * sums are made for all of them at once and its float step (conversion, scale, addition) runs once
 * per {@value InterleavedRows#ROWS} rows instead of once per row.
 *
 * <p>Layout, little-endian, in an off-heap segment aligned to 64 bytes: group {@code g} (rows
 * {@code 32g..32g+31}; the last group padded with zero rows) is {@link #groupBytes()} long at
 * {@code g·groupBytes()}; within it, block {@code b} (elements {@code 32b..32b+31} of every row)
 * is {@value #BLOCK_BYTES} bytes at {@code b·}{@value #BLOCK_BYTES}: the 32 rows' fp16 scales (row
 * {@code r} at {@code 2r}), then 16 slices of 32 bytes, slice {@code k} holding byte {@code k} of
 * the block of every row (row {@code r} at {@code 64 + 32k + r}; low nibble element {@code k},
 * high nibble element {@code 16+k}, as in ggml's block). The same bytes as the file's, rearranged:
 * about 18 bytes per 32 weights, plus the padding of the last group.
 *
 * <p>Cost at load: one pass over the weights on the loading thread, about 0.75–1.6 s for the 0.58
 * GB of Q4_0 matrices of a 1B llama on this project's 2-core test machine (busy; loading without
 * interleaving takes 13–530 ms), and their size again in off-heap memory, where the mapped file's
 * pages are given back ({@link WeightMatrix#forMode}). The copy lives in an automatic arena: it is
 * freed when the last matrix using it is unreachable. Immutable and thread-safe after
 * construction.
 */
final class Q4_0Interleaved extends InterleavedRows {
  /** Bytes of one block of a group: 32 scales and 32 rows' 16 bytes. */
  static final int BLOCK_BYTES = ROWS * 18;

  private Q4_0Interleaved(MemorySegment data, int rows, int cols) {
    super(data, rows, cols);
  }

  /**
   * Interleaves {@code rows} Q4_0 rows of {@code cols} elements (ggml layout, from offset 0 of
   * {@code src}) into a new off-heap copy ({@link InterleavedRows#interleave}). Reads every byte of
   * {@code src} once.
   */
  static Q4_0Interleaved of(MemorySegment src, int rows, int cols) {
    return new Q4_0Interleaved(interleave(src, rows, cols, 16), rows, cols);
  }

  @Override
  int blockBytes() {
    return BLOCK_BYTES;
  }
}
