package dev.loupe.vectorstore.flat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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

  private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** What {@link #encode} wrote: the squared norm of the vector as stored, and its int8 scale (1 otherwise). */
  public record Encoded(float norm2, float scale) {}

  /**
   * Writes {@code v} in this encoding (little-endian) at {@code offset} of {@code out}: the one
   * row encoding of the CPU index and its GPU twin, so both score the same stored values.
   *
   * @throws IllegalArgumentException naming the component when {@code v} does not fit fp16
   */
  public Encoded encode(float[] v, MemorySegment out, long offset) {
    double norm2 = 0;
    float scale = 1f;
    switch (this) {
      case F32 -> {
        for (int i = 0; i < v.length; i++) {
          out.set(F32_LE, offset + 4L * i, v[i]);
          norm2 += (double) v[i] * v[i];
        }
      }
      case F16 -> {
        for (int i = 0; i < v.length; i++) {
          if (Math.abs(v[i]) > 65504f) {
            throw new IllegalArgumentException(
                "vector component " + i + " is " + v[i] + ", outside the fp16 range of this index");
          }
          short h = Float.floatToFloat16(v[i]);
          out.set(F16_LE, offset + 2L * i, h);
          float x = Float.float16ToFloat(h);
          norm2 += (double) x * x;
        }
      }
      case I8 -> {
        float max = 0;
        for (float x : v) {
          max = Math.max(max, Math.abs(x));
        }
        scale = max / 127f;
        float inv = max == 0 ? 0 : 127f / max;
        for (int i = 0; i < v.length; i++) {
          int b = Math.clamp(Math.round(v[i] * inv), -127, 127);
          out.set(ValueLayout.JAVA_BYTE, offset + i, (byte) b);
          float x = b * scale;
          norm2 += (double) x * x;
        }
      }
    }
    return new Encoded((float) norm2, scale);
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
