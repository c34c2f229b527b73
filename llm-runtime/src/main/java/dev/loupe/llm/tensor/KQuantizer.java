package dev.loupe.llm.tensor;

/**
 * Encoder for the K-quant super-blocks (Q4_K, Q5_K, Q6_K), used to write test models.
 *
 * <p>The method is that of ggml's reference quantizers: for Q4_K/Q5_K each 32-element sub-block
 * gets a scale and a min fitted by weighted least squares over a sweep of candidate scales
 * (weights {@code rms(x) + |x|}), the eight scales and mins are then quantized to 6 bits against
 * the super-block's fp16 {@code d} and {@code dmin}, and the elements re-quantized with the scales
 * actually stored. Q6_K fits a symmetric scale per 16 elements (weights {@code x²}, candidates
 * around {@code −32/max}) and stores it as int8 against an fp16 {@code d}. The output is always a
 * valid block; it is not promised to be byte-identical to llama.cpp's (floating-point details of
 * the search may differ), which does not matter because decoding, not encoding, is shared.
 *
 * <p>Holds scratch arrays: not thread-safe; use one per thread.
 */
final class KQuantizer {
  private final int[] levels = new int[BlockCodec.QK_K];
  private final int[] aux = new int[32];
  private final float[] weights = new float[32];
  private final float[] scales = new float[16];
  private final float[] mins = new float[8];
  private final float[] minOut = new float[1];
  private final byte[] packed = new byte[12];

  /** One Q4_K ({@code five == false}) or Q5_K super-block from {@code x[from..from+256)}. */
  void quantizeQ45K(float[] x, int from, byte[] out, int at, boolean five) {
    int nmax = five ? 31 : 15;
    float rmin = five ? -0.5f : -1f;
    int nstep = five ? 15 : 20;
    float maxScale = 0, maxMin = 0;
    for (int j = 0; j < 8; j++) {
      int o = from + 32 * j;
      float sumX2 = 0;
      for (int l = 0; l < 32; l++) {
        sumX2 += x[o + l] * x[o + l];
      }
      float avX = (float) Math.sqrt(sumX2 / 32);
      for (int l = 0; l < 32; l++) {
        weights[l] = avX + Math.abs(x[o + l]);
      }
      scales[j] = fitScaleMin(32, nmax, x, o, 32 * j, rmin, 0.1f, nstep);
      mins[j] = minOut[0];
      maxScale = Math.max(maxScale, scales[j]);
      maxMin = Math.max(maxMin, mins[j]);
    }
    float invScale = maxScale > 0 ? 63f / maxScale : 0f;
    float invMin = maxMin > 0 ? 63f / maxMin : 0f;
    java.util.Arrays.fill(packed, (byte) 0);
    for (int j = 0; j < 8; j++) {
      int ls = Math.min(63, BlockCodec.nearestInt(invScale * scales[j]));
      int lm = Math.min(63, BlockCodec.nearestInt(invMin * mins[j]));
      if (j < 4) {
        packed[j] = (byte) ls;
        packed[j + 4] = (byte) lm;
      } else {
        packed[j + 4] = (byte) ((ls & 0x0F) | ((lm & 0x0F) << 4));
        packed[j - 4] |= (byte) ((ls >> 4) << 6);
        packed[j] |= (byte) ((lm >> 4) << 6);
      }
    }
    BlockCodec.putF16(out, at, maxScale / 63f);
    BlockCodec.putF16(out, at + 2, maxMin / 63f);
    System.arraycopy(packed, 0, out, at + 4, 12);
    float d = BlockCodec.getF16(out, at), dmin = BlockCodec.getF16(out, at + 2);
    java.lang.foreign.MemorySegment sseg = java.lang.foreign.MemorySegment.ofArray(packed);
    int[] sm = new int[2];
    for (int j = 0; j < 8; j++) {
      BlockCodec.scaleMinK4(j, sseg, 0, sm);
      float dj = d * sm[0];
      if (dj == 0) {
        continue;
      }
      float dm = dmin * sm[1];
      for (int l = 0; l < 32; l++) {
        int q = BlockCodec.nearestInt((x[from + 32 * j + l] + dm) / dj);
        levels[32 * j + l] = Math.max(0, Math.min(nmax, q));
      }
    }
    if (!five) {
      for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
          out[at + 16 + 32 * c + l] = (byte) (levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
        }
      }
      return;
    }
    int qh = at + 16, ql = at + 48;
    for (int c = 0; c < 4; c++) {
      for (int l = 0; l < 32; l++) {
        int l1 = levels[64 * c + l], l2 = levels[64 * c + 32 + l];
        if (l1 > 15) {
          l1 -= 16;
          out[qh + l] |= (byte) (1 << (2 * c));
        }
        if (l2 > 15) {
          l2 -= 16;
          out[qh + l] |= (byte) (2 << (2 * c));
        }
        out[ql + 32 * c + l] = (byte) (l1 | (l2 << 4));
      }
    }
  }

  /**
   * Fits {@code x[o..o+n) ≈ scale·l + min} with levels {@code 0..nmax} into {@code levels[lo..]},
   * minimizing the {@link #weights}-weighted squared error over candidate scales {@code
   * (nmax + rmin + rdelta·i) / (max − min)}, {@code i = 0..nstep}. Returns the scale; stores
   * {@code −min} (≥ 0) in {@code minOut[0]}.
   */
  private float fitScaleMin(int n, int nmax, float[] x, int o, int lo, float rmin, float rdelta, int nstep) {
    float min = x[o], max = x[o];
    float sumW = weights[0], sumX = sumW * x[o];
    for (int i = 1; i < n; i++) {
      min = Math.min(min, x[o + i]);
      max = Math.max(max, x[o + i]);
      sumW += weights[i];
      sumX += weights[i] * x[o + i];
    }
    if (min > 0) {
      min = 0;
    }
    if (max == min) {
      java.util.Arrays.fill(levels, lo, lo + n, 0);
      minOut[0] = -min;
      return 0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float bestError = 0;
    for (int i = 0; i < n; i++) {
      int l = Math.max(0, Math.min(nmax, BlockCodec.nearestInt(iscale * (x[o + i] - min))));
      levels[lo + i] = l;
      float diff = scale * l + min - x[o + i];
      bestError += weights[i] * diff * diff;
    }
    for (int step = 0; step <= nstep; step++) {
      iscale = (rmin + rdelta * step + nmax) / (max - min);
      float sumL = 0, sumL2 = 0, sumXL = 0;
      for (int i = 0; i < n; i++) {
        int l = Math.max(0, Math.min(nmax, BlockCodec.nearestInt(iscale * (x[o + i] - min))));
        aux[i] = l;
        float w = weights[i];
        sumL += w * l;
        sumL2 += w * l * l;
        sumXL += w * l * x[o + i];
      }
      float det = sumW * sumL2 - sumL * sumL;
      if (det <= 0) {
        continue;
      }
      float thisScale = (sumW * sumXL - sumX * sumL) / det;
      float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      float error = 0;
      for (int i = 0; i < n; i++) {
        float diff = thisScale * aux[i] + thisMin - x[o + i];
        error += weights[i] * diff * diff;
      }
      if (error < bestError) {
        System.arraycopy(aux, 0, levels, lo, n);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
    minOut[0] = -min;
    return scale;
  }

  /** One Q6_K super-block from {@code x[from..from+256)}. */
  void quantizeQ6K(float[] x, int from, byte[] out, int at) {
    float maxScale = 0, maxAbsScale = 0;
    for (int ib = 0; ib < 16; ib++) {
      float s = fitSymmetric(16, 32, x, from + 16 * ib, 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbsScale) {
        maxAbsScale = Math.abs(s);
        maxScale = s;
      }
    }
    java.util.Arrays.fill(out, at, at + 210, (byte) 0);
    if (maxAbsScale < 1e-15f) {
      return; // all zero: d = 0 encodes as 0x0000
    }
    float iscale = -128f / maxScale;
    BlockCodec.putF16(out, at + 208, 1 / iscale);
    float d = BlockCodec.getF16(out, at + 208);
    for (int ib = 0; ib < 16; ib++) {
      int sc = Math.min(127, BlockCodec.nearestInt(iscale * scales[ib]));
      out[at + 192 + ib] = (byte) sc;
      float dj = d * (byte) sc;
      if (dj == 0) {
        continue;
      }
      for (int ii = 0; ii < 16; ii++) {
        int l = BlockCodec.nearestInt(x[from + 16 * ib + ii] / dj);
        levels[16 * ib + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (int half = 0; half < 2; half++) {
      int j = 128 * half, ql = at + 64 * half, qh = at + 128 + 32 * half;
      for (int l = 0; l < 32; l++) {
        int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
        out[ql + l] = (byte) ((q1 & 0x0F) | ((q3 & 0x0F) << 4));
        out[ql + l + 32] = (byte) ((q2 & 0x0F) | ((q4 & 0x0F) << 4));
        out[qh + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }

  /**
   * Symmetric fit {@code x ≈ scale·l}, {@code l} in {@code −nmax..nmax−1}, weighted by {@code x²},
   * trying scales around {@code −nmax/max}; levels (offset by {@code nmax}) into {@code levels[lo..]}.
   */
  private float fitSymmetric(int n, int nmax, float[] x, int o, int lo) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
      float ax = Math.abs(x[o + i]);
      if (ax > amax) {
        amax = ax;
        max = x[o + i];
      }
    }
    if (amax < 1e-15f) {
      java.util.Arrays.fill(levels, lo, lo + n, 0);
      return 0f;
    }
    float iscale = -nmax / max;
    float sumLX = 0, sumL2 = 0;
    for (int i = 0; i < n; i++) {
      int l = Math.max(-nmax, Math.min(nmax - 1, BlockCodec.nearestInt(iscale * x[o + i])));
      levels[lo + i] = l + nmax;
      float w = x[o + i] * x[o + i];
      sumLX += w * x[o + i] * l;
      sumL2 += w * l * l;
    }
    float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
    float best = scale * sumLX;
    for (int step = -9; step <= 9; step++) {
      if (step == 0) {
        continue;
      }
      float is = -(nmax + 0.1f * step) / max;
      float slx = 0, sl2 = 0;
      for (int i = 0; i < n; i++) {
        int l = Math.max(-nmax, Math.min(nmax - 1, BlockCodec.nearestInt(is * x[o + i])));
        float w = x[o + i] * x[o + i];
        slx += w * x[o + i] * l;
        sl2 += w * l * l;
      }
      if (sl2 > 0 && slx * slx > best * sl2) {
        for (int i = 0; i < n; i++) {
          int l = Math.max(-nmax, Math.min(nmax - 1, BlockCodec.nearestInt(is * x[o + i])));
          levels[lo + i] = l + nmax;
        }
        scale = slx / sl2;
        best = scale * slx;
      }
    }
    return scale;
  }
}
