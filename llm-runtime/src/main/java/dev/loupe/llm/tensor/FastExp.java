package dev.loupe.llm.tensor;

/**
 * {@code e^x} in float from additions, multiplications and fused multiply-adds only, within two
 * ulps of {@link Math#exp} (Cephes' {@code expf}: {@code x = n·ln 2 + r}, {@code |r| ≤ ln 2 / 2},
 * a degree-7 polynomial for {@code e^r}, then {@code 2^n} in two exact steps so that subnormal
 * results round once). {@link PanamaKernelOps} runs the same steps on vector lanes.
 *
 * <p>Why not {@code Math.exp}, or the Vector API's {@code EXP}: the first is a call per element
 * (15-20 times slower than lanes), and the second gives different bits in the interpreter and in
 * C2 (a Java fallback against the JDK's SVML stubs), so a value would depend on how warm the JIT
 * is and a batched prefill would no longer equal token-by-token decoding. Every step here is one
 * IEEE operation, the same in every tier and on every lane.
 */
final class FastExp {
  static final float LO = -104f, HI = 89f; // e^x is 0 below (under half the least subnormal) and ∞ above
  static final float LOG2E = 1.44269504088896341f;
  static final float ROUND = 0x1.8p23f; // adding it rounds a float below 2^22 to an integer
  static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
      P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

  private FastExp() {}

  static float exp(float x) {
    x = Math.min(Math.max(x, LO), HI); // NaN stays NaN
    float n = Math.fma(x, LOG2E, ROUND) - ROUND;
    float r = Math.fma(n, -LN2_HI, x);
    r = Math.fma(n, -LN2_LO, r);
    float p = Math.fma(P0, r, P1);
    p = Math.fma(p, r, P2);
    p = Math.fma(p, r, P3);
    p = Math.fma(p, r, P4);
    p = Math.fma(p, r, P5);
    float y = Math.fma(p, r * r, r) + 1f;
    int ni = (int) n, half = ni >> 1;
    return y * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat((ni - half + 127) << 23);
  }
}
