package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

  @Test
  void fp16_encodes_normal_values_exactly_and_rounds_to_nearest_even() {
    assertEquals(0x3C00, HalfFloats.f32ToF16(1f) & 0xFFFF);
    assertEquals(0xC000, HalfFloats.f32ToF16(-2f) & 0xFFFF);
    assertEquals(0x7BFF, HalfFloats.f32ToF16(65504f) & 0xFFFF);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0)
    assertEquals(0x3C00, HalfFloats.f32ToF16(1f + 0x1p-11f) & 0xFFFF);
    // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even)
    assertEquals(0x3C02, HalfFloats.f32ToF16(1f + 3 * 0x1p-11f) & 0xFFFF);
  }

  @Test
  void fp16_handles_subnormals_infinities_and_nan() {
    assertEquals(0x0001, HalfFloats.f32ToF16(0x1p-24f) & 0xFFFF);
    assertEquals(0x1p-24f, HalfFloats.f16ToF32((short) 0x0001));
    assertEquals(0x3FFp-24f, HalfFloats.f16ToF32((short) 0x03FF), "largest subnormal");
    assertEquals(0x0000, HalfFloats.f32ToF16(0x1p-25f) & 0xFFFF, "half the smallest subnormal ties to zero");
    assertEquals(0x0001, HalfFloats.f32ToF16(0x1.8p-25f) & 0xFFFF);
    assertEquals(0x7C00, HalfFloats.f32ToF16(65520f) & 0xFFFF, "rounds past the largest finite to infinity");
    assertEquals(0xFC00, HalfFloats.f32ToF16(Float.NEGATIVE_INFINITY) & 0xFFFF);
    assertEquals(Float.POSITIVE_INFINITY, HalfFloats.f16ToF32((short) 0x7C00));
    assertTrue(Float.isNaN(HalfFloats.f16ToF32(HalfFloats.f32ToF16(Float.NaN))));
    assertTrue(Float.isNaN(HalfFloats.f16ToF32((short) 0x7E00)));
    assertEquals(0x8000, HalfFloats.f32ToF16(-0f) & 0xFFFF);
  }

  @Test
  void every_fp16_pattern_survives_a_round_trip_through_fp32() {
    for (int h = 0; h < 0x10000; h++) {
      float f = HalfFloats.f16ToF32((short) h);
      if (!Float.isNaN(f)) {
        assertEquals(h, HalfFloats.f32ToF16(f) & 0xFFFF, "pattern " + Integer.toHexString(h));
      }
    }
  }

  @Test
  void bf16_rounds_to_nearest_even_and_keeps_nan_quiet() {
    assertEquals(0x3F80, HalfFloats.f32ToBf16(1f) & 0xFFFF);
    assertEquals(0x3F80, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3F80_8000)) & 0xFFFF, "tie to even");
    assertEquals(0x3F82, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3F81_8000)) & 0xFFFF, "tie to even");
    assertEquals(0x3F81, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3F80_8001)) & 0xFFFF);
    assertEquals(0x7F80, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x7F7F_FFFF)) & 0xFFFF, "overflows to infinity");
    assertEquals(0x7F80, HalfFloats.f32ToBf16(Float.POSITIVE_INFINITY) & 0xFFFF);
    assertEquals(0x0001, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x0001_0000)) & 0xFFFF, "subnormal kept");
    assertEquals(Float.intBitsToFloat(0x0001_0000), HalfFloats.bf16ToF32((short) 0x0001));
    short nan = HalfFloats.f32ToBf16(Float.intBitsToFloat(0x7F80_0001)); // signalling NaN, payload below bf16
    assertTrue(Float.isNaN(HalfFloats.bf16ToF32(nan)), "a NaN whose payload sits in the dropped bits stays NaN");
    assertEquals(0x7FC0, nan & 0xFFFF);
    assertEquals(-1.5f, HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(-1.5f)));
  }
}
