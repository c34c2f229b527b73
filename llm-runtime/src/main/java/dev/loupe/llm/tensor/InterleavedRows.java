package dev.loupe.llm.tensor;

/**
 * A copy of a quantized matrix with its rows interleaved in groups of {@value #ROWS}, made at load
 * for the integer kernels ({@link WeightMatrix#forMode}): {@link Q4_0Interleaved} or {@link
 * Q8_0Interleaved}. Immutable and thread-safe.
 */
sealed interface InterleavedRows permits Q4_0Interleaved, Q8_0Interleaved {
  /** Rows per group: one row per lane of 32 short lanes or of two 16-float vectors. */
  int ROWS = 32;

  /** Number of groups, the last one possibly partial. */
  int groups();
}
