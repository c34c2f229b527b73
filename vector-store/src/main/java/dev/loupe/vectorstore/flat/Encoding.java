package dev.loupe.vectorstore.flat;

import java.util.Locale;

/**
 * How a {@link FlatVectorIndex} stores vector components.
 *
 * <ul>
 *   <li>{@link #F32}: IEEE fp32, exact; 4 bytes a component.
 *   <li>{@link #F16}: IEEE fp16 (round to nearest); 2 bytes a component, relative error ≤ 2^-11.
 *   <li>{@link #I8}: symmetric scalar quantization with one fp32 scale per vector ({@code
 *       x ≈ scale · b}, {@code b ∈ [-127, 127]}, {@code scale = max|x| / 127}); 1 byte a component
 *       plus 4 bytes a vector.
 * </ul>
 */
public enum Encoding {
  F32(4),
  F16(2),
  I8(1);

  /** Bytes per stored component. */
  public final int bytes;

  Encoding(int bytes) {
    this.bytes = bytes;
  }

  /** Parses {@code f32}, {@code f16} or {@code i8} (any case). */
  public static Encoding parse(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "f32", "fp32", "float32" -> F32;
      case "f16", "fp16", "float16" -> F16;
      case "i8", "int8" -> I8;
      default -> throw new IllegalArgumentException("unknown dtype '" + name + "'; expected f32, f16 or i8");
    };
  }
}
