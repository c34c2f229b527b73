package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * A constant tensor ({@code TensorProto}): an initializer of a graph or the value of a tensor
 * attribute. Data is {@code float32} or {@code int64}, row-major, written as little-endian
 * {@code raw_data}.
 *
 * <p>The data array is not copied: whoever builds a {@code Tensor} hands it over and must not
 * modify it until the model is written.
 *
 * @param name the tensor's name (an initializer's name is the value name nodes refer to)
 * @param type {@link DataType#FLOAT}, {@link DataType#INT64}, {@link DataType#INT8} or {@link DataType#UINT8}
 * @param dims the shape; empty for a scalar
 * @param floats the data when {@code type} is float, else null
 * @param longs the data when {@code type} is int64, else null
 * @param bytes the data when {@code type} is int8 or uint8 (the two's-complement byte of each value), else null
 */
public record Tensor(String name, DataType type, long[] dims, float[] floats, long[] longs, byte[] bytes)
    implements ProtoWriter.Message {

  // TensorProto field numbers (onnx.proto).
  private static final int DIMS = 1, DATA_TYPE = 2, NAME = 8, RAW_DATA = 9;

  public Tensor {
    Objects.requireNonNull(name, "tensor name");
    Objects.requireNonNull(type, "tensor type");
    dims = dims.clone();
    long count = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor " + name + ": dimension " + d + " in " + Arrays.toString(dims) + " is negative");
      }
      count = Math.multiplyExact(count, d);
    }
    int arrays = (floats == null ? 0 : 1) + (longs == null ? 0 : 1) + (bytes == null ? 0 : 1);
    long length = switch (type) {
      case FLOAT -> floats == null || arrays != 1 ? -1 : floats.length;
      case INT64 -> longs == null || arrays != 1 ? -1 : longs.length;
      case INT8, UINT8 -> bytes == null || arrays != 1 ? -1 : bytes.length;
      default -> throw new IllegalArgumentException("tensor " + name + ": type " + type + " is not float, int64, int8 or uint8");
    };
    if (length < 0) {
      throw new IllegalArgumentException("tensor " + name + " of type " + type + " needs exactly the matching data array");
    }
    if (length != count) {
      throw new IllegalArgumentException(
          "tensor " + name + " of shape " + Arrays.toString(dims) + " needs " + count + " values, got " + length);
    }
  }

  /** A {@code float32} tensor of shape {@code dims} holding {@code data}, row-major. */
  public static Tensor floats(String name, float[] data, long... dims) {
    return new Tensor(name, DataType.FLOAT, dims, data, null, null);
  }

  /** An {@code int64} tensor of shape {@code dims} holding {@code data}, row-major. */
  public static Tensor int64s(String name, long[] data, long... dims) {
    return new Tensor(name, DataType.INT64, dims, null, data, null);
  }

  /** An {@code int8} tensor of shape {@code dims} holding {@code data}, row-major. */
  public static Tensor int8s(String name, byte[] data, long... dims) {
    return new Tensor(name, DataType.INT8, dims, null, null, data);
  }

  /** A {@code uint8} tensor of shape {@code dims}; each byte is read as 0..255. */
  public static Tensor uint8s(String name, byte[] data, long... dims) {
    return new Tensor(name, DataType.UINT8, dims, null, null, data);
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    for (long d : dims) {
      out.varint(DIMS, d);
    }
    out.varint(DATA_TYPE, type.code);
    out.string(NAME, name);
    switch (type) {
      case FLOAT -> out.rawFloats(RAW_DATA, floats);
      case INT64 -> out.rawLongs(RAW_DATA, longs);
      default -> out.bytes(RAW_DATA, bytes);
    }
  }
}
