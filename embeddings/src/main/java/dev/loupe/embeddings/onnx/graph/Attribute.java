package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A node attribute ({@code AttributeProto}) of one of the kinds Loupe's graphs need: int, float,
 * ints, string or tensor. Build one with the factories: {@code Attribute.of("axis", 1)},
 * {@code Attribute.ints("axes", 2, 3)}, {@code Attribute.of("equation", "bh,hd->bd")}.
 *
 * @param name the attribute name the operator defines
 * @param kind which of the value fields holds the value
 * @param i the value of an int attribute
 * @param f the value of a float attribute
 * @param ints the value of an ints attribute
 * @param s the value of a string attribute
 * @param t the value of a tensor attribute
 */
public record Attribute(String name, Kind kind, long i, float f, long[] ints, String s, Tensor t) implements ProtoWriter.Message {

  /** The attribute kinds, with their {@code AttributeProto.AttributeType} numbers. */
  public enum Kind {
    FLOAT(1),
    INT(2),
    STRING(3),
    TENSOR(4),
    INTS(7);

    final int code;

    Kind(int code) {
      this.code = code;
    }
  }

  // AttributeProto field numbers (onnx.proto).
  private static final int NAME = 1, F = 2, I = 3, S = 4, T = 5, INTS = 8, TYPE = 20;

  public Attribute {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("attribute name must not be empty");
    }
    Objects.requireNonNull(kind, "attribute kind");
    switch (kind) {
      case INTS -> ints = Objects.requireNonNull(ints, "ints of attribute " + name).clone();
      case STRING -> Objects.requireNonNull(s, "string of attribute " + name);
      case TENSOR -> Objects.requireNonNull(t, "tensor of attribute " + name);
      case FLOAT, INT -> { }
    }
  }

  public static Attribute of(String name, long value) {
    return new Attribute(name, Kind.INT, value, 0, null, null, null);
  }

  public static Attribute of(String name, float value) {
    return new Attribute(name, Kind.FLOAT, 0, value, null, null, null);
  }

  public static Attribute of(String name, String value) {
    return new Attribute(name, Kind.STRING, 0, 0, null, value, null);
  }

  public static Attribute of(String name, Tensor value) {
    return new Attribute(name, Kind.TENSOR, 0, 0, null, null, value);
  }

  public static Attribute ints(String name, long... values) {
    return new Attribute(name, Kind.INTS, 0, 0, values, null, null);
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    out.string(NAME, name);
    out.varint(TYPE, kind.code);
    switch (kind) {
      case FLOAT -> out.float32(F, f);
      case INT -> out.varint(I, i);
      case STRING -> out.bytes(S, s.getBytes(StandardCharsets.UTF_8));
      case TENSOR -> out.message(T, t);
      case INTS -> out.packedVarints(INTS, ints);
    }
  }
}
