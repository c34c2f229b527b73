package dev.loupe.llm.gguf;

import java.util.Optional;

/**
 * The ggml tensor types, with the ids GGUF files store and the block geometry of each.
 *
 * <p>A tensor of a block type is a sequence of blocks of {@link #blockSize()} elements each taking
 * {@link #typeSize()} bytes, in ggml's block layout (as {@code ggml-common.h} declares it). Plain
 * types (F32, F16, BF16, the integer types) have a block size of 1. Ids 4, 5 (the removed Q4_2 and
 * Q4_3) and 31 to 33 (the removed Q4_0_4_4 family) are absent on purpose. {@link #supported()} says
 * which types Loupe's engine computes with; the reader accepts every type listed here so that a
 * file can be inspected and its unsupported tensors named. Immutable and thread-safe.
 */
public enum GgmlType {
  F32(0, 1, 4),
  F16(1, 1, 2),
  Q4_0(2, 32, 18),
  Q4_1(3, 32, 20),
  Q5_0(6, 32, 22),
  Q5_1(7, 32, 24),
  Q8_0(8, 32, 34),
  Q8_1(9, 32, 36),
  Q2_K(10, 256, 84),
  Q3_K(11, 256, 110),
  Q4_K(12, 256, 144),
  Q5_K(13, 256, 176),
  Q6_K(14, 256, 210),
  Q8_K(15, 256, 292),
  IQ2_XXS(16, 256, 66),
  IQ2_XS(17, 256, 74),
  IQ3_XXS(18, 256, 98),
  IQ1_S(19, 256, 50),
  IQ4_NL(20, 32, 18),
  IQ3_S(21, 256, 110),
  IQ2_S(22, 256, 82),
  IQ4_XS(23, 256, 136),
  I8(24, 1, 1),
  I16(25, 1, 2),
  I32(26, 1, 4),
  I64(27, 1, 8),
  F64(28, 1, 8),
  IQ1_M(29, 256, 56),
  BF16(30, 1, 2),
  TQ1_0(34, 256, 54),
  TQ2_0(35, 256, 66);

  private static final GgmlType[] BY_ID = new GgmlType[36];

  static {
    for (GgmlType t : values()) {
      BY_ID[t.id] = t;
    }
  }

  private final int id;
  private final int blockSize;
  private final int typeSize;

  GgmlType(int id, int blockSize, int typeSize) {
    this.id = id;
    this.blockSize = blockSize;
    this.typeSize = typeSize;
  }

  /** The id GGUF files store for this type ({@code enum ggml_type}). */
  public int id() {
    return id;
  }

  /** Elements per block (1 for plain types, 32 or 256 for quantized ones). */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int typeSize() {
    return typeSize;
  }

  /** Whether Loupe's engine computes with tensors of this type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K. */
  public boolean supported() {
    return switch (this) {
      case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
      default -> false;
    };
  }

  /** Whether this is a block-quantized type (block size above 1). */
  public boolean quantized() {
    return blockSize > 1;
  }

  /**
   * The bytes {@code elements} elements take in this type.
   *
   * @throws IllegalArgumentException if {@code elements} is negative or not a multiple of the block size
   * @throws ArithmeticException if the size does not fit in a long
   */
  public long byteSize(long elements) {
    if (elements < 0 || elements % blockSize != 0) {
      throw new IllegalArgumentException(
          "element count " + elements + " is not a non-negative multiple of " + this + "'s block size " + blockSize);
    }
    return Math.multiplyExact(elements / blockSize, (long) typeSize);
  }

  /** The type with this ggml id, or empty for an id no ggml type has (or one ggml removed). */
  public static Optional<GgmlType> fromId(int id) {
    return id >= 0 && id < BY_ID.length ? Optional.ofNullable(BY_ID[id]) : Optional.empty();
  }
}
