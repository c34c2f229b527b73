package dev.loupe.llm.gguf;

import java.util.Optional;

/**
 * The value types of GGUF metadata ({@code enum gguf_type}), with the Java type each maps to.
 *
 * <p>Scalars map to {@code Byte} (UINT8, INT8), {@code Short} (UINT16, INT16), {@code Integer}
 * (UINT32, INT32), {@code Long} (UINT64, INT64), {@code Float}, {@code Double}, {@code Boolean} and
 * {@code String}; unsigned values keep their bits in the signed Java type of the same width. An
 * ARRAY maps to the Java array of its element type ({@code byte[]}, {@code short[]}, {@code int[]},
 * {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}), and an
 * array of arrays to {@code Object[]}. Immutable and thread-safe.
 */
public enum GgufValueType {
  UINT8(0, 1),
  INT8(1, 1),
  UINT16(2, 2),
  INT16(3, 2),
  UINT32(4, 4),
  INT32(5, 4),
  FLOAT32(6, 4),
  BOOL(7, 1),
  /** A uint64 byte length and that many UTF-8 bytes. */
  STRING(8, 8),
  /** A uint32 element type, a uint64 count and the elements. */
  ARRAY(9, 12),
  UINT64(10, 8),
  INT64(11, 8),
  FLOAT64(12, 8);

  private final int id;
  private final int minBytes;

  GgufValueType(int id, int minBytes) {
    this.id = id;
    this.minBytes = minBytes;
  }

  /** The id GGUF files store for this type. */
  public int id() {
    return id;
  }

  /** The fewest bytes one value of this type takes in a file (its size for fixed-width types). */
  int minBytes() {
    return minBytes;
  }

  /** Whether this is one of the unsigned integer types. */
  public boolean unsigned() {
    return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64;
  }

  /** The type with this id, or empty for an unknown id. */
  public static Optional<GgufValueType> fromId(int id) {
    GgufValueType[] all = values();
    return id >= 0 && id < all.length ? Optional.of(all[id]) : Optional.empty();
  }
}
