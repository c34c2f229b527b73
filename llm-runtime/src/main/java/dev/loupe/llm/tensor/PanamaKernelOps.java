package dev.loupe.llm.tensor;

import static dev.loupe.llm.tensor.BlockCodec.F32;
import static dev.loupe.llm.tensor.BlockCodec.I16;
import static dev.loupe.llm.tensor.BlockCodec.I8;
import static dev.loupe.llm.tensor.BlockCodec.f16;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link KernelOps} on the Vector API at the platform's preferred width ({@code L} = 16 floats
 * with AVX-512, 8 with AVX2), reading the weights straight from the {@link MemorySegment}.
 *
 * <p>Quantized rows are loaded {@code L} bytes at a time, unpacked with byte-lane operations
 * (nibble masks and shifts, Q5_K/Q6_K high bits), widened to {@code L} floats with one
 * conversion, multiplied with the activations and accumulated per block (Q8_0/Q4_0: 32 elements)
 * or per scale group (K-quants: 32 or 16 elements); only then is the block's scale applied, with
 * one FMA per lane group. In {@link ActivationMode#GGML} the activations are integer levels, so
 * each lane's block sum is exact and the result differs from ggml's only in the order of the
 * scaled additions. Q8_0 and Q4_0 also have a four-vector form that reads each weight block once
 * for four inputs (batched prefill, speculative verification). With 512-bit vectors and quantized
 * activations (every {@link ActivationMode} but FP32), Q8_0 and Q4_0 multiply integer levels in
 * 16-bit lanes instead (see the section on integer levels), with the same bits; on matrices
 * interleaved at load ({@link InterleavedRows}) their group kernels compute 32 rows at once, with
 * the bits of {@link ScalarKernelOps}.
 *
 * <p>fp16 weights are decoded by moving bits: {@code (h << 13) & 0x8FFFE000} is the value times
 * 2^-112 as an fp32, exact for normal and subnormal halves, then multiplied by 2^112 (exact)
 * before it meets the activations, so no product underflows; infinities and NaN are not decoded
 * (weights never hold them).
 */
final class PanamaKernelOps implements KernelOps {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int L = F.length();
  private static final VectorSpecies<Byte> B =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
  private static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  PanamaKernelOps() {
    if (F.vectorBitSize() < 256) {
      throw new UnsupportedOperationException(
          "preferred vector width " + F.vectorBitSize() + " bits is below the 256 these kernels need");
    }
  }

  @Override
  public String toString() {
    return "Vector API, " + F.vectorBitSize() + "-bit";
  }

  @Override
  public float dot(WeightType type, MemorySegment w, long offset, int cols, Activations a, int v) {
    int xo = a.xOffset + v * cols;
    return switch (type) {
      case F32 -> dotF32(w, offset, cols, a.x, xo);
      case F16 -> dotF16(w, offset, cols, a.x, xo);
      case BF16 -> dotBf16(w, offset, cols, a.x, xo);
      case Q8_0 -> INT16 && a.levels != null
          ? dotQ8_0i(w, offset, cols / 32, a.levels, v * cols, a.scales, v * (cols / 32))
          : dotQ8_0(w, offset, cols / 32, a.x, xo, a.scales, v * (cols / 32));
      case Q4_0 -> INT16 && a.levels != null
          ? dotQ4_0i(w, offset, cols / 32, a.levels, v * cols, a.scales, v * (cols / 32))
          : dotQ4_0(w, offset, cols / 32, a.x, xo, a.scales, v * (cols / 32));
      case Q4_K -> dotQ4K(w, offset, cols / 256, a.x, xo, a.scales, v * (cols / 256), a.sums, v * (cols / 32));
      case Q5_K -> dotQ5K(w, offset, cols / 256, a.x, xo, a.scales, v * (cols / 256), a.sums, v * (cols / 32));
      case Q6_K -> dotQ6K(w, offset, cols / 256, a.x, xo, a.scales, v * (cols / 256));
    };
  }

  @Override
  public void dotAll(WeightType type, MemorySegment w, long offset, int cols, Activations a,
      float[] out, int outOffset, int outStride) {
    int v = 0;
    int nb = cols / 32;
    if (INT16 && a.levels != null && (type == WeightType.Q8_0 || type == WeightType.Q4_0)) {
      for (; v + 4 <= a.count; v += 4) {
        if (type == WeightType.Q8_0) {
          dot4Q8_0i(w, offset, nb, a, v, out, outOffset + v * outStride, outStride);
        } else {
          dot4Q4_0i(w, offset, nb, a, v, out, outOffset + v * outStride, outStride);
        }
      }
    } else if (type == WeightType.Q8_0) {
      for (; v + 4 <= a.count; v += 4) {
        dot4Q8_0(w, offset, nb, a, v, out, outOffset + v * outStride, outStride);
      }
    } else if (type == WeightType.Q4_0) {
      for (; v + 4 <= a.count; v += 4) {
        dot4Q4_0(w, offset, nb, a, v, out, outOffset + v * outStride, outStride);
      }
    }
    for (; v < a.count; v++) {
      out[outOffset + v * outStride] = dot(type, w, offset, cols, a, v);
    }
  }

  // ---------------------------------------------------------------- float rows

  private static float dotF32(MemorySegment w, long offset, int cols, float[] x, int xo) {
    int whole = cols - cols % (2 * L);
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xo + i), a0);
      a1 = FloatVector.fromMemorySegment(F, w, offset + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
    }
    float s = sum(a0.add(a1));
    for (int i = whole; i < cols; i++) {
      s += w.get(F32, offset + 4L * i) * x[xo + i];
    }
    return s;
  }

  private static FloatVector f16Lanes(MemorySegment w, long at) {
    IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, at, LE).convertShape(VectorOperators.S2I, I, 0);
    return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
  }

  private static float dotF16(MemorySegment w, long offset, int cols, float[] x, int xo) {
    int whole = cols - cols % (2 * L);
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = f16Lanes(w, offset + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), a0);
      a1 = f16Lanes(w, offset + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
    }
    float s = sum(a0.add(a1));
    for (int i = whole; i < cols; i++) {
      s += Float.float16ToFloat(w.get(I16, offset + 2L * i)) * x[xo + i];
    }
    return s;
  }

  private static FloatVector bf16Lanes(MemorySegment w, long at) {
    IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, at, LE).convertShape(VectorOperators.S2I, I, 0);
    return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  private static float dotBf16(MemorySegment w, long offset, int cols, float[] x, int xo) {
    int whole = cols - cols % (2 * L);
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    for (int i = 0; i < whole; i += 2 * L) {
      a0 = bf16Lanes(w, offset + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), a0);
      a1 = bf16Lanes(w, offset + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
    }
    float s = sum(a0.add(a1));
    for (int i = whole; i < cols; i++) {
      s += HalfFloats.bf16ToF32(w.get(I16, offset + 2L * i)) * x[xo + i];
    }
    return s;
  }

  // ---------------------------------------------------------------- float rows (attention, SwiGLU)

  /**
   * Lane = position: four vectors of fma chains per {@code L} positions (L, 8 or 16, divides the
   * block of 16), as the scalar reference sums each one.
   */
  @Override
  public void dotColumns(float[] q, int qo, float[] k, int ko, int dims, float[] out, int oo) {
    int whole = dims & ~3, b = FloatRows.KEY_BLOCK;
    for (int j = 0; j < b; j += L) {
      FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
      int d = 0;
      for (; d < whole; d += 4) {
        c0 = FloatVector.fromArray(F, k, ko + d * b + j).fma(FloatVector.broadcast(F, q[qo + d]), c0);
        c1 = FloatVector.fromArray(F, k, ko + (d + 1) * b + j).fma(FloatVector.broadcast(F, q[qo + d + 1]), c1);
        c2 = FloatVector.fromArray(F, k, ko + (d + 2) * b + j).fma(FloatVector.broadcast(F, q[qo + d + 2]), c2);
        c3 = FloatVector.fromArray(F, k, ko + (d + 3) * b + j).fma(FloatVector.broadcast(F, q[qo + d + 3]), c3);
      }
      for (; d < dims; d++) {
        c0 = FloatVector.fromArray(F, k, ko + d * b + j).fma(FloatVector.broadcast(F, q[qo + d]), c0);
      }
      c0.add(c1).add(c2.add(c3)).intoArray(out, oo + j);
    }
  }

  /** Each lane group of {@code y} stays in a register through the rows; the tail element by element, rows in order. */
  @Override
  public void axpyRows(float[] p, int po, int rows, float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector acc = FloatVector.fromArray(F, y, yo + i);
      for (int r = 0; r < rows; r++) {
        acc = acc.add(FloatVector.fromArray(F, x, xo + r * n + i).mul(p[po + r]));
      }
      acc.intoArray(y, yo + i);
    }
    for (; i < n; i++) {
      float acc = y[yo + i];
      for (int r = 0; r < rows; r++) {
        acc += p[po + r] * x[xo + r * n + i];
      }
      y[yo + i] = acc;
    }
  }

  /** {@link FastExp#exp} on every lane: the same operations, so the same bits as the scalar form. */
  private static FloatVector exp(FloatVector x) {
    x = x.max(FastExp.LO).min(FastExp.HI);
    FloatVector n = x.fma(FastExp.LOG2E, FastExp.ROUND).sub(FastExp.ROUND);
    FloatVector r = n.fma(bc(-FastExp.LN2_HI), x);
    r = n.fma(bc(-FastExp.LN2_LO), r);
    FloatVector p = r.fma(FastExp.P0, FastExp.P1);
    p = p.fma(r, bc(FastExp.P2));
    p = p.fma(r, bc(FastExp.P3));
    p = p.fma(r, bc(FastExp.P4));
    p = p.fma(r, bc(FastExp.P5));
    FloatVector y = p.fma(r.mul(r), r).add(1f);
    IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0), half = ni.lanewise(VectorOperators.ASHR, 1);
    FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    return y.mul(s1).mul(s2);
  }

  /** The tails run the same lanes under a mask, so a value's bits do not depend on where a call starts or ends. */
  @Override
  public double expShifted(float[] s, int so, int n, float max) {
    FloatVector sum = FloatVector.zero(F);
    int j = 0;
    for (; j + L <= n; j += L) {
      FloatVector e = exp(FloatVector.fromArray(F, s, so + j).sub(max));
      e.intoArray(s, so + j);
      sum = sum.add(e);
    }
    if (j < n) {
      VectorMask<Float> m = F.indexInRange(j, n);
      FloatVector e = exp(FloatVector.fromArray(F, s, so + j, m).sub(max));
      e.intoArray(s, so + j, m);
      sum = sum.add(e, m);
    }
    return tree(sum);
  }

  @Override
  public void swiGlu(float[] gate, float[] up, int from, int to) {
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector g = FloatVector.fromArray(F, gate, i);
      g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
    }
    if (i < to) {
      VectorMask<Float> m = F.indexInRange(i, to);
      FloatVector g = FloatVector.fromArray(F, gate, i, m);
      g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(F, up, i, m)).intoArray(gate, i, m);
    }
  }

  // ---------------------------------------------------------------- Q8_0 / Q4_0

  /**
   * {@code (b >>> n) & mask} per byte lane. x86 has no byte shift, so shifting bytes directly makes
   * the JIT widen and narrow; shifting the same bits as 32-bit lanes and masking is two instructions.
   */
  private static ByteVector shr(ByteVector b, int n, int mask) {
    return b.reinterpretAsInts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes().and((byte) mask);
  }

  /** {@code (b << n) & mask} per byte lane, the mask dropping the bits shifted in from the next byte. */
  private static ByteVector shl(ByteVector b, int n, int mask) {
    return b.reinterpretAsInts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes().and((byte) mask);
  }

  /** Bit {@code bit} of each byte moved to bit 4 (value 0 or 16). */
  private static ByteVector bitTo4(ByteVector b, int bit) {
    return bit <= 4 ? shl(b, 4 - bit, 0x10) : shr(b, bit - 4, 0x10);
  }

  /**
   * The lanes' sum, added in lane order. {@code reduceLanes(ADD)} leaves the order unspecified and
   * the JIT's order differs from the interpreter's, which would make the same row give different
   * bits before and after compilation (and batched and single passes disagree).
   */
  private static float sum(FloatVector v) {
    float s = v.lane(0);
    for (int i = 1; i < L; i++) {
      s += v.lane(i);
    }
    return s;
  }

  private static FloatVector bc(float s) {
    return FloatVector.broadcast(F, s);
  }

  private static FloatVector widen(ByteVector b) {
    return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
  }

  private static FloatVector q8Lanes(MemorySegment w, long at) {
    return widen(ByteVector.fromMemorySegment(B, w, at, LE));
  }

  /*
   * Q8_0 and Q4_0 share one arithmetic for every (row, vector) pair, whichever kernel computes it:
   * per block, s = q[0..L)·x[0..L) then s = fma(q[k..k+L), x[k..k+L), s) for the block's further
   * lane groups in element order (Q4_0: low nibbles of a group, then the high nibbles they share a
   * byte with); even blocks go to one accumulator and odd ones to another, acc = fma(s, d·xs[b],
   * acc); the row's value is tree(even + odd). So the one-row decode kernel and the four-vector
   * batch kernel give the same bits for the same row and vector, and batched prefill equals
   * token-by-token decoding. (Streaming four rows side by side shares activation loads but halved
   * the rate from DRAM on this machine's prefetchers: one row at a time streams best.)
   */

  private static final VectorShuffle<Float> ROT1 = rotation(1), ROT2 = rotation(2), ROT4 = rotation(4),
      ROT8 = rotation(L >= 16 ? 8 : 4);

  private static VectorShuffle<Float> rotation(int n) {
    return VectorShuffle.fromOp(F, i -> (i + n) % L);
  }

  /**
   * The lanes' sum by halving (lane i + lane i+L/2, ...): one order whatever compiles it (the
   * interpreter and C2 agree, as they would not for {@code reduceLanes(ADD)}), and four shuffles
   * instead of fifteen lane extractions.
   */
  private static float tree(FloatVector v) {
    if (L >= 16) {
      v = v.add(v.rearrange(ROT8));
    }
    v = v.add(v.rearrange(ROT4));
    v = v.add(v.rearrange(ROT2));
    v = v.add(v.rearrange(ROT1));
    return v.lane(0);
  }

  /** The lane sums of one Q8_0 block at {@code p} with {@code x[xo..xo+32)}. */
  private static FloatVector blockQ8_0(MemorySegment w, long p, float[] x, int xo) {
    FloatVector s = q8Lanes(w, p + 2).mul(FloatVector.fromArray(F, x, xo));
    for (int k = L; k < 32; k += L) {
      s = q8Lanes(w, p + 2 + k).fma(FloatVector.fromArray(F, x, xo + k), s);
    }
    return s;
  }

  /** The lane sums of one Q4_0 block at {@code p} with {@code x[xo..xo+32)}. */
  private static FloatVector blockQ4_0(MemorySegment w, long p, float[] x, int xo) {
    ByteVector q = ByteVector.fromMemorySegment(B, w, p + 2, LE);
    FloatVector s = widen(q.and((byte) 0x0F).sub((byte) 8)).mul(FloatVector.fromArray(F, x, xo));
    s = widen(shr(q, 4, 0x0F).sub((byte) 8)).fma(FloatVector.fromArray(F, x, xo + 16), s);
    for (int k = L; k < 16; k += L) {
      q = ByteVector.fromMemorySegment(B, w, p + 2 + k, LE);
      s = widen(q.and((byte) 0x0F).sub((byte) 8)).fma(FloatVector.fromArray(F, x, xo + k), s);
      s = widen(shr(q, 4, 0x0F).sub((byte) 8)).fma(FloatVector.fromArray(F, x, xo + 16 + k), s);
    }
    return s;
  }

  private static float dotQ8_0(MemorySegment w, long offset, int nb, float[] x, int xo, float[] xs, int so) {
    FloatVector even = FloatVector.zero(F), odd = even;
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
      long p = offset + 34L * b;
      even = blockQ8_0(w, p, x, xo + 32 * b).fma(bc(f16(w, p) * xs[so + b]), even);
      odd = blockQ8_0(w, p + 34, x, xo + 32 * b + 32).fma(bc(f16(w, p + 34) * xs[so + b + 1]), odd);
    }
    if (b < nb) {
      long p = offset + 34L * b;
      even = blockQ8_0(w, p, x, xo + 32 * b).fma(bc(f16(w, p) * xs[so + b]), even);
    }
    return tree(even.add(odd));
  }

  private static float dotQ4_0(MemorySegment w, long offset, int nb, float[] x, int xo, float[] xs, int so) {
    FloatVector even = FloatVector.zero(F), odd = even;
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
      long p = offset + 18L * b;
      even = blockQ4_0(w, p, x, xo + 32 * b).fma(bc(f16(w, p) * xs[so + b]), even);
      odd = blockQ4_0(w, p + 18, x, xo + 32 * b + 32).fma(bc(f16(w, p + 18) * xs[so + b + 1]), odd);
    }
    if (b < nb) {
      long p = offset + 18L * b;
      even = blockQ4_0(w, p, x, xo + 32 * b).fma(bc(f16(w, p) * xs[so + b]), even);
    }
    return tree(even.add(odd));
  }

  /**
   * One Q8_0 row against vectors {@code v..v+3}: each weight lane group is loaded and widened once
   * for four inputs (batched prefill, speculative verification). Q8_0 and Q4_0 have separate
   * methods to keep each small enough for C2 to inline every vector operation (a vector passed to a
   * method that is not inlined is boxed).
   */
  private static void dot4Q8_0(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride) {
    int cols = a.cols;
    float[] x = a.x, xs = a.scales;
    int x0 = a.xOffset + v * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
    int s0 = v * nb, s1 = s0 + nb, s2 = s1 + nb, s3 = s2 + nb;
    FloatVector zero = FloatVector.zero(F);
    FloatVector e0 = zero, e1 = zero, e2 = zero, e3 = zero; // the next block's parity
    FloatVector o0 = zero, o1 = zero, o2 = zero, o3 = zero; // the other parity
    for (int b = 0; b < nb; b++) {
      long p = offset + 34L * b;
      int e = 32 * b;
      FloatVector q = q8Lanes(w, p + 2);
      FloatVector p0 = q.mul(FloatVector.fromArray(F, x, x0 + e)), p1 = q.mul(FloatVector.fromArray(F, x, x1 + e));
      FloatVector p2 = q.mul(FloatVector.fromArray(F, x, x2 + e)), p3 = q.mul(FloatVector.fromArray(F, x, x3 + e));
      for (int k = L; k < 32; k += L) {
        q = q8Lanes(w, p + 2 + k);
        p0 = q.fma(FloatVector.fromArray(F, x, x0 + e + k), p0);
        p1 = q.fma(FloatVector.fromArray(F, x, x1 + e + k), p1);
        p2 = q.fma(FloatVector.fromArray(F, x, x2 + e + k), p2);
        p3 = q.fma(FloatVector.fromArray(F, x, x3 + e + k), p3);
      }
      float d = f16(w, p);
      // block b adds into e (its parity's accumulator), then e and o swap roles: no branch, so
      // the loop body holds each vector operation once (C2's node budget)
      FloatVector t0 = p0.fma(bc(d * xs[s0 + b]), e0), t1 = p1.fma(bc(d * xs[s1 + b]), e1);
      FloatVector t2 = p2.fma(bc(d * xs[s2 + b]), e2), t3 = p3.fma(bc(d * xs[s3 + b]), e3);
      e0 = o0; e1 = o1; e2 = o2; e3 = o3;
      o0 = t0; o1 = t1; o2 = t2; o3 = t3;
    }
    out[o] = tree(e0.add(o0));
    out[o + stride] = tree(e1.add(o1));
    out[o + 2 * stride] = tree(e2.add(o2));
    out[o + 3 * stride] = tree(e3.add(o3));
  }

  /** {@link #dot4Q8_0} for Q4_0. */
  private static void dot4Q4_0(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride) {
    int cols = a.cols;
    float[] x = a.x, xs = a.scales;
    int x0 = a.xOffset + v * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
    int s0 = v * nb, s1 = s0 + nb, s2 = s1 + nb, s3 = s2 + nb;
    FloatVector zero = FloatVector.zero(F);
    FloatVector e0 = zero, e1 = zero, e2 = zero, e3 = zero; // the next block's parity
    FloatVector o0 = zero, o1 = zero, o2 = zero, o3 = zero; // the other parity
    for (int b = 0; b < nb; b++) {
      long p = offset + 18L * b;
      int e = 32 * b;
      ByteVector q = ByteVector.fromMemorySegment(B, w, p + 2, LE);
      FloatVector lo = widen(q.and((byte) 0x0F).sub((byte) 8)), hi = widen(shr(q, 4, 0x0F).sub((byte) 8));
      FloatVector p0 = hi.fma(FloatVector.fromArray(F, x, x0 + e + 16), lo.mul(FloatVector.fromArray(F, x, x0 + e)));
      FloatVector p1 = hi.fma(FloatVector.fromArray(F, x, x1 + e + 16), lo.mul(FloatVector.fromArray(F, x, x1 + e)));
      FloatVector p2 = hi.fma(FloatVector.fromArray(F, x, x2 + e + 16), lo.mul(FloatVector.fromArray(F, x, x2 + e)));
      FloatVector p3 = hi.fma(FloatVector.fromArray(F, x, x3 + e + 16), lo.mul(FloatVector.fromArray(F, x, x3 + e)));
      for (int k = L; k < 16; k += L) {
        q = ByteVector.fromMemorySegment(B, w, p + 2 + k, LE);
        lo = widen(q.and((byte) 0x0F).sub((byte) 8));
        hi = widen(shr(q, 4, 0x0F).sub((byte) 8));
        int lx = e + k, hx = e + 16 + k;
        p0 = hi.fma(FloatVector.fromArray(F, x, x0 + hx), lo.fma(FloatVector.fromArray(F, x, x0 + lx), p0));
        p1 = hi.fma(FloatVector.fromArray(F, x, x1 + hx), lo.fma(FloatVector.fromArray(F, x, x1 + lx), p1));
        p2 = hi.fma(FloatVector.fromArray(F, x, x2 + hx), lo.fma(FloatVector.fromArray(F, x, x2 + lx), p2));
        p3 = hi.fma(FloatVector.fromArray(F, x, x3 + hx), lo.fma(FloatVector.fromArray(F, x, x3 + lx), p3));
      }
      float d = f16(w, p);
      // block b adds into e (its parity's accumulator), then e and o swap roles: no branch, so
      // the loop body holds each vector operation once (C2's node budget)
      FloatVector t0 = p0.fma(bc(d * xs[s0 + b]), e0), t1 = p1.fma(bc(d * xs[s1 + b]), e1);
      FloatVector t2 = p2.fma(bc(d * xs[s2 + b]), e2), t3 = p3.fma(bc(d * xs[s3 + b]), e3);
      e0 = o0; e1 = o1; e2 = o2; e3 = o3;
      o0 = t0; o1 = t1; o2 = t2; o3 = t3;
    }
    out[o] = tree(e0.add(o0));
    out[o + stride] = tree(e1.add(o1));
    out[o + 2 * stride] = tree(e2.add(o2));
    out[o + 3 * stride] = tree(e3.add(o3));
  }

  // ---------------------------------------------------------------- Q8_0/Q4_0, integer levels

  /*
   * With 16 float lanes (AVX-512) and integer activation levels (GGML and Q8 modes), lane i of a
   * block's sums above is q[i]·a[i] + q[16+i]·a[16+i] (Q4_0: low nibble i with element i, high
   * nibble i with element 16+i), an integer. These kernels compute exactly those integers in short
   * lanes (|q| ≤ 128, and the levels |a| ≤ 127 because ActivationQuantizer scales the block's
   * largest magnitude to 127, so a lane is at most 2·128·127 = 32,512), convert them to floats once
   * and apply the block's scale as the float kernels do: the same bits as the float kernels on the
   * same input (IntegerKernelsTest), with one conversion and one float multiply-add per block where
   * the float kernels widen every weight to float and multiply-add twice more. The four-vector forms
   * unpack each weight block once for four inputs.
   */

  private static final boolean INT16 = L == 16;
  private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
  private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;

  /** 16 weight bytes at {@code at}, sign-extended to shorts. */
  private static ShortVector shorts16(MemorySegment w, long at) {
    return (ShortVector) ByteVector.fromMemorySegment(B16, w, at, LE).convertShape(VectorOperators.B2S, S16, 0);
  }

  private static FloatVector floats(ShortVector s) {
    return (FloatVector) s.convertShape(VectorOperators.S2F, F, 0);
  }

  private static ShortVector levels(short[] a, int at) {
    return ShortVector.fromArray(S16, a, at);
  }

  /** 16 weight bytes at {@code at}, zero-extended to shorts (Q4_0: the nibbles need no mask then). */
  private static ShortVector unsigned16(MemorySegment w, long at) {
    return (ShortVector) ByteVector.fromMemorySegment(B16, w, at, LE)
        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
  }

  /** Low nibbles minus 8 of 16 zero-extended Q4_0 bytes. */
  private static ShortVector low(ShortVector q) {
    return q.and((short) 0x0F).sub((short) 8);
  }

  /** High nibbles minus 8. */
  private static ShortVector high(ShortVector q) {
    return q.lanewise(VectorOperators.LSHR, 4).sub((short) 8);
  }

  private static float dotQ8_0i(MemorySegment w, long offset, int nb, short[] a, int ao, float[] xs, int so) {
    FloatVector even = FloatVector.zero(F), odd = even;
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
      long p = offset + 34L * b;
      int e = ao + 32 * b;
      ShortVector s0 = shorts16(w, p + 2).mul(levels(a, e)).add(shorts16(w, p + 18).mul(levels(a, e + 16)));
      ShortVector s1 = shorts16(w, p + 36).mul(levels(a, e + 32)).add(shorts16(w, p + 52).mul(levels(a, e + 48)));
      even = floats(s0).fma(bc(f16(w, p) * xs[so + b]), even);
      odd = floats(s1).fma(bc(f16(w, p + 34) * xs[so + b + 1]), odd);
    }
    if (b < nb) {
      long p = offset + 34L * b;
      int e = ao + 32 * b;
      ShortVector s0 = shorts16(w, p + 2).mul(levels(a, e)).add(shorts16(w, p + 18).mul(levels(a, e + 16)));
      even = floats(s0).fma(bc(f16(w, p) * xs[so + b]), even);
    }
    return tree(even.add(odd));
  }

  private static float dotQ4_0i(MemorySegment w, long offset, int nb, short[] a, int ao, float[] xs, int so) {
    FloatVector even = FloatVector.zero(F), odd = even;
    int b = 0;
    for (; b + 2 <= nb; b += 2) {
      long p = offset + 18L * b;
      int e = ao + 32 * b;
      ShortVector q0 = unsigned16(w, p + 2), q1 = unsigned16(w, p + 20);
      ShortVector s0 = low(q0).mul(levels(a, e)).add(high(q0).mul(levels(a, e + 16)));
      ShortVector s1 = low(q1).mul(levels(a, e + 32)).add(high(q1).mul(levels(a, e + 48)));
      even = floats(s0).fma(bc(f16(w, p) * xs[so + b]), even);
      odd = floats(s1).fma(bc(f16(w, p + 18) * xs[so + b + 1]), odd);
    }
    if (b < nb) {
      long p = offset + 18L * b;
      int e = ao + 32 * b;
      ShortVector q0 = unsigned16(w, p + 2);
      ShortVector s0 = low(q0).mul(levels(a, e)).add(high(q0).mul(levels(a, e + 16)));
      even = floats(s0).fma(bc(f16(w, p) * xs[so + b]), even);
    }
    return tree(even.add(odd));
  }

  /** {@link #dot4Q8_0} on integer levels: each weight block is loaded and widened once for four vectors. */
  private static void dot4Q8_0i(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride) {
    int cols = a.cols;
    short[] x = a.levels;
    float[] xs = a.scales;
    int x0 = v * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
    int s0 = v * nb, s1 = s0 + nb, s2 = s1 + nb, s3 = s2 + nb;
    FloatVector zero = FloatVector.zero(F);
    FloatVector e0 = zero, e1 = zero, e2 = zero, e3 = zero; // the next block's parity
    FloatVector o0 = zero, o1 = zero, o2 = zero, o3 = zero; // the other parity
    for (int b = 0; b < nb; b++) {
      long p = offset + 34L * b;
      int e = 32 * b;
      ShortVector lo = shorts16(w, p + 2), hi = shorts16(w, p + 18);
      FloatVector p0 = floats(lo.mul(levels(x, x0 + e)).add(hi.mul(levels(x, x0 + e + 16))));
      FloatVector p1 = floats(lo.mul(levels(x, x1 + e)).add(hi.mul(levels(x, x1 + e + 16))));
      FloatVector p2 = floats(lo.mul(levels(x, x2 + e)).add(hi.mul(levels(x, x2 + e + 16))));
      FloatVector p3 = floats(lo.mul(levels(x, x3 + e)).add(hi.mul(levels(x, x3 + e + 16))));
      float d = f16(w, p);
      // block b adds into e (its parity's accumulator), then e and o swap roles: no branch, so
      // the loop body holds each vector operation once (C2's node budget)
      FloatVector t0 = p0.fma(bc(d * xs[s0 + b]), e0), t1 = p1.fma(bc(d * xs[s1 + b]), e1);
      FloatVector t2 = p2.fma(bc(d * xs[s2 + b]), e2), t3 = p3.fma(bc(d * xs[s3 + b]), e3);
      e0 = o0; e1 = o1; e2 = o2; e3 = o3;
      o0 = t0; o1 = t1; o2 = t2; o3 = t3;
    }
    out[o] = tree(e0.add(o0));
    out[o + stride] = tree(e1.add(o1));
    out[o + 2 * stride] = tree(e2.add(o2));
    out[o + 3 * stride] = tree(e3.add(o3));
  }

  /** {@link #dot4Q8_0i} for Q4_0: the nibbles are unpacked once for four vectors. */
  private static void dot4Q4_0i(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride) {
    int cols = a.cols;
    short[] x = a.levels;
    float[] xs = a.scales;
    int x0 = v * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
    int s0 = v * nb, s1 = s0 + nb, s2 = s1 + nb, s3 = s2 + nb;
    FloatVector zero = FloatVector.zero(F);
    FloatVector e0 = zero, e1 = zero, e2 = zero, e3 = zero; // the next block's parity
    FloatVector o0 = zero, o1 = zero, o2 = zero, o3 = zero; // the other parity
    for (int b = 0; b < nb; b++) {
      long p = offset + 18L * b;
      int e = 32 * b;
      ShortVector q = unsigned16(w, p + 2);
      ShortVector lo = low(q), hi = high(q);
      FloatVector p0 = floats(lo.mul(levels(x, x0 + e)).add(hi.mul(levels(x, x0 + e + 16))));
      FloatVector p1 = floats(lo.mul(levels(x, x1 + e)).add(hi.mul(levels(x, x1 + e + 16))));
      FloatVector p2 = floats(lo.mul(levels(x, x2 + e)).add(hi.mul(levels(x, x2 + e + 16))));
      FloatVector p3 = floats(lo.mul(levels(x, x3 + e)).add(hi.mul(levels(x, x3 + e + 16))));
      float d = f16(w, p);
      // block b adds into e (its parity's accumulator), then e and o swap roles: no branch, so
      // the loop body holds each vector operation once (C2's node budget)
      FloatVector t0 = p0.fma(bc(d * xs[s0 + b]), e0), t1 = p1.fma(bc(d * xs[s1 + b]), e1);
      FloatVector t2 = p2.fma(bc(d * xs[s2 + b]), e2), t3 = p3.fma(bc(d * xs[s3 + b]), e3);
      e0 = o0; e1 = o1; e2 = o2; e3 = o3;
      o0 = t0; o1 = t1; o2 = t2; o3 = t3;
    }
    out[o] = tree(e0.add(o0));
    out[o + stride] = tree(e1.add(o1));
    out[o + 2 * stride] = tree(e2.add(o2));
    out[o + 3 * stride] = tree(e3.add(o3));
  }

  // ---------------------------------------------------------------- Q4_0, interleaved rows

  /*
   * Q4_0Interleaved puts byte k of a block of 32 rows side by side, so one 32-byte load,
   * zero-extended to 32 short lanes, holds element k (low nibbles) and element 16+k (high nibbles)
   * of 32 rows, lane = row. The whole byte is multiplied by the level a[k] and its high nibble by
   * a[16+k] − 16·a[k] (Activations.nibbleLevels), which sums to low·a[k] + high·a[16+k] without
   * masking the low nibble; the nibbles' offset of 8 enters once per block as −8·Σa. The short
   * lanes wrap, but each row's true block sum, at most 32·8·127 = 32,512 in magnitude, fits in 16
   * bits, so the wrapped sum is exact. Then one conversion to float and one scale step serve 32
   * rows: s = s + isum·(d·xs), in block order, the scalar reference's order. No horizontal sums.
   */

  private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
  private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;

  @Override
  public boolean interleaves(WeightType type) {
    return INT16 && (type == WeightType.Q4_0
        || (type == WeightType.Q8_0 && Boolean.parseBoolean(System.getProperty(INTERLEAVE_Q8_0, "true"))));
  }

  /**
   * The system property ({@code false}) that turns off the interleaved Q8_0 layout, on by default:
   * whole-model decode runs at 1.2–1.3× llama.cpp with it against 0.75× without. One early start
   * of the bench (of 39 since, with the same kernels) decoded ten times slower for its whole run,
   * with a grown heap, as if the JIT had compiled the kernel without its vector intrinsics (cause
   * not established); should that show, this property turns the layout off.
   */
  public static final String INTERLEAVE_Q8_0 = "loupe.llm.interleaveQ8_0";

  @Override
  public void dotGroup(InterleavedRows m, int g, Activations a, float[] out, int outOffset, int outStride) {
    if (!INT16) {
      throw new UnsupportedOperationException("interleaved matrices need 512-bit vectors; " + this + " has none");
    }
    switch (m) {
      case Q4_0Interleaved q -> dotQ4_0Group(q, g, a, out, outOffset, outStride);
      case Q8_0Interleaved q -> dotQ8_0Group(q, g, a, out, outOffset, outStride);
    }
  }

  private static void dotQ4_0Group(Q4_0Interleaved m, int g, Activations a, float[] out, int outOffset, int outStride) {
    MemorySegment w = m.data();
    long offset = g * m.groupBytes();
    int nb = m.cols() / 32, n = m.rowsIn(g);
    // two vectors at a time, each slice unpacked once for both; the group (cols·18 bytes) stays in
    // L2 for the next pair. A four-vector form ran at about half the speed (C2 seems to run out of
    // its node budget and box vectors).
    int v = 0;
    for (; v + 2 <= a.count; v += 2) {
      groupQ4_0x2(w, offset, nb, a, v, out, outOffset + v * outStride, outStride, n);
    }
    for (; v < a.count; v++) {
      groupQ4_0(w, offset, nb, a.nibbleLevels, v * a.cols, a.offsets, a.scales, v * nb, out, outOffset + v * outStride, n);
    }
  }

  /*
   * The group kernels call no helper of this class on vectors: a helper that C2 has already
   * compiled on its own (as a caller elsewhere made it hot) counts as big and is not inlined, and a
   * vector crossing a call that is not inlined is boxed, which cost a first version a third of its
   * speed.
   */

  private static void groupQ4_0(MemorySegment w, long offset, int nb, short[] x, int xo, short[] off, float[] xs, int so,
      float[] out, int o, int n) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (long) Q4_0Interleaved.BLOCK_BYTES * b;
      int e = xo + 32 * b;
      ShortVector lo = ShortVector.broadcast(S32, off[so + b]), hi = ShortVector.zero(S32);
      for (int k = 0; k < 16; k++) {
        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, w, p + 64 + 32 * k, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
        lo = lo.add(q.mul(x[e + k]));
        hi = hi.add(q.lanewise(VectorOperators.LSHR, 4).mul(x[e + 16 + k]));
      }
      ShortVector isum = lo.add(hi);
      // the 32 fp16 scales as two halves of fp32 bits, decoded as f16Lanes does
      IntVector h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 1);
      FloatVector d1 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      FloatVector ds = FloatVector.broadcast(F, xs[so + b]);
      s0 = s0.add(((FloatVector) isum.convertShape(VectorOperators.S2F, F, 0)).mul(d0.mul(ds)));
      s1 = s1.add(((FloatVector) isum.convertShape(VectorOperators.S2F, F, 1)).mul(d1.mul(ds)));
    }
    if (n == 32) {
      s0.intoArray(out, o);
      s1.intoArray(out, o + 16);
    } else {
      s0.intoArray(out, o, F.indexInRange(0, n));
      s1.intoArray(out, o + 16, F.indexInRange(16, n));
    }
  }

  /** {@link #groupQ4_0} for vectors {@code v} and {@code v+1}, each slice loaded and unpacked once for both. */
  private static void groupQ4_0x2(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride, int n) {
    short[] x = a.nibbleLevels, off = a.offsets;
    float[] xs = a.scales;
    int x0 = v * a.cols, x1 = x0 + a.cols;
    int q0 = v * nb, q1 = q0 + nb;
    FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (long) Q4_0Interleaved.BLOCK_BYTES * b;
      int e0 = x0 + 32 * b, e1 = x1 + 32 * b;
      ShortVector l0 = ShortVector.broadcast(S32, off[q0 + b]), l1 = ShortVector.broadcast(S32, off[q1 + b]);
      ShortVector h0 = ShortVector.zero(S32), h1 = h0;
      for (int k = 0; k < 16; k++) {
        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, w, p + 64 + 32 * k, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
        ShortVector hi = q.lanewise(VectorOperators.LSHR, 4);
        l0 = l0.add(q.mul(x[e0 + k]));
        h0 = h0.add(hi.mul(x[e0 + 16 + k]));
        l1 = l1.add(q.mul(x[e1 + k]));
        h1 = h1.add(hi.mul(x[e1 + 16 + k]));
      }
      ShortVector i0 = l0.add(h0), i1 = l1.add(h1);
      IntVector h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 1);
      FloatVector d1 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      FloatVector ds = FloatVector.broadcast(F, xs[q0 + b]);
      a0 = a0.add(((FloatVector) i0.convertShape(VectorOperators.S2F, F, 0)).mul(d0.mul(ds)));
      b0 = b0.add(((FloatVector) i0.convertShape(VectorOperators.S2F, F, 1)).mul(d1.mul(ds)));
      ds = FloatVector.broadcast(F, xs[q1 + b]);
      a1 = a1.add(((FloatVector) i1.convertShape(VectorOperators.S2F, F, 0)).mul(d0.mul(ds)));
      b1 = b1.add(((FloatVector) i1.convertShape(VectorOperators.S2F, F, 1)).mul(d1.mul(ds)));
    }
    VectorMask<Float> m0 = F.indexInRange(0, n), m1 = F.indexInRange(16, n);
    a0.intoArray(out, o, m0);
    b0.intoArray(out, o + 16, m1);
    a1.intoArray(out, o + stride, m0);
    b1.intoArray(out, o + stride + 16, m1);
  }

  // ---------------------------------------------------------------- Q8_0, interleaved rows

  /*
   * Q8_0Interleaved puts int8 element k of a block of 32 rows side by side, so one 32-byte load
   * holds element k of 32 rows, lane = row. A Q8_0 block sum does not fit 16-bit lanes (up to
   * 32·128·127 = 520,192; the wrap of the Q4_0 kernel does not apply), but the products of two
   * slices do (|w0·a0 + w1·a1| ≤ 2·128·127 = 32,512): the one-vector kernel (decode) sign-extends
   * two slices to 32 short lanes, multiplies them by their broadcast levels, adds them, and widens
   * the pair's sums into two 16-lane int accumulators; the two- and four-vector kernels (prefill)
   * work in float lanes instead (see groupQ8_0x2). All give each row's exact integer block sum, so the
   * order of its terms does not matter; then one conversion and one scale step serve 32 rows:
   * s = s + isum·(d·xs), in block order, the scalar reference's order. No horizontal sums.
   */

  private static void dotQ8_0Group(Q8_0Interleaved m, int g, Activations a, float[] out, int outOffset, int outStride) {
    MemorySegment w = m.data();
    long offset = g * m.groupBytes();
    int nb = m.cols() / 32, n = m.rowsIn(g);
    // four vectors at a time (prefill, speculative verification), then two, then one (decode),
    // each slice converted once per pass. The four-vector pass raised whole-model prefill from
    // 0.66-0.71x llama.cpp to 0.84-0.88x. (An earlier four-vector form, in the session that first
    // interleaved Q8_0, decoded ten times slower in every run; this one did not in any start.)
    int v = 0;
    for (; v + 4 <= a.count; v += 4) {
      groupQ8_0x4(w, offset, nb, a, v, out, outOffset + v * outStride, outStride, n);
    }
    for (; v + 2 <= a.count; v += 2) {
      groupQ8_0x2(w, offset, nb, a, v, out, outOffset + v * outStride, outStride, n);
    }
    for (; v < a.count; v++) {
      groupQ8_0(w, offset, nb, a.levels, v * a.cols, a.scales, v * nb, out, outOffset + v * outStride, n);
    }
  }

  /** One vector in short lanes: two slices per step, their 32 rows' sums widened into two int accumulators. */
  private static void groupQ8_0(MemorySegment w, long offset, int nb, short[] x, int xo, float[] xs, int so,
      float[] out, int o, int n) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (long) Q8_0Interleaved.BLOCK_BYTES * b;
      int e = xo + 32 * b;
      IntVector i0 = IntVector.zero(I), i1 = i0;
      for (int k = 0; k < 32; k += 2) {
        long q = p + 64 + 32 * k;
        ShortVector w0 = (ShortVector) ByteVector.fromMemorySegment(B32, w, q, LE).convertShape(VectorOperators.B2S, S32, 0);
        ShortVector w1 = (ShortVector) ByteVector.fromMemorySegment(B32, w, q + 32, LE).convertShape(VectorOperators.B2S, S32, 0);
        ShortVector pr = w0.mul(x[e + k]).add(w1.mul(x[e + k + 1]));
        i0 = i0.add((IntVector) pr.convertShape(VectorOperators.S2I, I, 0));
        i1 = i1.add((IntVector) pr.convertShape(VectorOperators.S2I, I, 1));
      }
      IntVector h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 1);
      FloatVector d1 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      FloatVector ds = FloatVector.broadcast(F, xs[so + b]);
      s0 = s0.add(((FloatVector) i0.convertShape(VectorOperators.I2F, F, 0)).mul(d0.mul(ds)));
      s1 = s1.add(((FloatVector) i1.convertShape(VectorOperators.I2F, F, 0)).mul(d1.mul(ds)));
    }
    if (n == 32) {
      s0.intoArray(out, o);
      s1.intoArray(out, o + 16);
    } else {
      s0.intoArray(out, o, F.indexInRange(0, n));
      s1.intoArray(out, o + 16, F.indexInRange(16, n));
    }
  }

  /**
   * {@link #groupQ8_0} for vectors {@code v} and {@code v+1}, each slice loaded and converted once
   * for both, in float lanes: each slice's two 16-byte halves become two 16-float vectors (rows
   * 0–15 and 16–31) and meet the broadcast float level of each vector ({@link Activations#x}) in a
   * fused multiply-add. Every partial sum is an integer below 2^24 in magnitude, so each float
   * addition is exact and the block sums are the exact integers. For two vectors this beat the
   * short-lane form (ratio 0.87–0.95 for short lanes), which re-does the widening per vector.
   */
  private static void groupQ8_0x2(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride, int n) {
    float[] x = a.x, xs = a.scales;
    int x0 = v * a.cols, x1 = x0 + a.cols;
    int q0 = v * nb, q1 = q0 + nb;
    FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (long) Q8_0Interleaved.BLOCK_BYTES * b;
      int e0 = x0 + 32 * b, e1 = x1 + 32 * b;
      FloatVector l0 = FloatVector.zero(F), h0 = l0, l1 = l0, h1 = l0;
      for (int k = 0; k < 32; k++) {
        long q = p + 64 + 32 * k;
        FloatVector lo = (FloatVector) ByteVector.fromMemorySegment(B16, w, q, LE).convertShape(VectorOperators.B2F, F, 0);
        FloatVector hi = (FloatVector) ByteVector.fromMemorySegment(B16, w, q + 16, LE).convertShape(VectorOperators.B2F, F, 0);
        FloatVector xk = FloatVector.broadcast(F, x[e0 + k]);
        l0 = lo.fma(xk, l0);
        h0 = hi.fma(xk, h0);
        xk = FloatVector.broadcast(F, x[e1 + k]);
        l1 = lo.fma(xk, l1);
        h1 = hi.fma(xk, h1);
      }
      IntVector h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 1);
      FloatVector d1 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      FloatVector ds = FloatVector.broadcast(F, xs[q0 + b]);
      a0 = a0.add(l0.mul(d0.mul(ds)));
      b0 = b0.add(h0.mul(d1.mul(ds)));
      ds = FloatVector.broadcast(F, xs[q1 + b]);
      a1 = a1.add(l1.mul(d0.mul(ds)));
      b1 = b1.add(h1.mul(d1.mul(ds)));
    }
    VectorMask<Float> m0 = F.indexInRange(0, n), m1 = F.indexInRange(16, n);
    a0.intoArray(out, o, m0);
    b0.intoArray(out, o + 16, m1);
    a1.intoArray(out, o + stride, m0);
    b1.intoArray(out, o + stride + 16, m1);
  }

  /** {@link #groupQ8_0x2} for vectors {@code v..v+3}: each slice loaded and converted once for four. */
  private static void groupQ8_0x4(MemorySegment w, long offset, int nb, Activations a, int v,
      float[] out, int o, int stride, int n) {
    float[] x = a.x, xs = a.scales;
    int x0 = v * a.cols, x1 = x0 + a.cols, x2 = x1 + a.cols, x3 = x2 + a.cols;
    int q0 = v * nb, q1 = q0 + nb, q2 = q1 + nb, q3 = q2 + nb;
    FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
    for (int b = 0; b < nb; b++) {
      long p = offset + (long) Q8_0Interleaved.BLOCK_BYTES * b;
      int e0 = x0 + 32 * b, e1 = x1 + 32 * b, e2 = x2 + 32 * b, e3 = x3 + 32 * b;
      FloatVector l0 = FloatVector.zero(F), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
      for (int k = 0; k < 32; k++) {
        long q = p + 64 + 32 * k;
        FloatVector lo = (FloatVector) ByteVector.fromMemorySegment(B16, w, q, LE).convertShape(VectorOperators.B2F, F, 0);
        FloatVector hi = (FloatVector) ByteVector.fromMemorySegment(B16, w, q + 16, LE).convertShape(VectorOperators.B2F, F, 0);
        FloatVector xk = FloatVector.broadcast(F, x[e0 + k]);
        l0 = lo.fma(xk, l0);
        h0 = hi.fma(xk, h0);
        xk = FloatVector.broadcast(F, x[e1 + k]);
        l1 = lo.fma(xk, l1);
        h1 = hi.fma(xk, h1);
        xk = FloatVector.broadcast(F, x[e2 + k]);
        l2 = lo.fma(xk, l2);
        h2 = hi.fma(xk, h2);
        xk = FloatVector.broadcast(F, x[e3 + k]);
        l3 = lo.fma(xk, l3);
        h3 = hi.fma(xk, h3);
      }
      IntVector h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      h = (IntVector) ShortVector.fromMemorySegment(S32, w, p, LE).convertShape(VectorOperators.S2I, I, 1);
      FloatVector d1 = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
      FloatVector ds = FloatVector.broadcast(F, xs[q0 + b]);
      a0 = a0.add(l0.mul(d0.mul(ds)));
      b0 = b0.add(h0.mul(d1.mul(ds)));
      ds = FloatVector.broadcast(F, xs[q1 + b]);
      a1 = a1.add(l1.mul(d0.mul(ds)));
      b1 = b1.add(h1.mul(d1.mul(ds)));
      ds = FloatVector.broadcast(F, xs[q2 + b]);
      a2 = a2.add(l2.mul(d0.mul(ds)));
      b2 = b2.add(h2.mul(d1.mul(ds)));
      ds = FloatVector.broadcast(F, xs[q3 + b]);
      a3 = a3.add(l3.mul(d0.mul(ds)));
      b3 = b3.add(h3.mul(d1.mul(ds)));
    }
    VectorMask<Float> m0 = F.indexInRange(0, n), m1 = F.indexInRange(16, n);
    a0.intoArray(out, o, m0);
    b0.intoArray(out, o + 16, m1);
    a1.intoArray(out, o + stride, m0);
    b1.intoArray(out, o + stride + 16, m1);
    a2.intoArray(out, o + 2 * stride, m0);
    b2.intoArray(out, o + 2 * stride + 16, m1);
    a3.intoArray(out, o + 3 * stride, m0);
    b3.intoArray(out, o + 3 * stride + 16, m1);
  }

  // ---------------------------------------------------------------- K-quants

  /** Scale (low byte) and min (next byte) of sub-block {@code j}; see {@link BlockCodec#scaleMinK4}. */
  private static int scaleMin(MemorySegment w, long scales, int j) {
    if (j < 4) {
      return (w.get(I8, scales + j) & 63) | ((w.get(I8, scales + j + 4) & 63) << 8);
    }
    int qj4 = w.get(I8, scales + j + 4) & 0xFF;
    int sc = (qj4 & 0x0F) | (((w.get(I8, scales + j - 4) & 0xFF) >>> 6) << 4);
    int m = (qj4 >>> 4) | (((w.get(I8, scales + j) & 0xFF) >>> 6) << 4);
    return sc | (m << 8);
  }

  private static float dotQ4K(MemorySegment w, long offset, int nb, float[] x, int xo, float[] xs, int so,
      float[] sums, int go) {
    FloatVector acc = FloatVector.zero(F);
    float mins = 0;
    for (int b = 0; b < nb; b++) {
      long p = offset + 144L * b;
      float d = f16(w, p) * xs[so + b], dmin = f16(w, p + 2) * xs[so + b];
      for (int c = 0; c < 4; c++) {
        int sm1 = scaleMin(w, p + 4, 2 * c), sm2 = scaleMin(w, p + 4, 2 * c + 1);
        long q = p + 16 + 32L * c;
        int e = xo + 256 * b + 64 * c;
        FloatVector lo = FloatVector.zero(F), hi = lo;
        for (int k = 0; k < 32; k += L) {
          ByteVector v = ByteVector.fromMemorySegment(B, w, q + k, LE);
          lo = widen(v.and((byte) 0x0F)).fma(FloatVector.fromArray(F, x, e + k), lo);
          hi = widen(shr(v, 4, 0x0F)).fma(FloatVector.fromArray(F, x, e + 32 + k), hi);
        }
        acc = lo.fma(bc(d * (sm1 & 0xFF)), acc);
        acc = hi.fma(bc(d * (sm2 & 0xFF)), acc);
        int g = go + 8 * b + 2 * c;
        mins += dmin * ((sm1 >>> 8) * sums[g] + (sm2 >>> 8) * sums[g + 1]);
      }
    }
    return sum(acc) - mins;
  }

  private static float dotQ5K(MemorySegment w, long offset, int nb, float[] x, int xo, float[] xs, int so,
      float[] sums, int go) {
    FloatVector acc = FloatVector.zero(F);
    float mins = 0;
    for (int b = 0; b < nb; b++) {
      long p = offset + 176L * b;
      float d = f16(w, p) * xs[so + b], dmin = f16(w, p + 2) * xs[so + b];
      for (int c = 0; c < 4; c++) {
        int sm1 = scaleMin(w, p + 4, 2 * c), sm2 = scaleMin(w, p + 4, 2 * c + 1);
        long q = p + 48 + 32L * c;
        int e = xo + 256 * b + 64 * c;
        FloatVector lo = FloatVector.zero(F), hi = lo;
        for (int k = 0; k < 32; k += L) {
          ByteVector v = ByteVector.fromMemorySegment(B, w, q + k, LE);
          ByteVector h = ByteVector.fromMemorySegment(B, w, p + 16 + k, LE);
          ByteVector hl = bitTo4(h, 2 * c), hh = bitTo4(h, 2 * c + 1);
          lo = widen(v.and((byte) 0x0F).or(hl)).fma(FloatVector.fromArray(F, x, e + k), lo);
          hi = widen(shr(v, 4, 0x0F).or(hh)).fma(FloatVector.fromArray(F, x, e + 32 + k), hi);
        }
        acc = lo.fma(bc(d * (sm1 & 0xFF)), acc);
        acc = hi.fma(bc(d * (sm2 & 0xFF)), acc);
        int g = go + 8 * b + 2 * c;
        mins += dmin * ((sm1 >>> 8) * sums[g] + (sm2 >>> 8) * sums[g + 1]);
      }
    }
    return sum(acc) - mins;
  }

  private static float dotQ6K(MemorySegment w, long offset, int nb, float[] x, int xo, float[] xs, int so) {
    FloatVector acc = FloatVector.zero(F);
    for (int b = 0; b < nb; b++) {
      long p = offset + 210L * b;
      float d = f16(w, p + 208) * xs[so + b];
      for (int half = 0; half < 2; half++) {
        long ql = p + 64L * half, qh = p + 128 + 32L * half, sc = p + 192 + 8L * half;
        int e = xo + 256 * b + 128 * half;
        for (int l = 0; l < 32; l += L) {
          int is = l / 16;
          ByteVector a = ByteVector.fromMemorySegment(B, w, ql + l, LE);
          ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32 + l, LE);
          ByteVector h = ByteVector.fromMemorySegment(B, w, qh + l, LE);
          // the 2-bit pairs of h moved to bits 4-5: pair k needs a shift by 4 - 2k
          ByteVector q1 = a.and((byte) 0x0F).or(shl(h, 4, 0x30)).sub((byte) 32);
          ByteVector q2 = c.and((byte) 0x0F).or(shl(h, 2, 0x30)).sub((byte) 32);
          ByteVector q3 = shr(a, 4, 0x0F).or(h.and((byte) 0x30)).sub((byte) 32);
          ByteVector q4 = shr(c, 4, 0x0F).or(shr(h, 2, 0x30)).sub((byte) 32);
          acc = widen(q1).mul(FloatVector.fromArray(F, x, e + l)).fma(bc(d * w.get(I8, sc + is)), acc);
          acc = widen(q2).mul(FloatVector.fromArray(F, x, e + 32 + l)).fma(bc(d * w.get(I8, sc + is + 2)), acc);
          acc = widen(q3).mul(FloatVector.fromArray(F, x, e + 64 + l)).fma(bc(d * w.get(I8, sc + is + 4)), acc);
          acc = widen(q4).mul(FloatVector.fromArray(F, x, e + 96 + l)).fma(bc(d * w.get(I8, sc + is + 6)), acc);
        }
      }
    }
    return sum(acc);
  }
}
