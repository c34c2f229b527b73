package dev.loupe.vectorstore.vectorization;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Plain-Java reference {@link VectorOps}: always available, the oracle of the duel tests. */
public final class ScalarVectorOps implements VectorOps {
  static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

  @Override
  public float dotF32(MemorySegment data, long offset, float[] q) {
    float sum = 0;
    for (int i = 0; i < q.length; i++) {
      sum = Math.fma(q[i], data.get(F32, offset + 4L * i), sum);
    }
    return sum;
  }

  @Override
  public float dotF16(MemorySegment data, long offset, float[] scaledQ) {
    float sum = 0;
    for (int i = 0; i < scaledQ.length; i++) {
      // Undoing the query scale is exact: a power of two.
      sum = Math.fma(scaledQ[i] * 0x1p-112f, Float.float16ToFloat(data.get(F16, offset + 2L * i)), sum);
    }
    return sum;
  }

  @Override
  public float dotI8(MemorySegment data, long offset, float[] q) {
    float sum = 0;
    for (int i = 0; i < q.length; i++) {
      sum = Math.fma(q[i], data.get(ValueLayout.JAVA_BYTE, offset + i), sum);
    }
    return sum;
  }

  @Override
  public float sum(MemorySegment data, long offset, long count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long i = 0;
    for (; i + 4 <= count; i += 4) {
      s0 += data.get(F32, offset + 4 * i);
      s1 += data.get(F32, offset + 4 * i + 4);
      s2 += data.get(F32, offset + 4 * i + 8);
      s3 += data.get(F32, offset + 4 * i + 12);
    }
    for (; i < count; i++) {
      s0 += data.get(F32, offset + 4 * i);
    }
    return s0 + s1 + s2 + s3;
  }

  @Override
  public String toString() {
    return "ScalarVectorOps";
  }
}
