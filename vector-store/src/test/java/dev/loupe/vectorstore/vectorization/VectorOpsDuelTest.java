package dev.loupe.vectorstore.vectorization;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Duels the Vector API kernels against the scalar reference on awkward sizes (STYLE.md). */
class VectorOpsDuelTest {
  private static final long SEED = 42;
  private final VectorOps scalar = new ScalarVectorOps();
  private final VectorOps panama = VectorOpsProvider.choose("panama");

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 13, 16, 100, 207, 511, 512, 1025})
  void panama_kernels_match_the_scalar_reference(int dim) {
    SplittableRandom random = new SplittableRandom(SEED + dim);
    int rows = 3;
    long offset = 5; // deliberately unaligned
    MemorySegment f32 = MemorySegment.ofArray(new byte[(int) (offset + 4L * dim * rows)]);
    MemorySegment f16 = MemorySegment.ofArray(new byte[(int) (offset + 2L * dim * rows)]);
    MemorySegment i8 = MemorySegment.ofArray(new byte[(int) (offset + (long) dim * rows)]);
    var F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    var F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < dim * rows; i++) {
      // Include fp16 subnormals and negative values.
      float x = (float) random.nextGaussian() * (i % 11 == 0 ? 1e-6f : 1f);
      f32.set(F32, offset + 4L * i, x);
      f16.set(F16, offset + 2L * i, Float.floatToFloat16(x));
      i8.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (random.nextInt(255) - 127));
    }
    float[][] queries = new float[6][dim];
    for (float[] q : queries) {
      for (int i = 0; i < dim; i++) {
        q[i] = (float) random.nextGaussian();
      }
    }
    float tolerance = 1e-4f * dim;
    float[] out = new float[queries.length];
    float[][] scaled = new float[queries.length][dim];
    for (int j = 0; j < queries.length; j++) {
      for (int i = 0; i < dim; i++) {
        scaled[j][i] = queries[j][i] * VectorOps.F16_QUERY_SCALE;
      }
    }
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < queries.length; j++) {
        float[] q = queries[j];
        assertEquals(scalar.dotF32(f32, offset + 4L * dim * r, q), panama.dotF32(f32, offset + 4L * dim * r, q), tolerance, "f32 dim " + dim);
        // fp16: against an independent decode with Float.float16ToFloat, then kernel against kernel.
        double reference = 0;
        for (int i = 0; i < dim; i++) {
          reference += (double) q[i] * Float.float16ToFloat(f16.get(F16, offset + 2L * dim * r + 2L * i));
        }
        assertEquals(reference, scalar.dotF16(f16, offset + 2L * dim * r, scaled[j]), tolerance, "scalar f16 dim " + dim);
        assertEquals(reference, panama.dotF16(f16, offset + 2L * dim * r, scaled[j]), tolerance, "panama f16 dim " + dim);
        assertEquals(scalar.dotI8(i8, offset + (long) dim * r, q), panama.dotI8(i8, offset + (long) dim * r, q), tolerance * 100, "i8 dim " + dim);
      }
      for (int enc = 0; enc < 3; enc++) {
        MemorySegment seg = enc == 0 ? f32 : enc == 1 ? f16 : i8;
        long rowOffset = offset + (long) dim * r * (enc == 0 ? 4 : enc == 1 ? 2 : 1);
        float[][] qs = enc == 1 ? scaled : queries;
        panama.dotMany(enc, seg, rowOffset, qs, qs.length, out);
        for (int j = 0; j < queries.length; j++) {
          float expected = switch (enc) {
            case 0 -> scalar.dotF32(seg, rowOffset, qs[j]);
            case 1 -> scalar.dotF16(seg, rowOffset, qs[j]);
            default -> scalar.dotI8(seg, rowOffset, qs[j]);
          };
          assertEquals(expected, out[j], tolerance * (enc == 2 ? 100 : 1), "dotMany enc " + enc + " dim " + dim);
        }
      }
    }
  }
}
