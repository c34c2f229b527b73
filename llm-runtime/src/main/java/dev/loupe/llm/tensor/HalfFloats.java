package dev.loupe.llm.tensor;

/**
 * Conversions between fp32 and the two 16-bit float formats in GGUF files, rounding as ggml does.
 *
 * <p>IEEE fp16: decoding is exact (subnormals, infinities and NaN included); encoding rounds to
 * nearest even, overflows to infinity and keeps NaN a NaN, as the F16C instruction ggml uses on
 * x86. bfloat16: the top half of an fp32; encoding rounds to nearest even and turns a NaN into a
 * quiet NaN (ggml's {@code ggml_compute_fp32_to_bf16}). Stateless and thread-safe.
 */
public final class HalfFloats {
  private HalfFloats() {}

  /** The fp32 value of the fp16 bit pattern {@code h}. */
  public static float f16ToF32(short h) {
    return Float.float16ToFloat(h);
  }

  /** {@code f} rounded to the nearest fp16, as a bit pattern. */
  public static short f32ToF16(float f) {
    return Float.floatToFloat16(f);
  }

  /** The fp32 value of the bfloat16 bit pattern {@code b}. */
  public static float bf16ToF32(short b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /** {@code f} rounded to the nearest bfloat16, as a bit pattern. */
  public static short f32ToBf16(float f) {
    int u = Float.floatToRawIntBits(f);
    if ((u & 0x7FFF_FFFF) > 0x7F80_0000) {
      return (short) ((u >>> 16) | 64); // NaN: keep the sign and payload top, force quiet
    }
    return (short) ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16);
  }

  /** {@code f} rounded through fp16 and back, the value ggml multiplies with. */
  public static float roundF16(float f) {
    return Float.float16ToFloat(Float.floatToFloat16(f));
  }

  /** {@code f} rounded through bfloat16 and back. */
  public static float roundBf16(float f) {
    return bf16ToF32(f32ToBf16(f));
  }
}
