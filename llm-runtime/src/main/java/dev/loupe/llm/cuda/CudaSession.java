package dev.loupe.llm.cuda;

import dev.loupe.gpu.CudaGraph;
import dev.loupe.gpu.CudaStream;
import dev.loupe.gpu.DeviceBuffer;
import dev.loupe.gpu.GpuContext;
import dev.loupe.gpu.LlmKernels;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.model.SessionOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One conversation on the CUDA backend: an fp16 KV cache and fp32 scratch buffers in device
 * memory, one stream, and the decode step (embedding lookup; per layer RMSNorm, q/k/v matvec,
 * biases and q/k norms where the model has them, RoPE, KV store, attention, output matvec,
 * residual, RMSNorm, gate/up matvec, SwiGLU, down matvec, residual; final norm and logits)
 * captured once as a CUDA graph and replayed per token. The token and the position live in two
 * small device buffers that the graph's kernels read, so one graph serves every position: a step
 * is two 4-byte copies to the device, a graph launch and the copy of the logits back.
 *
 * <p>Appending several tokens prefills them in batches of up to {@link #PREFILL_BATCH}: the same
 * layers over a {@code [tokens][width]} batch, with matrix-matrix kernels that read each weight
 * block once per {@value LlmKernels#MATMUL_TILE} tokens ({@link LlmKernels#matmul}), causal attention
 * over the batch and only the last token's logits. Every token is computed in the decode step's
 * order, so a batch leaves the cache and the logits exactly as single steps would.
 *
 * <p>The arithmetic is the CPU backend's with an fp16 cache: greedy tokens match {@link
 * dev.loupe.llm.model.Session} with {@link dev.loupe.llm.model.KvCacheType#F16} and logits differ
 * by float summation order only (see {@code CudaSessionTest} for the bound).
 * The cache is fp16 whatever {@link SessionOptions#kvCacheType()} says; at most {@link
 * LlmKernels#MAX_POSITIONS} positions.
 *
 * <p>Not thread-safe: one thread at a time. {@link #close} frees the device memory, the graph and
 * the stream.
 */
public final class CudaSession implements LanguageModelState, AutoCloseable {
  /** Most tokens one batched prefill pass takes (the scratch buffers hold this many rows). */
  public static final int PREFILL_BATCH = 64;

  private final CudaModel model;
  private final ModelConfig c;
  private final int context;
  private final boolean useGraph;
  private final int batch;
  private final GpuContext gpu;
  private final LlmKernels k;
  private final CudaStream stream;
  private final List<DeviceBuffer> buffers = new ArrayList<>();
  // the decode step uses row 0 of the scratch buffers, a batched prefill up to `batch` rows
  private final DeviceBuffer token, pos, batchTokens, x, xb, xb2, q, kk, v, att, hb, hb2, logitsDevice, keys, values;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment hostToken, hostPos, hostTokens, hostLogits;
  // every row's logits of a pass, for appendWithLogits (speculative verification); allocated at its first use
  private DeviceBuffer batchLogits;
  private MemorySegment hostBatchLogits;
  private final float thetaScale, freqScale;
  private CudaGraph graph;
  private final int[] tokens;
  private int position;
  private boolean logitsValid;
  private boolean closed;

  CudaSession(CudaModel model, SessionOptions options, boolean useGraph) {
    this(model, options, useGraph, PREFILL_BATCH);
  }

  /** As the other constructor, prefilling at most {@code prefillBatch} tokens per pass (1: one decode step per token). */
  CudaSession(CudaModel model, SessionOptions options, boolean useGraph, int prefillBatch) {
    this.model = model;
    this.c = model.model().config();
    this.context = options.contextLength();
    this.useGraph = useGraph;
    if (prefillBatch < 1) {
      throw new IllegalArgumentException("prefill batch " + prefillBatch + " must be at least 1");
    }
    this.batch = Math.min(prefillBatch, context);
    if (context > LlmKernels.MAX_POSITIONS) {
      throw new IllegalArgumentException("a CUDA session of " + context + " positions exceeds the backend's "
          + LlmKernels.MAX_POSITIONS + "; lower the context length");
    }
    this.gpu = model.context();
    this.k = model.kernels();
    this.thetaScale = (float) Math.pow(c.ropeTheta(), -2.0 / c.ropeDimensions());
    this.freqScale = 1f / c.ropeScale();
    this.tokens = new int[context];
    int dim = c.embeddingLength(), attDim = c.headCount() * c.valueLength();
    CudaStream s = null;
    try {
      token = alloc(4);
      pos = alloc(4);
      batchTokens = alloc(4L * batch);
      x = alloc(4L * dim * batch);
      xb = alloc(4L * Math.max(dim, attDim) * batch);
      xb2 = alloc(4L * dim * batch);
      q = alloc(4L * c.queryDim() * batch);
      kk = alloc(4L * c.keyDim() * batch);
      v = alloc(4L * c.valueDim() * batch);
      att = alloc(4L * attDim * batch);
      hb = alloc(4L * c.feedForwardLength() * batch);
      hb2 = alloc(4L * c.feedForwardLength() * batch);
      logitsDevice = alloc(4L * c.vocabSize());
      keys = alloc(2L * c.layers() * context * c.keyDim());
      values = alloc(2L * c.layers() * context * c.valueDim());
      hostToken = arena.allocate(4, 4);
      hostPos = arena.allocate(4, 4);
      hostTokens = arena.allocate(4L * batch, 4);
      hostLogits = arena.allocate(4L * c.vocabSize(), 16);
      s = gpu.createStream();
      stream = s;
      if (useGraph) {
        stream.beginCapture();
        try {
          enqueueStep();
        } finally {
          graph = stream.endCapture();
        }
      }
    } catch (RuntimeException e) {
      if (graph != null) graph.close();
      if (s != null) s.close();
      buffers.forEach(DeviceBuffer::close);
      arena.close();
      throw e;
    }
  }

  private DeviceBuffer alloc(long bytes) {
    DeviceBuffer d = gpu.allocate(bytes);
    buffers.add(d);
    return d;
  }

  /** Queues one decode step of the token in {@link #token} at the position in {@link #pos}. */
  private void enqueueStep() {
    int dim = c.embeddingLength(), heads = c.headCount(), kvHeads = c.headCountKv(), hd = c.keyLength();
    float eps = c.rmsEpsilon();
    boolean neox = c.ropeStyle() == ModelConfig.RopeStyle.NEOX;
    long kvStrideK = 2L * context * c.keyDim(), kvStrideV = 2L * context * c.valueDim();
    k.embed(stream, model.embeddingType(), model.embedding(), c.vocabSize(), token, x, dim);
    List<CudaModel.Layer> layers = model.layers();
    for (int l = 0; l < layers.size(); l++) {
      CudaModel.Layer w = layers.get(l);
      k.rmsnorm(stream, x, w.attnNorm(), xb, 1, dim, eps);
      matvec(w.wq(), xb, q);
      matvec(w.wk(), xb, kk);
      matvec(w.wv(), xb, v);
      if (w.bq() != null) k.add(stream, q, w.bq(), c.queryDim());
      if (w.bk() != null) k.add(stream, kk, w.bk(), c.keyDim());
      if (w.bv() != null) k.add(stream, v, w.bv(), c.valueDim());
      if (w.qNorm() != null) {
        k.rmsnorm(stream, q, w.qNorm(), q, heads, hd, eps);
        k.rmsnorm(stream, kk, w.kNorm(), kk, kvHeads, hd, eps);
      }
      k.ropeAt(stream, q, heads, hd, c.ropeDimensions(), pos, thetaScale, freqScale, model.ropeFactors(), neox);
      k.ropeAt(stream, kk, kvHeads, hd, c.ropeDimensions(), pos, thetaScale, freqScale, model.ropeFactors(), neox);
      long kl = keys.pointer(l * kvStrideK), vl = values.pointer(l * kvStrideV);
      k.storeKv(stream, kk, v, kl, vl, pos, c.keyDim(), c.valueDim());
      k.attentionAt(stream, q, kl, vl, att, heads, kvHeads, hd, pos, context);
      matvec(w.wo(), att, xb2);
      if (w.bo() != null) k.add(stream, xb2, w.bo(), dim);
      k.add(stream, x, xb2, dim);
      k.rmsnorm(stream, x, w.ffnNorm(), xb, 1, dim, eps);
      matvec(w.gate(), xb, hb);
      matvec(w.up(), xb, hb2);
      k.swiglu(stream, hb, hb2, hb, c.feedForwardLength());
      matvec(w.down(), hb, xb2);
      k.add(stream, x, xb2, dim);
    }
    k.rmsnorm(stream, x, model.outputNorm(), xb, 1, dim, eps);
    matvec(model.output(), xb, logitsDevice);
  }

  private void matvec(CudaModel.Matrix m, DeviceBuffer in, DeviceBuffer out) {
    k.matvec(stream, m.quant(), m.data(), in, out, m.rows(), m.cols());
  }

  /**
   * Queues the prefill of {@code n} tokens (already in {@link #batchTokens}) at positions {@code
   * pos0 ..}: the decode step's layers over {@code [n][width]} rows, then the logits of the last
   * and, with {@code allLogits}, every row's in {@link #batchLogits}.
   */
  private void enqueueBatch(int pos0, int n, boolean allLogits) {
    int dim = c.embeddingLength(), heads = c.headCount(), kvHeads = c.headCountKv(), hd = c.keyLength();
    float eps = c.rmsEpsilon();
    boolean neox = c.ropeStyle() == ModelConfig.RopeStyle.NEOX;
    long kvStrideK = 2L * context * c.keyDim(), kvStrideV = 2L * context * c.valueDim();
    k.embedRows(stream, model.embeddingType(), model.embedding(), c.vocabSize(), batchTokens, x, dim, n);
    List<CudaModel.Layer> layers = model.layers();
    for (int l = 0; l < layers.size(); l++) {
      CudaModel.Layer w = layers.get(l);
      k.rmsnorm(stream, x, w.attnNorm(), xb, n, dim, eps);
      matmul(w.wq(), xb, q, n);
      matmul(w.wk(), xb, kk, n);
      matmul(w.wv(), xb, v, n);
      if (w.bq() != null) k.addRows(stream, q, w.bq(), c.queryDim(), n);
      if (w.bk() != null) k.addRows(stream, kk, w.bk(), c.keyDim(), n);
      if (w.bv() != null) k.addRows(stream, v, w.bv(), c.valueDim(), n);
      if (w.qNorm() != null) {
        k.rmsnorm(stream, q, w.qNorm(), q, heads * n, hd, eps);
        k.rmsnorm(stream, kk, w.kNorm(), kk, kvHeads * n, hd, eps);
      }
      k.ropeRows(stream, q, heads, hd, c.ropeDimensions(), pos0, thetaScale, freqScale, model.ropeFactors(), neox, n);
      k.ropeRows(stream, kk, kvHeads, hd, c.ropeDimensions(), pos0, thetaScale, freqScale, model.ropeFactors(), neox, n);
      long kl = keys.pointer(l * kvStrideK), vl = values.pointer(l * kvStrideV);
      k.storeKvRows(stream, kk, v, kl, vl, pos0, c.keyDim(), c.valueDim(), n);
      k.attentionRows(stream, q, kl, vl, att, heads, kvHeads, hd, pos0, n);
      matmul(w.wo(), att, xb2, n);
      if (w.bo() != null) k.addRows(stream, xb2, w.bo(), dim, n);
      k.add(stream, x, xb2, dim * n);
      k.rmsnorm(stream, x, w.ffnNorm(), xb, n, dim, eps);
      matmul(w.gate(), xb, hb, n);
      matmul(w.up(), xb, hb2, n);
      k.swiglu(stream, hb, hb2, hb, c.feedForwardLength() * n);
      matmul(w.down(), hb, xb2, n);
      k.add(stream, x, xb2, dim * n);
    }
    if (allLogits) {
      k.rmsnorm(stream, x, model.outputNorm(), xb, n, dim, eps);
      matmul(model.output(), xb, batchLogits, n);
    }
    DeviceBuffer last = x.slice(4L * (n - 1) * dim, 4L * dim);
    k.rmsnorm(stream, last, model.outputNorm(), xb, 1, dim, eps);
    matvec(model.output(), xb, logitsDevice);
  }

  private void matmul(CudaModel.Matrix m, DeviceBuffer in, DeviceBuffer out, int n) {
    k.matmul(stream, m.quant(), m.data(), in, out, m.rows(), m.cols(), n);
  }

  /** Prefills {@code tokens[from .. from + n)} at the current position in one batched pass. */
  private void prefill(int[] newTokens, int from, int n, boolean allLogits) {
    stream.synchronize(); // the previous pass's copy has read hostTokens
    MemorySegment.copy(newTokens, from, hostTokens, ValueLayout.JAVA_INT, 0, n);
    batchTokens.copyFromAsync(hostTokens.asSlice(0, 4L * n), 0, stream);
    enqueueBatch(position, n, allLogits);
    System.arraycopy(newTokens, from, tokens, position, n);
  }

  /** Runs one decode step of {@code t} at position {@code p}: the graph's replay, or each launch directly. */
  private void step(int t, int p) {
    hostToken.set(ValueLayout.JAVA_INT, 0, t);
    hostPos.set(ValueLayout.JAVA_INT, 0, p);
    stream.synchronize(); // the previous step's copies have read hostToken and hostPos
    // On the session's stream (non-blocking: a synchronous copy from pageable memory may still be in
    // flight when it returns, and that stream would not wait for it); stream order puts them before the step.
    token.copyFromAsync(hostToken, 0, stream);
    pos.copyFromAsync(hostPos, 0, stream);
    if (useGraph) {
      graph.launch(stream);
    } else {
      enqueueStep();
    }
    tokens[p] = t;
  }

  public CudaModel model() {
    return model;
  }

  /** Whether steps replay the captured graph (else they launch each kernel directly). */
  public boolean usesGraph() {
    return useGraph;
  }

  @Override
  public int position() {
    return position;
  }

  @Override
  public int contextLength() {
    return context;
  }

  /** The tokens in the cache, in order (a copy). */
  @Override
  public int[] tokens() {
    return Arrays.copyOf(tokens, position);
  }

  /** Appends tokens: one decode step for a single token, batched prefill passes for several. */
  @Override
  public void append(int... newTokens) {
    checkAppend(newTokens);
    if (newTokens.length == 1 || batch == 1) {
      for (int t : newTokens) {
        step(t, position);
        position++;
      }
    } else {
      for (int from = 0; from < newTokens.length; from += batch) {
        int n = Math.min(batch, newTokens.length - from);
        prefill(newTokens, from, n, false);
        position += n;
      }
    }
    if (newTokens.length > 0) logitsValid = true;
  }

  /**
   * Appends {@code newTokens} in batched passes and returns the logits after each: every row of a
   * pass goes through the output matrix ({@link LlmKernels#matmul}), so a speculative draft of k
   * tokens is verified in one pass, and each row equals the logits of single steps bit for bit.
   */
  @Override
  public float[][] appendWithLogits(int[] newTokens) {
    checkAppend(newTokens);
    int vocab = c.vocabSize();
    if (batchLogits == null) {
      batchLogits = alloc(4L * vocab * batch);
      hostBatchLogits = arena.allocate(4L * vocab * batch, 16);
    }
    float[][] all = new float[newTokens.length][];
    for (int from = 0; from < newTokens.length; from += batch) {
      int n = Math.min(batch, newTokens.length - from);
      prefill(newTokens, from, n, true);
      position += n;
      stream.synchronize();
      MemorySegment rows = hostBatchLogits.asSlice(0, 4L * vocab * n);
      batchLogits.copyTo(rows, 0);
      for (int i = 0; i < n; i++) {
        all[from + i] = rows.asSlice(4L * vocab * i, 4L * vocab).toArray(ValueLayout.JAVA_FLOAT);
      }
    }
    if (newTokens.length > 0) logitsValid = true;
    return all;
  }

  /** The logits after the last appended token (a copy). */
  @Override
  public float[] logits() {
    checkOpen();
    if (position == 0) {
      throw new IllegalStateException("a session has no logits before its first token; append tokens first");
    }
    if (!logitsValid) { // after a truncate: decode the last kept token again (same values)
      step(tokens[position - 1], position - 1);
      logitsValid = true;
    }
    stream.synchronize();
    logitsDevice.copyTo(hostLogits, 0);
    return hostLogits.toArray(ValueLayout.JAVA_FLOAT);
  }

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

  private void checkAppend(int[] newTokens) {
    checkOpen();
    LanguageModelState.checkAppend(newTokens, position, context, c.vocabSize());
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the CUDA session is closed");
    }
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    try {
      stream.synchronize();
    } finally {
      if (graph != null) graph.close();
      stream.close();
      buffers.forEach(DeviceBuffer::close);
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "CudaSession[" + position + "/" + context + " positions, fp16 cache, " + (useGraph ? "graph" : "direct launches")
        + ", prefill batches of " + batch + "]";
  }
}
