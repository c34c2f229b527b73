package dev.loupe.vectorstore.vectorization;

import java.lang.foreign.MemorySegment;

/**
 * Inner products between float queries and stored rows, the kernel of every exact scan.
 *
 * <p>Rows live in a {@link MemorySegment} at a byte offset, little-endian, unpadded, in one of three
 * encodings: fp32 ({@code 4·dim} bytes), IEEE fp16 ({@code 2·dim} bytes; finite values only) and
 * int8 ({@code dim} bytes, signed; the caller applies the row's scale). Queries are fp32 arrays of
 * the same dimension. Implementations are stateless and thread-safe.
 *
 * <p>{@link ScalarVectorOps} is the reference; {@link PanamaVectorOps} uses the Vector API.
 * {@link #get()} returns the one chosen at start-up (see {@link VectorOpsProvider}).
 */
public interface VectorOps {

  /** {@code Σ q[i]·row[i]} for an fp32 row at {@code offset}. */
  float dotF32(MemorySegment data, long offset, float[] q);

  /**
   * Factor fp16 queries are multiplied by before {@link #dotF16}: 2^112, the exponent bias
   * difference between fp16 and fp32. With it the vector kernels decode fp16 by moving bits
   * alone ({@code (h << 13) & 0x8FFFE000} is the value times 2^-112 as fp32), no multiply per
   * component; the power-of-two scaling is exact.
   */
  float F16_QUERY_SCALE = 0x1p112f;

  /**
   * {@code Σ q[i]·row[i]} for an fp16 row at {@code offset}, where {@code scaledQ} is the query
   * multiplied by {@link #F16_QUERY_SCALE}.
   */
  float dotF16(MemorySegment data, long offset, float[] scaledQ);

  /** {@code Σ q[i]·row[i]} for an int8 row at {@code offset}, unscaled. */
  float dotI8(MemorySegment data, long offset, float[] q);

  /**
   * Batched form: {@code out[j] = dot(queries[j], row)} for {@code j < count}, reading the row once
   * for several queries. {@code encoding} is 0 for fp32, 1 for fp16 (queries scaled by {@link
   * #F16_QUERY_SCALE}), 2 for int8 (unscaled).
   */
  default void dotMany(int encoding, MemorySegment data, long offset, float[][] queries, int count, float[] out) {
    for (int j = 0; j < count; j++) {
      out[j] =
          switch (encoding) {
            case 0 -> dotF32(data, offset, queries[j]);
            case 1 -> dotF16(data, offset, queries[j]);
            case 2 -> dotI8(data, offset, queries[j]);
            default -> throw new IllegalArgumentException("unknown encoding " + encoding);
          };
    }
  }

  /**
   * Sum of {@code count} fp32 values from {@code offset}: a pure streaming read, used by the
   * benchmark to measure the memory bandwidth the scans are compared against.
   */
  float sum(MemorySegment data, long offset, long count);

  /** The implementation chosen for this JVM. */
  static VectorOps get() {
    return VectorOpsProvider.INSTANCE;
  }
}
