package dev.loupe.llm.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a GGUF file: its name, type, dimensions and its bytes.
 *
 * <p>{@code dims} are ggml's {@code ne}: {@code dims[0]} is the innermost (contiguous) dimension, so
 * a 2-D weight of dims {@code [cols, rows]} is row-major with rows of {@code cols} elements.
 * {@code data} is a read-only, little-endian slice of exactly the tensor's bytes in ggml's block
 * layout; when it comes from a {@link GgufFile} it is a view of the memory-mapped file, valid until
 * that file is closed. {@code fileOffset} is the absolute offset of the data in the file.
 *
 * @param name the tensor's name, such as {@code blk.0.attn_q.weight}
 * @param type the element type
 * @param dims the dimensions, innermost first (1 to 4 of them, none negative)
 * @param fileOffset the absolute offset of the tensor data in its file
 * @param data exactly the tensor's bytes
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long fileOffset, MemorySegment data) {
  public GgufTensor {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(data, "data");
    dims = dims.clone();
    if (dims.length < 1 || dims.length > 4) {
      throw new IllegalArgumentException("tensor '" + name + "' has " + dims.length + " dimensions; ggml allows 1 to 4");
    }
    long elements = elementCount(name, dims);
    if (dims[0] % type.blockSize() != 0) {
      throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " has a first dimension of " + dims[0]
          + ", not a multiple of the block size " + type.blockSize());
    }
    long expected = type.byteSize(elements);
    if (data.byteSize() != expected) {
      throw new IllegalArgumentException("tensor '" + name + "' " + type + " " + Arrays.toString(dims) + " needs "
          + expected + " bytes but its data has " + data.byteSize());
    }
    if (fileOffset < 0) {
      throw new IllegalArgumentException("tensor '" + name + "' has a negative file offset " + fileOffset);
    }
  }

  /** The dimensions, innermost first (a copy). */
  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** The number of dimensions. */
  public int rank() {
    return dims.length;
  }

  /** Dimension {@code i} (innermost is 0), or 1 beyond the rank. */
  public long dim(int i) {
    return i < dims.length ? dims[i] : 1;
  }

  /** The number of elements: the product of the dimensions. */
  public long elementCount() {
    return elementCount(name, dims);
  }

  /** The tensor's size in bytes. */
  public long byteSize() {
    return data.byteSize();
  }

  static long elementCount(String name, long[] dims) {
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor '" + name + "' has a dimension of " + d + " in " + Arrays.toString(dims));
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("tensor '" + name + "' has dimensions " + Arrays.toString(dims) + " whose product overflows a long", e);
      }
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufTensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
        && fileOffset == t.fileOffset && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, type, Arrays.hashCode(dims), fileOffset);
  }

  @Override
  public String toString() {
    return "GgufTensor[" + name + " " + type + " " + Arrays.toString(dims) + " @" + fileOffset + "]";
  }
}
