package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A graph input or output ({@code ValueInfoProto}): a name, an element type and a shape whose
 * dimensions are fixed sizes or symbolic names such as {@code "batch"}.
 *
 * @param name the value's name
 * @param type the element type
 * @param shape the dimensions, each a {@link Long} (fixed) or a {@link String} (symbolic)
 */
public record ValueInfo(String name, DataType type, List<Object> shape) implements ProtoWriter.Message {

  // ValueInfoProto.name, .type; TypeProto.tensor_type; TypeProto.Tensor.elem_type, .shape;
  // TensorShapeProto.dim; Dimension.dim_value, .dim_param (onnx.proto).
  private static final int NAME = 1, TYPE = 2, TENSOR_TYPE = 1, ELEM_TYPE = 1, SHAPE = 2, DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2;

  public ValueInfo {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("value name must not be empty");
    }
    Objects.requireNonNull(type, "type of " + name);
    List<Object> dims = new ArrayList<>(shape.size());
    for (Object d : shape) {
      switch (d) {
        case Integer n when n >= 0 -> dims.add((long) n);
        case Long n when n >= 0 -> dims.add(n);
        case String s when !s.isEmpty() -> dims.add(s);
        case null, default -> throw new IllegalArgumentException(
            "value " + name + ": dimension " + d + " is neither a size >= 0 nor a symbolic name");
      }
    }
    shape = List.copyOf(dims);
  }

  /** A tensor value; each dimension is an int or long size or a symbolic name: {@code of("x", FLOAT, "batch", 3, 224, 224)}. */
  public static ValueInfo of(String name, DataType type, Object... dims) {
    return new ValueInfo(name, type, List.of(dims));
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    out.string(NAME, name);
    out.message(TYPE, typeProto -> typeProto.message(TENSOR_TYPE, tensorType -> {
      tensorType.varint(ELEM_TYPE, type.code);
      tensorType.message(SHAPE, shapeProto -> {
        for (Object d : shape) {
          shapeProto.message(DIM, dim -> {
            if (d instanceof Long size) {
              dim.varint(DIM_VALUE, size);
            } else {
              dim.string(DIM_PARAM, (String) d);
            }
          });
        }
      });
    }));
  }
}
