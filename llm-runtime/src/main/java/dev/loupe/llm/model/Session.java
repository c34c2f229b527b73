package dev.loupe.llm.model;

import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.tensor.ActivationMode;
import dev.loupe.llm.tensor.ComputePool;
import dev.loupe.llm.tensor.FloatRows;
import dev.loupe.llm.tensor.WeightMatrix;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One conversation with a {@link Model}: a KV cache indexed by position, the tokens appended so
 * far and the logits after the last one.
 *
 * <p>{@link #append} prefills any number of tokens, {@link SessionOptions#batchSize()} at a time:
 * each weight matrix is streamed once per batch ({@link dev.loupe.llm.tensor.WeightMatrix#matmulBatch}),
 * attention is causal inside the batch. The result does not depend on how tokens are split into
 * appends or batches: every token's arithmetic is the same whether it is decoded alone or in a
 * batch, so batched prefill equals token-by-token decoding bit for bit, and pausing to append
 * retrieved tokens mid-answer gives exactly the logits of a fresh session over the whole
 * sequence. {@link #truncate} rolls back; {@link #snapshot}/{@link #restore} copy the cache. As a
 * {@link LanguageModelState} it is what a {@link dev.loupe.llm.generate.Generator} drives.
 *
 * <p>Not thread-safe: one thread at a time per session (sessions of one model may run in
 * parallel). The session's buffers are allocated once, when it is created, and reused by every
 * forward pass.
 */
public final class Session implements LanguageModelState {
  /** Element-wise steps over at least this many values run on the compute pool (batches of prefill). */
  private static final int PARALLEL_VALUES = 65536;
  private final Model model;
  private final ModelConfig c;
  private final SessionOptions options;
  private final int context;
  private final int batch;
  private final boolean f16Cache;
  // The KV cache, per layer, fp32 or fp16 (one pair of arrays is null), in blocks of KEY_BLOCK positions,
  // the last one padded (cachePositions): keys [block][kv head][head dim][position in block] (keyIndex),
  // as FloatRows.dotColumns reads them; values [block][kv head][position in block][head dim] (valueIndex).
  private final float[][] keys, values;
  private final short[][] keys16, values16;
  private final int[] tokens;
  private int position;
  private final float[] logits;
  private boolean logitsValid;
  // Scratch for one batch, allocated once: [batch][width] each.
  private final float[] x, xb, xb2, q, k, v, att, hb, hb2;
  private final float[] ropeCos, ropeSin;
  private final float[] ropeFreqs;
  // Per layer, the matrices computed in one pass over the same input (null where their types differ).
  private final WeightMatrix[][] qkvFused, gateUpFused;
  private final float[][] qkvOut, gateUpOut;

  Session(Model model, SessionOptions options) {
    this.model = model;
    this.c = model.config();
    this.options = options;
    this.context = options.contextLength();
    this.batch = Math.min(options.batchSize(), context);
    this.f16Cache = options.kvCacheType() == KvCacheType.F16;
    long kvBytes = kvCacheBytes(c, context, options.kvCacheType());
    long scratchBytes = scratchBytes(c, batch, context);
    if (kvBytes + scratchBytes > options.memoryBudgetBytes()) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "a session of %d positions needs %s (KV cache %s = %d layers × %d positions × %d key+value dims × %d bytes %s,"
              + " scratch %s) but the memory budget is %s; lower the context length, use an F16 KV cache or raise the budget",
          context, mib(kvBytes + scratchBytes), mib(kvBytes), c.layers(), cachePositions(context), c.keyDim() + c.valueDim(),
          options.kvCacheType().bytes(), options.kvCacheType(), mib(scratchBytes), mib(options.memoryBudgetBytes())));
    }
    int layers = c.layers();
    if (f16Cache) {
      keys16 = new short[layers][Math.multiplyExact(cachePositions(context), c.keyDim())];
      values16 = new short[layers][Math.multiplyExact(cachePositions(context), c.valueDim())];
      keys = values = null;
    } else {
      keys = new float[layers][Math.multiplyExact(cachePositions(context), c.keyDim())];
      values = new float[layers][Math.multiplyExact(cachePositions(context), c.valueDim())];
      keys16 = values16 = null;
    }
    tokens = new int[context];
    logits = new float[c.vocabSize()];
    int dim = c.embeddingLength();
    x = new float[batch * dim];
    xb = new float[batch * Math.max(dim, c.headCount() * c.valueLength())];
    xb2 = new float[batch * dim];
    q = new float[batch * c.queryDim()];
    k = new float[batch * c.keyDim()];
    v = new float[batch * c.valueDim()];
    att = new float[batch * c.headCount() * c.valueLength()];
    hb = new float[batch * c.feedForwardLength()];
    hb2 = new float[batch * c.feedForwardLength()];
    int pairs = c.ropeDimensions() / 2;
    ropeCos = new float[batch * pairs];
    ropeSin = new float[batch * pairs];
    ropeFreqs = model.ropeFreqFactors();
    List<Model.Layer> ls = model.layers();
    qkvFused = new WeightMatrix[ls.size()][];
    gateUpFused = new WeightMatrix[ls.size()][];
    for (int l = 0; l < ls.size(); l++) {
      Model.Layer w = ls.get(l);
      qkvFused[l] = fusable(w.wq(), w.wk(), w.wv());
      gateUpFused[l] = fusable(w.gate(), w.up());
    }
    qkvOut = new float[][] {q, k, v};
    gateUpOut = new float[][] {hb, hb2};
  }

  /** The matrices as one fused pass ({@link WeightMatrix#matmulBatchAll}), or null when their types or widths differ. */
  private static WeightMatrix[] fusable(WeightMatrix... ms) {
    for (WeightMatrix m : ms) {
      if (m.type() != ms[0].type() || m.cols() != ms[0].cols()) {
        return null;
      }
    }
    return ms;
  }

  /** Bytes of a KV cache of {@code context} positions (padded to whole blocks, {@link #cachePositions}). */
  public static long kvCacheBytes(ModelConfig c, int context, KvCacheType type) {
    return (long) c.layers() * cachePositions(context) * (c.keyDim() + c.valueDim()) * type.bytes();
  }

  /** {@code positions} rounded up to whole cache blocks ({@link FloatRows#KEY_BLOCK}). */
  private static int cachePositions(int positions) {
    return Math.ceilDiv(positions, FloatRows.KEY_BLOCK) * FloatRows.KEY_BLOCK;
  }

  /** Where key dimension {@code d} of kv head {@code kvh} at position {@code p} is in a layer's key cache. */
  private int keyIndex(int p, int kvh, int d) {
    return ((p / FloatRows.KEY_BLOCK) * c.keyDim() + kvh * c.keyLength() + d) * FloatRows.KEY_BLOCK + p % FloatRows.KEY_BLOCK;
  }

  /** Where value dimension {@code d} of kv head {@code kvh} at position {@code p} is in a layer's value cache. */
  private int valueIndex(int p, int kvh, int d) {
    return ((p / FloatRows.KEY_BLOCK) * c.valueDim() + kvh * c.valueLength()) * FloatRows.KEY_BLOCK
        + (p % FloatRows.KEY_BLOCK) * c.valueLength() + d;
  }

  /** Bytes of the per-batch scratch buffers and the logits (an estimate within a few KiB). */
  static long scratchBytes(ModelConfig c, int batch, int context) {
    long perToken = 3L * c.embeddingLength() + c.queryDim() + c.keyDim() + c.valueDim() + 2L * c.headCount() * c.valueLength()
        + 2L * c.feedForwardLength() + c.ropeDimensions() + c.vocabSize();
    return 4 * (perToken * batch + c.vocabSize()) + 4L * context;
  }

  public Model model() {
    return model;
  }

  public SessionOptions options() {
    return options;
  }

  /** The number of tokens in the cache: the position the next token takes. */
  @Override
  public int position() {
    return position;
  }

  /** The positions the KV cache holds. */
  @Override
  public int contextLength() {
    return context;
  }

  /** The tokens in the cache, in order (a copy). */
  @Override
  public int[] tokens() {
    return Arrays.copyOf(tokens, position);
  }

  /** Appends tokens, prefilling them in batches; afterwards {@link #logits()} follows the last of them. */
  @Override
  public void append(int... newTokens) {
    run(newTokens, null);
  }

  /**
   * Appends tokens and returns the logits after each of them ({@code result[i]} follows
   * {@code newTokens[i]}), as speculative verification and the oracle tests need; costs a
   * vocabulary-wide matmul per token instead of one per call.
   */
  @Override
  public float[][] appendWithLogits(int... newTokens) {
    float[][] all = new float[newTokens.length][];
    run(newTokens, all);
    return all;
  }

  /** The logits after the last appended token (a copy: the caller may keep or modify it). */
  @Override
  public float[] logits() {
    if (position == 0) {
      throw new IllegalStateException("a session has no logits before its first token; append tokens first");
    }
    if (!logitsValid) {
      // After a truncate: decode the last kept token again (same arithmetic, same values).
      int last = tokens[position - 1];
      position--;
      run(new int[] {last}, null);
    }
    return logits.clone();
  }

  /** Rolls back to {@code newPosition} tokens (0 ≤ newPosition ≤ {@link #position()}). */
  @Override
  public void truncate(int newPosition) {
    if (newPosition < 0 || newPosition > position) {
      throw new IllegalArgumentException("cannot truncate to position " + newPosition + "; the session holds " + position + " tokens");
    }
    if (newPosition != position) {
      position = newPosition;
      logitsValid = false;
    }
  }

  /** A copy of the cache up to {@link #position()}, the tokens and the logits, to {@link #restore} later. */
  public Snapshot snapshot() {
    int n = position;
    Object k, v;
    if (f16Cache) {
      k = copyRows(keys16, (long) cachePositions(n) * c.keyDim());
      v = copyRows(values16, (long) cachePositions(n) * c.valueDim());
    } else {
      k = copyRows(keys, (long) cachePositions(n) * c.keyDim());
      v = copyRows(values, (long) cachePositions(n) * c.valueDim());
    }
    return new Snapshot(model, options.kvCacheType(), n, Arrays.copyOf(tokens, n), logits.clone(), logitsValid, k, v);
  }

  /** Returns the session to a snapshot of a session of the same model and KV cache type. */
  public void restore(Snapshot s) {
    if (s.model != model || s.type != options.kvCacheType()) {
      throw new IllegalArgumentException("snapshot of " + s.model + " with a " + s.type + " cache cannot restore a session of "
          + model + " with a " + options.kvCacheType() + " cache");
    }
    if (s.position > context) {
      throw new IllegalArgumentException("snapshot of " + s.position + " positions does not fit this session's context of " + context);
    }
    for (int l = 0; l < c.layers(); l++) {
      if (f16Cache) {
        short[] sk = ((short[][]) s.keys)[l], sv = ((short[][]) s.values)[l];
        System.arraycopy(sk, 0, keys16[l], 0, sk.length);
        System.arraycopy(sv, 0, values16[l], 0, sv.length);
      } else {
        float[] sk = ((float[][]) s.keys)[l], sv = ((float[][]) s.values)[l];
        System.arraycopy(sk, 0, keys[l], 0, sk.length);
        System.arraycopy(sv, 0, values[l], 0, sv.length);
      }
    }
    System.arraycopy(s.tokens, 0, tokens, 0, s.position);
    System.arraycopy(s.logits, 0, logits, 0, logits.length);
    position = s.position;
    logitsValid = s.logitsValid;
  }

  /**
   * A copy of a session's state: its KV cache up to its position, its tokens and logits.
   * Immutable; restores only into sessions of the same model and cache type.
   */
  public static final class Snapshot {
    private final Model model;
    private final KvCacheType type;
    private final int position;
    private final int[] tokens;
    private final float[] logits;
    private final boolean logitsValid;
    private final Object keys, values;

    private Snapshot(Model model, KvCacheType type, int position, int[] tokens, float[] logits, boolean logitsValid, Object keys,
        Object values) {
      this.model = model;
      this.type = type;
      this.position = position;
      this.tokens = tokens;
      this.logits = logits;
      this.logitsValid = logitsValid;
      this.keys = keys;
      this.values = values;
    }

    /** The position the session had. */
    public int position() {
      return position;
    }
  }

  private static float[][] copyRows(float[][] a, long n) {
    float[][] r = new float[a.length][];
    for (int i = 0; i < a.length; i++) r[i] = Arrays.copyOf(a[i], (int) n);
    return r;
  }

  private static short[][] copyRows(short[][] a, long n) {
    short[][] r = new short[a.length][];
    for (int i = 0; i < a.length; i++) r[i] = Arrays.copyOf(a[i], (int) n);
    return r;
  }

  // ------------------------------------------------------------------ the forward pass

  private void run(int[] newTokens, float[][] allLogits) {
    LanguageModelState.checkAppend(newTokens, position, context, c.vocabSize());
    for (int off = 0; off < newTokens.length; off += batch) {
      int n = Math.min(batch, newTokens.length - off);
      forward(newTokens, off, n, allLogits);
    }
  }

  /**
   * Runs {@code n ≤ batch} tokens at positions {@code position..position+n)} through the model,
   * filling the cache, then advances the position. Scratch arrays are [n][width], token-major.
   */
  private void forward(int[] toks, int off, int n, float[][] allLogits) {
    ComputePool pool = model.pool();
    ActivationMode mode = model.activationMode();
    int dim = c.embeddingLength();
    int qDim = c.queryDim(), kDim = c.keyDim(), vDim = c.valueDim(), ff = c.feedForwardLength();
    int attDim = c.headCount() * c.valueLength();
    int p0 = position;

    // x[n][dim] = token_embd[token]
    for (int t = 0; t < n; t++) {
      model.tokenEmbedding().dequantizeRow(toks[off + t], x, t * dim);
    }
    ropeTables(p0, n);

    List<Model.Layer> layers = model.layers();
    for (int l = 0; l < layers.size(); l++) {
      Model.Layer w = layers.get(l);
      // attention: xb = rmsnorm(x) · attn_norm; q, k, v = wq·xb (+ bq), wk·xb (+ bk), wv·xb (+ bv)
      rmsnormRows(xb, x, w.attnNorm(), n, dim);
      if (qkvFused[l] != null) {
        WeightMatrix.matmulBatchAll(qkvFused[l], xb, 0, n, qkvOut, pool, mode);
      } else {
        w.wq().matmulBatch(xb, 0, n, q, 0, pool, mode);
        w.wk().matmulBatch(xb, 0, n, k, 0, pool, mode);
        w.wv().matmulBatch(xb, 0, n, v, 0, pool, mode);
      }
      addBias(q, w.bq(), n);
      addBias(k, w.bk(), n);
      addBias(v, w.bv(), n);
      if (w.qNorm() != null) { // qwen3: RMSNorm over each head of q and k before RoPE
        rmsnormRows(q, q, w.qNorm(), n * c.headCount(), c.keyLength());
        rmsnormRows(k, k, w.kNorm(), n * c.headCountKv(), c.keyLength());
      }
      rope(q, n, c.headCount());
      rope(k, n, c.headCountKv());
      store(l, p0, n);
      attention(l, p0, n, pool, mode);
      // x += wo·att (+ bo)
      w.wo().matmulBatch(att, 0, n, xb2, 0, pool, mode);
      addBias(xb2, w.bo(), n);
      for (int i = 0; i < n * dim; i++) x[i] += xb2[i];

      // feed-forward: x += down·(silu(gate·xb) ⊙ up·xb), xb = rmsnorm(x) · ffn_norm
      rmsnormRows(xb, x, w.ffnNorm(), n, dim);
      if (gateUpFused[l] != null) {
        WeightMatrix.matmulBatchAll(gateUpFused[l], xb, 0, n, gateUpOut, pool, mode);
      } else {
        w.gate().matmulBatch(xb, 0, n, hb, 0, pool, mode);
        w.up().matmulBatch(xb, 0, n, hb2, 0, pool, mode);
      }
      if (n * ff >= PARALLEL_VALUES) { // a batch: on the pool (a decode step's 8,192 stay on the caller, see Activations)
        pool.forRange(n * ff, (s0, s1) -> swiGlu(mode, hb, hb2, s0, s1));
      } else {
        swiGlu(mode, hb, hb2, 0, n * ff);
      }
      w.down().matmulBatch(hb, 0, n, xb2, 0, pool, mode);
      for (int i = 0; i < n * dim; i++) x[i] += xb2[i];
    }

    // logits = output · (rmsnorm(x) · output_norm), for the last token or for every one
    System.arraycopy(toks, off, tokens, p0, n);
    position = p0 + n;
    if (allLogits != null) {
      rmsnormRows(xb, x, model.outputNorm(), n, dim);
      float[] out = new float[n * c.vocabSize()];
      model.output().matmulBatch(xb, 0, n, out, 0, pool, mode);
      for (int t = 0; t < n; t++) {
        allLogits[off + t] = Arrays.copyOfRange(out, t * c.vocabSize(), (t + 1) * c.vocabSize());
      }
      System.arraycopy(out, (n - 1) * c.vocabSize(), logits, 0, c.vocabSize());
    } else {
      rmsnormRows(xb, x, (n - 1) * dim, model.outputNorm(), 1, dim);
      model.output().matmul(xb, 0, logits, 0, pool, mode);
    }
    logitsValid = true;
  }

  /**
   * {@code gate[i] = silu(gate[i]) · up[i]} for {@code i} in {@code [from, to)}: on vector lanes
   * ({@link FloatRows#swiGlu}), or, in the GGML mode, with Math.exp as checked against llama.cpp.
   */
  private static void swiGlu(ActivationMode mode, float[] gate, float[] up, int from, int to) {
    if (mode != ActivationMode.GGML) {
      FloatRows.swiGlu(gate, up, from, to);
      return;
    }
    for (int i = from; i < to; i++) {
      float g = gate[i];
      gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
    }
  }

  private void rmsnormRows(float[] out, float[] in, float[] weight, int rows, int width) {
    rmsnormRows(out, in, 0, weight, rows, width);
  }

  /**
   * {@code out[r] = in[inOffset/width + r] / sqrt(mean(in²) + ε) · weight} for each row, as
   * ggml's rms_norm (sum in double) followed by the multiplication by the weight; out rows start at 0.
   */
  private void rmsnormRows(float[] out, float[] in, int inOffset, float[] weight, int rows, int width) {
    float eps = c.rmsEpsilon();
    for (int r = 0; r < rows; r++) {
      int o = inOffset + r * width, p = r * width;
      double sum = 0;
      for (int i = 0; i < width; i++) {
        float a = in[o + i];
        sum += a * a;
      }
      float scale = (float) (1.0 / Math.sqrt((float) (sum / width) + eps));
      for (int i = 0; i < width; i++) {
        out[p + i] = in[o + i] * scale * weight[i];
      }
    }
  }

  private static void addBias(float[] a, float[] bias, int rows) {
    if (bias == null) return;
    int w = bias.length;
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < w; i++) a[r * w + i] += bias[i];
    }
  }

  /**
   * cos/sin of {@code position · θ^(-2i/d) / factor_i / scale} for each token and pair, computed
   * the way ggml's rope does (the frequency by repeated float multiplication).
   */
  private void ropeTables(int p0, int n) {
    int pairs = c.ropeDimensions() / 2;
    float thetaScale = (float) Math.pow(c.ropeTheta(), -2.0 / c.ropeDimensions());
    float freqScale = 1f / c.ropeScale();
    for (int t = 0; t < n; t++) {
      float theta = p0 + t;
      for (int i = 0; i < pairs; i++) {
        float ff = ropeFreqs == null ? 1f : ropeFreqs[i];
        double angle = freqScale * (theta / ff);
        ropeCos[t * pairs + i] = (float) Math.cos(angle);
        ropeSin[t * pairs + i] = (float) Math.sin(angle);
        theta *= thetaScale;
      }
    }
  }

  /** Rotates the first {@code ropeDimensions} of each head of {@code a[n][heads][keyLength]}. */
  private void rope(float[] a, int n, int heads) {
    int hd = c.keyLength(), pairs = c.ropeDimensions() / 2;
    boolean neox = c.ropeStyle() == ModelConfig.RopeStyle.NEOX;
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < heads; h++) {
        int base = (t * heads + h) * hd;
        for (int i = 0; i < pairs; i++) {
          float cos = ropeCos[t * pairs + i], sin = ropeSin[t * pairs + i];
          int i0 = neox ? base + i : base + 2 * i;
          int i1 = neox ? base + i + pairs : base + 2 * i + 1;
          float x0 = a[i0], x1 = a[i1];
          a[i0] = x0 * cos - x1 * sin;
          a[i1] = x0 * sin + x1 * cos;
        }
      }
    }
  }

  /** Writes k[n][kDim] and v[n][vDim] to the cache of layer {@code l} at positions p0.. */
  private void store(int l, int p0, int n) {
    int kDim = c.keyDim(), vDim = c.valueDim(), kLen = c.keyLength(), vLen = c.valueLength();
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < c.headCountKv(); h++) {
        int from = t * kDim + h * kLen, to = keyIndex(p0 + t, h, 0);
        for (int d = 0; d < kLen; d++) {
          if (f16Cache) {
            keys16[l][to + d * FloatRows.KEY_BLOCK] = Float.floatToFloat16(k[from + d]);
          } else {
            keys[l][to + d * FloatRows.KEY_BLOCK] = k[from + d];
          }
        }
        from = t * vDim + h * vLen;
        to = valueIndex(p0 + t, h, 0);
        if (f16Cache) {
          for (int d = 0; d < vLen; d++) values16[l][to + d] = Float.floatToFloat16(v[from + d]);
        } else {
          System.arraycopy(v, from, values[l], to, vLen);
        }
      }
    }
  }

  /**
   * att[t][h] = softmax(q[t][h]·K[0..p0+t] / √d) · V[0..p0+t] for each token and query head, query
   * head h reading kv head h / (heads / kvHeads). Causal: token t sees positions up to its own.
   * One task per token and kv head: the query heads that share a kv head (grouped-query attention)
   * share each F16 block of keys and values converted to fp32 once.
   */
  private void attention(int l, int p0, int n, ComputePool pool, ActivationMode mode) {
    int heads = c.headCount(), kvHeads = c.headCountKv(), group = heads / kvHeads;
    int kLen = c.keyLength(), vLen = c.valueLength();
    int block = FloatRows.KEY_BLOCK;
    float scale = (float) (1.0 / Math.sqrt(kLen));
    // The GGML mode keeps the element-order sums it was checked against llama.cpp with, and, as
    // llama.cpp does over an F16 cache, rounds q and the probabilities to F16. The other modes
    // compute 16 positions' scores at once (FloatRows.dotColumns), several times faster.
    boolean ggml = mode == ActivationMode.GGML;
    boolean roundHalf = f16Cache && ggml;
    float[] kc = f16Cache ? null : keys[l], vc = f16Cache ? null : values[l];
    short[] kh = f16Cache ? keys16[l] : null, vh = f16Cache ? values16[l] : null;
    int span = cachePositions(p0 + n);
    pool.forRange(n * kvHeads, (start, end) -> {
      float[] s = new float[group * span]; // the group's scores, then probabilities: [query head][position]
      float[] qg = new float[group * kLen];
      float[] kb = f16Cache ? new float[block * kLen] : null; // one key block in fp32
      float[] vb = f16Cache ? new float[block * vLen] : null; // one value block in fp32
      for (int tk = start; tk < end; tk++) {
        int t = tk / kvHeads, kvh = tk % kvHeads;
        int len = p0 + t + 1;
        for (int g = 0; g < group; g++) {
          int qOff = t * c.queryDim() + (kvh * group + g) * kLen;
          for (int d = 0; d < kLen; d++) {
            qg[g * kLen + d] = roundHalf ? Float.float16ToFloat(Float.floatToFloat16(q[qOff + d])) : q[qOff + d];
          }
        }
        for (int j0 = 0; j0 < len; j0 += block) {
          int ko = keyIndex(j0, kvh, 0);
          if (ggml) {
            for (int g = 0; g < group; g++) {
              for (int j = j0; j < Math.min(len, j0 + block); j++) {
                float dot = 0;
                for (int d = 0; d < kLen; d++) {
                  int at = ko + d * block + (j - j0);
                  dot += qg[g * kLen + d] * (kc != null ? kc[at] : Float.float16ToFloat(kh[at]));
                }
                s[g * span + j] = dot;
              }
            }
          } else {
            float[] keyBlock = kc;
            int kbo = ko;
            if (kh != null) {
              FloatRows.halfToFloat(kh, ko, kb, 0, block * kLen);
              keyBlock = kb;
              kbo = 0;
            }
            for (int g = 0; g < group; g++) {
              FloatRows.dotColumns(qg, g * kLen, keyBlock, kbo, kLen, s, g * span + j0);
            }
          }
        }
        for (int g = 0; g < group; g++) {
          int so = g * span;
          float max = Float.NEGATIVE_INFINITY;
          for (int j = 0; j < len; j++) {
            s[so + j] *= scale;
            max = Math.max(max, s[so + j]);
          }
          double sum = 0;
          if (ggml) {
            for (int j = 0; j < len; j++) {
              float e = (float) Math.exp(s[so + j] - max);
              s[so + j] = e;
              sum += e;
            }
          } else {
            sum = FloatRows.expShifted(s, so, len, max);
          }
          float inv = (float) (1.0 / sum);
          for (int j = 0; j < len; j++) {
            float p = s[so + j] * inv;
            s[so + j] = roundHalf ? Float.float16ToFloat(Float.floatToFloat16(p)) : p;
          }
          int aOff = t * heads * vLen + (kvh * group + g) * vLen;
          Arrays.fill(att, aOff, aOff + vLen, 0f);
        }
        for (int j0 = 0; j0 < len; j0 += block) {
          int vo = valueIndex(j0, kvh, 0), rows = Math.min(block, len - j0);
          float[] valueBlock = vc;
          int vbo = vo;
          if (vh != null) {
            FloatRows.halfToFloat(vh, vo, vb, 0, rows * vLen);
            valueBlock = vb;
            vbo = 0;
          }
          for (int g = 0; g < group; g++) {
            // the scalar loop's bits: each row's product, then its sum, in position order
            FloatRows.axpyRows(s, g * span + j0, rows, valueBlock, vbo, att, t * heads * vLen + (kvh * group + g) * vLen, vLen);
          }
        }
      }
    });
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  @Override
  public String toString() {
    return "Session[" + position + "/" + context + " positions, " + options.kvCacheType() + " cache]";
  }
}
