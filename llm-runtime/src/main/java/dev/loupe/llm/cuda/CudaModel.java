package dev.loupe.llm.cuda;

import dev.loupe.gpu.DeviceBuffer;
import dev.loupe.gpu.Gpu;
import dev.loupe.gpu.GpuContext;
import dev.loupe.gpu.LlmKernels;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufTensor;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tensor.BlockCodec;
import dev.loupe.llm.tensor.WeightType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A {@link Model}'s weights in device memory, for the CUDA backend: every matrix uploaded once, in
 * its GGUF block layout (Q8_0, Q4_0 or Q4_K; the matrix-vector kernels read those blocks directly), the
 * token embedding table as stored (F32, F16, Q8_0 or Q4_0, and a Q4_K one dequantized to F32; one row
 * is gathered per token), and
 * the norm weights, biases and RoPE frequency factors as fp32. Sessions ({@link #newSession}) hold
 * the KV cache and run the decode step.
 *
 * <p>Supports the architectures the CPU backend runs (llama, qwen2 biases, qwen3 q/k norms) as
 * long as every matrix is Q8_0, Q4_0 or Q4_K and keys and values have the same head size; anything else
 * is refused at {@link #upload} with an {@link UnsupportedOperationException} naming the tensor,
 * and {@link CudaBackend} falls back to the CPU.
 *
 * <p>Thread-safety: the weights are immutable after upload; sessions of one model may run on
 * different threads (each has its own stream). {@link #close} frees the weights (and the context
 * when this object opened it); sessions must be closed first.
 */
public final class CudaModel implements AutoCloseable {
  /** One transformer block's device weights; biases and q/k norms are null where the model has none. */
  record Layer(DeviceBuffer attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, DeviceBuffer bq, DeviceBuffer bk,
      DeviceBuffer bv, DeviceBuffer bo, DeviceBuffer qNorm, DeviceBuffer kNorm, DeviceBuffer ffnNorm, Matrix gate, Matrix up,
      Matrix down) {}

  /** A {@code rows × cols} matrix of ggml blocks in device memory. */
  record Matrix(DeviceBuffer data, LlmKernels.Quant quant, int rows, int cols) {}

  private final Model model;
  private final GpuContext context;
  private final boolean ownsContext;
  private final LlmKernels kernels;
  private final List<DeviceBuffer> buffers = new ArrayList<>();
  private final DeviceBuffer embedding;
  private final LlmKernels.TableType embeddingType;
  private final List<Layer> layers;
  private final DeviceBuffer outputNorm, ropeFactors;
  private final Matrix output;
  private final long deviceBytes;
  private boolean closed;

  private CudaModel(Model model, GpuContext context, boolean ownsContext) {
    this.model = model;
    this.context = context;
    this.ownsContext = ownsContext;
    ModelConfig c = model.config();
    if (c.keyLength() != c.valueLength()) {
      throw new UnsupportedOperationException("the CUDA backend needs keys and values of one head size; " + model + " has "
          + c.keyLength() + " and " + c.valueLength());
    }
    check(model.file());
    LlmKernels k = null;
    try {
      k = new LlmKernels(context);
      GgufFile f = model.file();
      int dim = c.embeddingLength();
      GgufTensor embd = f.tensor("token_embd.weight");
      DeviceBuffer embeddingBlocks = null; // the table's Q4_K blocks, when it is also the output matrix
      if (embd.type() == GgmlType.Q4_K) {
        // The lookup kernel reads no K-quant rows: the table goes up dequantized (vocab x dim x 4 bytes).
        float[] table = dev.loupe.llm.tensor.BlockCodec.dequantize(dev.loupe.llm.tensor.WeightType.Q4_K,
            embd.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), Math.multiplyExact(c.vocabSize(), dim));
        embeddingType = LlmKernels.TableType.F32;
        embedding = track(context.allocate(4L * table.length));
        embedding.copyFrom(MemorySegment.ofArray(table), 0);
        if (!f.hasTensor("output.weight")) embeddingBlocks = raw(embd);
      } else {
        embeddingType = tableType(embd);
        embedding = raw(embd);
      }
      List<Layer> list = new ArrayList<>();
      for (int i = 0; i < c.layers(); i++) {
        String b = "blk." + i + ".";
        boolean qkNorm = c.architecture() == ModelConfig.Architecture.QWEN3;
        list.add(new Layer(vector(b + "attn_norm.weight", dim),
            matrix(b + "attn_q.weight", c.queryDim(), dim), matrix(b + "attn_k.weight", c.keyDim(), dim),
            matrix(b + "attn_v.weight", c.valueDim(), dim), matrix(b + "attn_output.weight", dim, c.headCount() * c.valueLength()),
            optional(b + "attn_q.bias", c.queryDim()), optional(b + "attn_k.bias", c.keyDim()),
            optional(b + "attn_v.bias", c.valueDim()), optional(b + "attn_output.bias", dim),
            qkNorm ? vector(b + "attn_q_norm.weight", c.keyLength()) : null,
            qkNorm ? vector(b + "attn_k_norm.weight", c.keyLength()) : null,
            vector(b + "ffn_norm.weight", dim),
            matrix(b + "ffn_gate.weight", c.feedForwardLength(), dim), matrix(b + "ffn_up.weight", c.feedForwardLength(), dim),
            matrix(b + "ffn_down.weight", dim, c.feedForwardLength())));
      }
      layers = List.copyOf(list);
      outputNorm = vector("output_norm.weight", dim);
      String out = f.hasTensor("output.weight") ? "output.weight" : "token_embd.weight";
      output = out.equals("token_embd.weight")
          ? new Matrix(embeddingBlocks != null ? embeddingBlocks : embedding, quant(embd), c.vocabSize(), dim)
          : matrix(out, c.vocabSize(), dim);
      ropeFactors = optional("rope_freqs.weight", c.ropeDimensions() / 2);
      long bytes = 0;
      for (DeviceBuffer d : buffers) bytes += d.bytes();
      deviceBytes = bytes;
      kernels = k;
    } catch (RuntimeException e) {
      buffers.forEach(DeviceBuffer::close);
      if (k != null) k.close();
      throw e;
    }
  }

  /**
   * Uploads {@code model}'s weights into {@code context} (which the caller keeps and closes after
   * this model).
   *
   * @throws UnsupportedOperationException naming the tensor or shape the backend does not run
   * @throws dev.loupe.gpu.CudaException when the device refuses (out of memory: the call and error name)
   */
  public static CudaModel upload(Model model, GpuContext context) {
    return new CudaModel(model, context, false);
  }

  /** Opens a context on {@code gpu}'s device and uploads into it; {@link #close} closes both. */
  public static CudaModel open(Model model, Gpu.Available gpu) {
    check(model.file());
    GpuContext ctx = GpuContext.open(gpu);
    try {
      return new CudaModel(model, ctx, true);
    } catch (RuntimeException e) {
      ctx.close();
      throw e;
    }
  }

  /** A new session: its KV cache (always fp16 on the device) and scratch buffers, its stream and its captured decode graph. */
  public CudaSession newSession(SessionOptions options) {
    return new CudaSession(this, options, true);
  }

  /** As {@link #newSession(SessionOptions)}; {@code graph} false launches every kernel of each step directly (for comparisons). */
  public CudaSession newSession(SessionOptions options, boolean graph) {
    return new CudaSession(this, options, graph);
  }

  public Model model() {
    return model;
  }

  public GpuContext context() {
    return context;
  }

  /** Bytes of device memory the weights take. */
  public long deviceBytes() {
    return deviceBytes;
  }

  /** The bytes of weights one decode step reads (every matrix once, the output included; the embedding row aside). */
  public long weightBytesPerToken() {
    long n = output.data().bytes() == embedding.bytes() ? output.quant().bytes(output.rows(), output.cols()) : output.data().bytes();
    for (Layer l : layers) {
      for (Matrix m : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down())) n += m.data().bytes();
    }
    return n;
  }

  LlmKernels kernels() {
    return kernels;
  }

  DeviceBuffer embedding() {
    return embedding;
  }

  LlmKernels.TableType embeddingType() {
    return embeddingType;
  }

  List<Layer> layers() {
    return layers;
  }

  DeviceBuffer outputNorm() {
    return outputNorm;
  }

  Matrix output() {
    return output;
  }

  DeviceBuffer ropeFactors() {
    return ropeFactors;
  }

  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    buffers.forEach(DeviceBuffer::close);
    kernels.close();
    if (ownsContext) context.close();
  }

  @Override
  public String toString() {
    return "CudaModel[" + model + " on " + context + ", " + deviceBytes / 1048576 + " MiB of weights]";
  }

  // ---- upload

  /** Refuses, before any device work, a model whose matrices are not all Q8_0, Q4_0 or Q4_K. */
  private static void check(GgufFile f) {
    for (GgufTensor t : f.tensors()) {
      boolean matrix = t.rank() == 2 && !t.name().equals("token_embd.weight");
      boolean table = t.name().equals("token_embd.weight");
      if (matrix && !runs(t.type())) {
        throw new UnsupportedOperationException(f.path() + ": tensor '" + t.name() + "' is " + t.type()
            + "; the CUDA backend runs Q8_0, Q4_0 and Q4_K matrices only (loupe convert quantize --type q8_0 makes one)");
      }
      if (table && !f.hasTensor("output.weight") && !runs(t.type())) {
        throw new UnsupportedOperationException(f.path() + ": the tied embedding/output tensor 'token_embd.weight' is "
            + t.type() + "; the CUDA backend runs Q8_0, Q4_0 and Q4_K matrices only");
      }
      if (t.type() == GgmlType.Q4_K && t.rank() == 2 && t.dim(0) % 256 != 0) {
        throw new UnsupportedOperationException(f.path() + ": Q4_K tensor '" + t.name() + "' has rows of " + t.dim(0)
            + ", no multiple of 256");
      }
    }
  }

  private static boolean runs(GgmlType type) {
    return type == GgmlType.Q8_0 || type == GgmlType.Q4_0 || type == GgmlType.Q4_K;
  }

  private static LlmKernels.TableType tableType(GgufTensor t) {
    return switch (t.type()) {
      case F32 -> LlmKernels.TableType.F32;
      case F16 -> LlmKernels.TableType.F16;
      case Q8_0 -> LlmKernels.TableType.Q8_0;
      case Q4_0 -> LlmKernels.TableType.Q4_0;
      default -> throw new UnsupportedOperationException("tensor '" + t.name() + "' is " + t.type()
          + "; the CUDA backend's embedding lookup reads F32, F16, Q8_0 and Q4_0 tables");
    };
  }

  private static LlmKernels.Quant quant(GgufTensor t) {
    return switch (t.type()) {
      case Q8_0 -> LlmKernels.Quant.Q8_0;
      case Q4_0 -> LlmKernels.Quant.Q4_0;
      case Q4_K -> LlmKernels.Quant.Q4_K;
      default -> throw new UnsupportedOperationException("tensor '" + t.name() + "' is " + t.type()
          + "; the CUDA backend runs Q8_0, Q4_0 and Q4_K matrices only");
    };
  }

  private DeviceBuffer raw(GgufTensor t) {
    MemorySegment data = t.data();
    DeviceBuffer d = track(context.allocate(data.byteSize()));
    d.copyFrom(data, 0);
    return d;
  }

  private Matrix matrix(String name, int rows, int cols) {
    GgufTensor t = model.file().tensor(name);
    if (t.rank() != 2 || t.dim(0) != cols || t.dim(1) != rows) {
      throw new IllegalArgumentException("tensor '" + name + "' has dims " + Arrays.toString(t.dims()) + ", expected [" + cols + ", "
          + rows + "]");
    }
    return new Matrix(raw(t), quant(t), rows, cols);
  }

  private DeviceBuffer vector(String name, int length) {
    return floats(model.file().tensor(name), length);
  }

  private DeviceBuffer optional(String name, int length) {
    Optional<GgufTensor> t = model.file().findTensor(name);
    return t.isEmpty() ? null : floats(t.get(), length);
  }

  private DeviceBuffer floats(GgufTensor t, int length) {
    if (t.elementCount() != length) {
      throw new IllegalArgumentException("tensor '" + t.name() + "' has dims " + Arrays.toString(t.dims()) + ", expected " + length
          + " elements");
    }
    float[] v = new float[length];
    BlockCodec.dequantize(WeightType.fromGgmlId(t.type().id()), t.data(), 0, v, 0, length);
    DeviceBuffer d = track(context.allocate(4L * length));
    d.copyFrom(MemorySegment.ofArray(v), 0);
    return d;
  }

  private DeviceBuffer track(DeviceBuffer d) {
    buffers.add(d);
    return d;
  }
}
