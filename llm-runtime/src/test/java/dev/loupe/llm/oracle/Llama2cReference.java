package dev.loupe.llm.oracle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * llama2.c's {@code run.c} forward pass, transcribed to plain Java over the original checkpoint: an
 * independent witness that the converter's GGUF means to llama.cpp what the checkpoint meant to
 * llama2.c (tensor layout, q/k order for RoPE, tied classifier). Test code; slow and simple on purpose.
 * Not thread-safe.
 */
final class Llama2cReference {
  private final int dim, hidden, layers, heads, kvHeads, vocab, seqLen, headSize, kvDim;
  private final float[] emb, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, wcls;
  private final float[][] keyCache, valueCache;

  Llama2cReference(Path checkpoint) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(checkpoint)).order(ByteOrder.LITTLE_ENDIAN);
    dim = b.getInt(); hidden = b.getInt(); layers = b.getInt(); heads = b.getInt(); kvHeads = b.getInt();
    int v = b.getInt();
    vocab = Math.abs(v);
    seqLen = b.getInt();
    headSize = dim / heads;
    kvDim = headSize * kvHeads;
    FloatBuffer f = b.asFloatBuffer();
    emb = take(f, vocab * dim);
    rmsAtt = take(f, layers * dim);
    wq = take(f, layers * dim * dim);
    wk = take(f, layers * dim * kvDim);
    wv = take(f, layers * dim * kvDim);
    wo = take(f, layers * dim * dim);
    rmsFfn = take(f, layers * dim);
    w1 = take(f, layers * dim * hidden);
    w2 = take(f, layers * hidden * dim);
    w3 = take(f, layers * dim * hidden);
    rmsFinal = take(f, dim);
    take(f, seqLen * headSize);
    wcls = v > 0 ? emb : take(f, vocab * dim);
    keyCache = new float[layers][seqLen * kvDim];
    valueCache = new float[layers][seqLen * kvDim];
  }

  /** The logits after {@code token} at {@code pos}; positions must be fed in order from 0. */
  float[] forward(int token, int pos) {
    float[] x = new float[dim];
    System.arraycopy(emb, token * dim, x, 0, dim);
    float[] xb = new float[dim], q = new float[dim], k = new float[kvDim], vv = new float[kvDim];
    float[] hb = new float[hidden], hb2 = new float[hidden], att = new float[seqLen];
    int kvMul = heads / kvHeads;
    for (int l = 0; l < layers; l++) {
      rmsnorm(xb, x, rmsAtt, l * dim);
      matmul(q, xb, wq, l * dim * dim, dim, dim);
      matmul(k, xb, wk, l * dim * kvDim, dim, kvDim);
      matmul(vv, xb, wv, l * dim * kvDim, dim, kvDim);
      // RoPE over adjacent pairs, as run.c does it.
      for (int i = 0; i < dim; i += 2) {
        int headDim = i % headSize;
        double freq = 1.0 / Math.pow(10000.0, headDim / (double) headSize);
        double val = pos * freq;
        float fcr = (float) Math.cos(val), fci = (float) Math.sin(val);
        for (int r = 0; r < (i < kvDim ? 2 : 1); r++) {
          float[] vec = r == 0 ? q : k;
          float v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      System.arraycopy(k, 0, keyCache[l], pos * kvDim, kvDim);
      System.arraycopy(vv, 0, valueCache[l], pos * kvDim, kvDim);
      for (int h = 0; h < heads; h++) {
        int kvOff = (h / kvMul) * headSize;
        for (int t = 0; t <= pos; t++) {
          float score = 0;
          for (int i = 0; i < headSize; i++) score += q[h * headSize + i] * keyCache[l][t * kvDim + kvOff + i];
          att[t] = score / (float) Math.sqrt(headSize);
        }
        softmax(att, pos + 1);
        for (int i = 0; i < headSize; i++) {
          float acc = 0;
          for (int t = 0; t <= pos; t++) acc += att[t] * valueCache[l][t * kvDim + kvOff + i];
          xb[h * headSize + i] = acc;
        }
      }
      float[] xb2 = new float[dim];
      matmul(xb2, xb, wo, l * dim * dim, dim, dim);
      for (int i = 0; i < dim; i++) x[i] += xb2[i];
      rmsnorm(xb, x, rmsFfn, l * dim);
      matmul(hb, xb, w1, l * dim * hidden, dim, hidden);
      matmul(hb2, xb, w3, l * dim * hidden, dim, hidden);
      for (int i = 0; i < hidden; i++) {
        float s = hb[i];
        hb[i] = s / (1f + (float) Math.exp(-s)) * hb2[i];
      }
      matmul(xb, hb, w2, l * dim * hidden, hidden, dim);
      for (int i = 0; i < dim; i++) x[i] += xb[i];
    }
    rmsnorm(x, x, rmsFinal, 0);
    float[] logits = new float[vocab];
    matmul(logits, x, wcls, 0, dim, vocab);
    return logits;
  }

  private void rmsnorm(float[] o, float[] x, float[] w, int wOff) {
    float ss = 0;
    for (float xi : x) ss += xi * xi;
    ss = ss / x.length + 1e-5f;
    ss = 1f / (float) Math.sqrt(ss);
    for (int i = 0; i < x.length; i++) o[i] = w[wOff + i] * (ss * x[i]);
  }

  /** out[d] = W[d][n] · x[n], W row-major from wOff. */
  private static void matmul(float[] out, float[] x, float[] w, int wOff, int n, int d) {
    for (int i = 0; i < d; i++) {
      float acc = 0;
      for (int j = 0; j < n; j++) acc += w[wOff + i * n + j] * x[j];
      out[i] = acc;
    }
  }

  private static void softmax(float[] x, int size) {
    float max = x[0];
    for (int i = 1; i < size; i++) max = Math.max(max, x[i]);
    float sum = 0;
    for (int i = 0; i < size; i++) {
      x[i] = (float) Math.exp(x[i] - max);
      sum += x[i];
    }
    for (int i = 0; i < size; i++) x[i] /= sum;
  }

  private static float[] take(FloatBuffer f, int n) {
    float[] a = new float[n];
    f.get(a);
    return a;
  }
}
