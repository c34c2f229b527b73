package dev.loupe.vectorstore.vectorization;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link VectorOps} on the Vector API at the platform's preferred width (512 bits with AVX-512,
 * 256 with AVX2). Every kernel loads the row once per lane group, converts it to fp32 in
 * registers and accumulates with FMA into several independent accumulators so the loop is
 * limited by memory, not by the FMA latency chain.
 *
 * <p>fp16 has no Vector API conversion in JDK 25, so it is decoded with two integer operations
 * into fp32 scaled by 2^-112, against queries scaled by 2^112 ({@link
 * VectorOps#F16_QUERY_SCALE}): the fp16 scan does no more arithmetic per component than the
 * int8 one. Infinities and NaN are not decoded; indexes never store them.
 */
public final class PanamaVectorOps implements VectorOps {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
  private static final VectorSpecies<Byte> B =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
  private static final int L = F.length();
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  PanamaVectorOps() {
    if (F.vectorBitSize() < 256) {
      throw new UnsupportedOperationException(
          "preferred vector width " + F.vectorBitSize() + " bits is below the 256 this needs");
    }
  }

  /** Species width in bits, for the start-up log line. */
  static int bitSize() {
    return F.vectorBitSize();
  }

  @Override
  public float dotF32(MemorySegment data, long offset, float[] q) {
    int dim = q.length;
    int whole = dim - dim % (2 * L);
    // Two accumulators hide the FMA latency; measured faster than four on Zen 4, where the
    // extra unrolling only adds bounds checks to a loop that is already bound by loads. One
    // counted loop up to a multiple of 2L; the remainder, if any, in a separate method.
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = row32(data, offset, i).fma(FloatVector.fromArray(F, q, i), a0);
      a1 = row32(data, offset, i + L).fma(FloatVector.fromArray(F, q, i + L), a1);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    return whole == dim ? sum : sum + dotF32Tail(data, offset, q, whole);
  }

  /** Components {@code from..dim} of {@link #dotF32}: fewer than 2L, by vectors of L then scalars. */
  private static float dotF32Tail(MemorySegment data, long offset, float[] q, int from) {
    int dim = q.length, i = from;
    float sum = 0;
    if (i + L <= dim) {
      sum = row32(data, offset, i).mul(FloatVector.fromArray(F, q, i)).reduceLanes(VectorOperators.ADD);
      i += L;
    }
    for (; i < dim; i++) {
      sum = Math.fma(q[i], data.get(ScalarVectorOps.F32, offset + 4L * i), sum);
    }
    return sum;
  }

  @Override
  public float dotF16(MemorySegment data, long offset, float[] q) {
    int dim = q.length;
    int whole = dim - dim % (2 * L);
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = row16(data, offset, i).fma(FloatVector.fromArray(F, q, i), a0);
      a1 = row16(data, offset, i + L).fma(FloatVector.fromArray(F, q, i + L), a1);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    return whole == dim ? sum : sum + dotF16Tail(data, offset, q, whole);
  }

  private static float dotF16Tail(MemorySegment data, long offset, float[] q, int from) {
    int dim = q.length, i = from;
    float sum = 0;
    if (i + L <= dim) {
      sum = row16(data, offset, i).mul(FloatVector.fromArray(F, q, i)).reduceLanes(VectorOperators.ADD);
      i += L;
    }
    for (; i < dim; i++) {
      sum = Math.fma(q[i] * 0x1p-112f, Float.float16ToFloat(data.get(ScalarVectorOps.F16, offset + 2L * i)), sum);
    }
    return sum;
  }

  @Override
  public float dotI8(MemorySegment data, long offset, float[] q) {
    int dim = q.length;
    int whole = dim - dim % (2 * L);
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = row8(data, offset, i).fma(FloatVector.fromArray(F, q, i), a0);
      a1 = row8(data, offset, i + L).fma(FloatVector.fromArray(F, q, i + L), a1);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    return whole == dim ? sum : sum + dotI8Tail(data, offset, q, whole);
  }

  private static float dotI8Tail(MemorySegment data, long offset, float[] q, int from) {
    int dim = q.length, i = from;
    float sum = 0;
    if (i + L <= dim) {
      sum = row8(data, offset, i).mul(FloatVector.fromArray(F, q, i)).reduceLanes(VectorOperators.ADD);
      i += L;
    }
    for (; i < dim; i++) {
      sum = Math.fma(q[i], data.get(ValueLayout.JAVA_BYTE, offset + i), sum);
    }
    return sum;
  }

  /**
   * Four queries per pass: the row is loaded and decoded once per lane group and feeds four FMA
   * chains, so batched scans move a quarter of the bytes per query.
   */
  @Override
  public void dotMany(int encoding, MemorySegment data, long offset, float[][] queries, int count, float[] out) {
    int j = 0;
    for (; j + 4 <= count; j += 4) {
      dot4(encoding, data, offset, queries[j], queries[j + 1], queries[j + 2], queries[j + 3], out, j);
    }
    for (; j < count; j++) {
      out[j] =
          switch (encoding) {
            case 0 -> dotF32(data, offset, queries[j]);
            case 1 -> dotF16(data, offset, queries[j]);
            default -> dotI8(data, offset, queries[j]);
          };
    }
  }

  /*
   * One method per encoding rather than a switch inside the loop: C2 keeps vectors in registers
   * only when every value reaching a loop phi has the same shape, so the decode step is fixed per
   * method.
   */
  private void dot4(int encoding, MemorySegment data, long offset, float[] q0, float[] q1, float[] q2, float[] q3, float[] out, int at) {
    switch (encoding) {
      case 0 -> dot4F32(data, offset, q0, q1, q2, q3, out, at);
      case 1 -> dot4F16(data, offset, q0, q1, q2, q3, out, at);
      default -> dot4I8(data, offset, q0, q1, q2, q3, out, at);
    }
  }

  private static void dot4F32(MemorySegment data, long offset, float[] q0, float[] q1, float[] q2, float[] q3, float[] out, int at) {
    int dim = q0.length;
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (int bound = dim - L; i <= bound; i += L) {
      FloatVector x = row32(data, offset, i);
      a0 = x.fma(FloatVector.fromArray(F, q0, i), a0);
      a1 = x.fma(FloatVector.fromArray(F, q1, i), a1);
      a2 = x.fma(FloatVector.fromArray(F, q2, i), a2);
      a3 = x.fma(FloatVector.fromArray(F, q3, i), a3);
    }
    finish4(0, data, offset, i, q0, q1, q2, q3, a0, a1, a2, a3, out, at);
  }

  private static void dot4F16(MemorySegment data, long offset, float[] q0, float[] q1, float[] q2, float[] q3, float[] out, int at) {
    int dim = q0.length;
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (int bound = dim - L; i <= bound; i += L) {
      FloatVector x = row16(data, offset, i);
      a0 = x.fma(FloatVector.fromArray(F, q0, i), a0);
      a1 = x.fma(FloatVector.fromArray(F, q1, i), a1);
      a2 = x.fma(FloatVector.fromArray(F, q2, i), a2);
      a3 = x.fma(FloatVector.fromArray(F, q3, i), a3);
    }
    finish4(1, data, offset, i, q0, q1, q2, q3, a0, a1, a2, a3, out, at);
  }

  private static void dot4I8(MemorySegment data, long offset, float[] q0, float[] q1, float[] q2, float[] q3, float[] out, int at) {
    int dim = q0.length;
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (int bound = dim - L; i <= bound; i += L) {
      FloatVector x = row8(data, offset, i);
      a0 = x.fma(FloatVector.fromArray(F, q0, i), a0);
      a1 = x.fma(FloatVector.fromArray(F, q1, i), a1);
      a2 = x.fma(FloatVector.fromArray(F, q2, i), a2);
      a3 = x.fma(FloatVector.fromArray(F, q3, i), a3);
    }
    finish4(2, data, offset, i, q0, q1, q2, q3, a0, a1, a2, a3, out, at);
  }

  /** Reduces the four accumulators and adds the scalar tail from component {@code i} on. */
  private static void finish4(int encoding, MemorySegment data, long offset, int i, float[] q0, float[] q1, float[] q2, float[] q3,
      FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3, float[] out, int at) {
    float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
    float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
    for (; i < q0.length; i++) {
      float x =
          switch (encoding) {
            case 0 -> data.get(ScalarVectorOps.F32, offset + 4L * i);
            case 1 -> Float.float16ToFloat(data.get(ScalarVectorOps.F16, offset + 2L * i)) * 0x1p-112f;
            default -> data.get(ValueLayout.JAVA_BYTE, offset + i);
          };
      s0 = Math.fma(q0[i], x, s0);
      s1 = Math.fma(q1[i], x, s1);
      s2 = Math.fma(q2[i], x, s2);
      s3 = Math.fma(q3[i], x, s3);
    }
    out[at] = s0;
    out[at + 1] = s1;
    out[at + 2] = s2;
    out[at + 3] = s3;
  }

  @Override
  public float sum(MemorySegment data, long offset, long count) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 4L * L <= count; i += 4L * L) {
      long at = offset + 4 * i;
      a0 = a0.add(FloatVector.fromMemorySegment(F, data, at, LE));
      a1 = a1.add(FloatVector.fromMemorySegment(F, data, at + 4L * L, LE));
      a2 = a2.add(FloatVector.fromMemorySegment(F, data, at + 8L * L, LE));
      a3 = a3.add(FloatVector.fromMemorySegment(F, data, at + 12L * L, LE));
    }
    float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    for (; i < count; i++) {
      sum += data.get(ScalarVectorOps.F32, offset + 4 * i);
    }
    return sum;
  }

  private static FloatVector row32(MemorySegment data, long offset, int i) {
    return FloatVector.fromMemorySegment(F, data, offset + 4L * i, LE);
  }

  /** fp16 components {@code i..i+L} as fp32 times 2^-112 (see {@link VectorOps#F16_QUERY_SCALE}). */
  private static FloatVector row16(MemorySegment data, long offset, int i) {
    // S2I sign-extends, so after the shift bits 31..28 all hold the sign: keep bit 31, clear
    // 30..28, keep the exponent (27..23) and mantissa (22..13). Normals and subnormals alike.
    IntVector h = (IntVector) ShortVector.fromMemorySegment(S, data, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
    return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats();
  }

  private static FloatVector row8(MemorySegment data, long offset, int i) {
    return (FloatVector) ByteVector.fromMemorySegment(B, data, offset + i, LE).convertShape(VectorOperators.B2F, F, 0);
  }

  @Override
  public String toString() {
    return "PanamaVectorOps(" + F.vectorBitSize() + "-bit)";
  }
}
