package dev.loupe.llm.tensor;

/**
 * The ggml tensor types the kernels in this package read and write, with ggml's type ids and
 * block geometry.
 *
 * <p>A stand-in for {@code dev.loupe.llm.gguf.GgmlType} (owned by the GGUF reader) so that this
 * package builds on its own: {@link #fromGgmlId(int)} maps a ggml type id to the constant here,
 * which is all a caller holding a {@code GgmlType} needs ({@code WeightType.fromGgmlId(t.id())}).
 */
public enum WeightType {
  F32(0, 1, 4),
  F16(1, 1, 2),
  Q4_0(2, 32, 18),
  Q8_0(8, 32, 34),
  Q4_K(12, 256, 144),
  Q5_K(13, 256, 176),
  Q6_K(14, 256, 210),
  BF16(30, 1, 2);

  private final int ggmlId;
  private final int blockSize;
  private final int typeSize;

  WeightType(int ggmlId, int blockSize, int typeSize) {
    this.ggmlId = ggmlId;
    this.blockSize = blockSize;
    this.typeSize = typeSize;
  }

  /** ggml's numeric type id, as stored in a GGUF tensor table. */
  public int ggmlId() {
    return ggmlId;
  }

  /** Elements per block (1 for the float types, 32 for Q8_0/Q4_0, 256 for the K-quants). */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int typeSize() {
    return typeSize;
  }

  /** Whether this is a block-quantized type (as opposed to F32, F16, BF16). */
  public boolean quantized() {
    return blockSize > 1;
  }

  /**
   * Bytes taken by {@code count} elements; {@code count} must be a multiple of {@link
   * #blockSize()}.
   */
  public long bytesFor(long count) {
    if (count < 0 || count % blockSize != 0) {
      throw new IllegalArgumentException(
          count + " elements of " + this + " is not a whole number of " + blockSize + "-element blocks");
    }
    return count / blockSize * typeSize;
  }

  /** The type with ggml id {@code id}; rejects the ids this package has no codec for. */
  public static WeightType fromGgmlId(int id) {
    for (WeightType t : values()) {
      if (t.ggmlId == id) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "ggml type id " + id + " is not supported by the tensor kernels (supported: F32, F16, BF16,"
            + " Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
  }
}
