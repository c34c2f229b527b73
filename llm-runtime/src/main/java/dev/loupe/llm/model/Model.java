package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufTensor;
import dev.loupe.llm.tensor.ActivationMode;
import dev.loupe.llm.tensor.BlockCodec;
import dev.loupe.llm.tensor.ComputePool;
import dev.loupe.llm.tensor.WeightMatrix;
import dev.loupe.llm.tensor.WeightType;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A transformer loaded from a GGUF file: its {@link ModelConfig}, its weights as {@link
 * WeightMatrix} views of the memory-mapped file (never copied to the heap; only norm vectors,
 * biases and RoPE frequency factors are read into small float arrays), its tokenizer, and the
 * {@link ComputePool} its forward passes run on. Conversations run in {@link Session}s made by
 * {@link #newSession}.
 *
 * <p>Thread-safe: the weights are immutable and any number of sessions may compute at once (they
 * share the pool). {@link #close} unmaps the file and stops the pool; sessions must not be used after it.
 */
public final class Model implements AutoCloseable {
  /** The weights of one transformer block; biases and q/k norms are null where the model has none. */
  record Layer(
      float[] attnNorm,
      WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
      float[] bq, float[] bk, float[] bv, float[] bo,
      float[] qNorm, float[] kNorm,
      float[] ffnNorm,
      WeightMatrix gate, WeightMatrix up, WeightMatrix down) {}

  private final GgufFile file;
  private final ModelConfig config;
  private final ModelOptions options;
  private final ComputePool pool;
  private final WeightMatrix tokenEmbedding;
  private final List<Layer> layers;
  private final float[] outputNorm;
  private final WeightMatrix output;
  private final float[] ropeFreqFactors;
  private volatile Tokenizer tokenizer;

  private Model(GgufFile file, ModelConfig config, ModelOptions options) {
    this.file = file;
    this.config = config;
    this.options = options;
    ModelConfig c = config;
    int embd = c.embeddingLength();
    // The embedding table is only looked up by row, so it keeps the file's layout.
    this.tokenEmbedding = fileMatrix("token_embd.weight", c.vocabSize(), embd);
    List<Layer> list = new ArrayList<>(c.layers());
    for (int i = 0; i < c.layers(); i++) {
      String b = "blk." + i + ".";
      list.add(new Layer(
          vector(b + "attn_norm.weight", embd),
          matrix(b + "attn_q.weight", c.queryDim(), embd),
          matrix(b + "attn_k.weight", c.keyDim(), embd),
          matrix(b + "attn_v.weight", c.valueDim(), embd),
          matrix(b + "attn_output.weight", embd, c.headCount() * c.valueLength()),
          optionalVector(b + "attn_q.bias", c.queryDim()),
          optionalVector(b + "attn_k.bias", c.keyDim()),
          optionalVector(b + "attn_v.bias", c.valueDim()),
          optionalVector(b + "attn_output.bias", embd),
          c.architecture() == ModelConfig.Architecture.QWEN3 ? vector(b + "attn_q_norm.weight", c.keyLength()) : null,
          c.architecture() == ModelConfig.Architecture.QWEN3 ? vector(b + "attn_k_norm.weight", c.keyLength()) : null,
          vector(b + "ffn_norm.weight", embd),
          matrix(b + "ffn_gate.weight", c.feedForwardLength(), embd),
          matrix(b + "ffn_up.weight", c.feedForwardLength(), embd),
          matrix(b + "ffn_down.weight", embd, c.feedForwardLength())));
    }
    this.layers = List.copyOf(list);
    this.outputNorm = vector("output_norm.weight", embd);
    // Tied embeddings: without output.weight the logits come from the token embedding table.
    this.output = file.hasTensor("output.weight")
        ? matrix("output.weight", c.vocabSize(), embd)
        : tokenEmbedding.forMode(options.activationMode());
    this.ropeFreqFactors = optionalVector("rope_freqs.weight", c.ropeDimensions() / 2);
    this.pool = ComputePool.create(options.threads());
  }

  /**
   * Maps a GGUF file and binds its weights.
   *
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException (one line, naming the file) for an unsupported architecture or
   *     tensor type, or a missing or misshapen tensor
   */
  public static Model load(Path path, ModelOptions options) throws IOException {
    GgufFile file = GgufFile.open(path);
    try {
      return new Model(file, ModelConfig.from(file), options);
    } catch (RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /** Loads with {@link ModelOptions#defaults()}. */
  public static Model load(Path path) throws IOException {
    return load(path, ModelOptions.defaults());
  }

  public ModelConfig config() {
    return config;
  }

  public ModelOptions options() {
    return options;
  }

  /** The file the weights are mapped from (its metadata, its path). */
  public GgufFile file() {
    return file;
  }

  /** The tokenizer the file's {@code tokenizer.ggml.*} metadata describes (built on first use). */
  public Tokenizer tokenizer() {
    Tokenizer t = tokenizer;
    if (t == null) {
      t = Tokenizer.fromMetadata(file.metadata());
      tokenizer = t;
    }
    return t;
  }

  /** Whether the logits come from the token embedding table (no {@code output.weight}). */
  public boolean tiedEmbeddings() {
    return !file.hasTensor("output.weight");
  }

  /** The bytes of weights one decoded token streams (every matrix once; the embedding row aside). */
  public long weightBytesPerToken() {
    long n = output.byteSize();
    for (Layer l : layers) {
      n += l.wq.byteSize() + l.wk.byteSize() + l.wv.byteSize() + l.wo.byteSize() + l.gate.byteSize() + l.up.byteSize()
          + l.down.byteSize();
    }
    return n;
  }

  /**
   * A new conversation over this model.
   *
   * @throws IllegalArgumentException naming the numbers when the session's KV cache and scratch
   *     buffers would exceed {@link SessionOptions#memoryBudgetBytes()}
   */
  public Session newSession(SessionOptions options) {
    return new Session(this, options);
  }

  @Override
  public void close() {
    pool.close();
    file.close();
  }

  @Override
  public String toString() {
    return "Model[" + file.path().getFileName() + " " + config.architecture().ggufName() + ", " + config.layers() + " layers, "
        + config.embeddingLength() + " wide, " + options.threads() + " threads]";
  }

  // ---- package-private accessors for Session's forward pass

  ComputePool pool() {
    return pool;
  }

  ActivationMode activationMode() {
    return options.activationMode();
  }

  WeightMatrix tokenEmbedding() {
    return tokenEmbedding;
  }

  List<Layer> layers() {
    return layers;
  }

  float[] outputNorm() {
    return outputNorm;
  }

  WeightMatrix output() {
    return output;
  }

  /** llama3-style per-frequency divisors ({@code rope_freqs.weight}), or null. */
  float[] ropeFreqFactors() {
    return ropeFreqFactors;
  }

  // ---- binding tensors

  /** A matrix for matmuls, in the layout the kernels want for this model's activation mode. */
  private WeightMatrix matrix(String name, int rows, int cols) {
    return fileMatrix(name, rows, cols).forMode(options.activationMode());
  }

  private WeightMatrix fileMatrix(String name, int rows, int cols) {
    GgufTensor t = file.tensor(name);
    if (t.rank() != 2 || t.dim(0) != cols || t.dim(1) != rows) {
      throw new IllegalArgumentException(file.path() + ": tensor '" + name + "' has dims " + Arrays.toString(t.dims())
          + ", expected [" + cols + ", " + rows + "] for this " + config.architecture().ggufName() + " configuration");
    }
    return new WeightMatrix(t.data(), weightType(t), rows, cols);
  }

  private float[] vector(String name, int length) {
    return optionalVector(name, length, file.tensor(name));
  }

  private float[] optionalVector(String name, int length) {
    Optional<GgufTensor> t = file.findTensor(name);
    return t.isEmpty() ? null : optionalVector(name, length, t.get());
  }

  private float[] optionalVector(String name, int length, GgufTensor t) {
    if (t.elementCount() != length) {
      throw new IllegalArgumentException(file.path() + ": tensor '" + name + "' has dims " + Arrays.toString(t.dims())
          + ", expected " + length + " elements");
    }
    float[] v = new float[length];
    BlockCodec.dequantize(weightType(t), t.data(), 0, v, 0, length);
    return v;
  }

  private WeightType weightType(GgufTensor t) {
    GgmlType type = t.type();
    if (!type.supported()) {
      throw new IllegalArgumentException(file.path() + ": tensor '" + t.name() + "' has type " + type
          + ", which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
    }
    return WeightType.fromGgmlId(type.id());
  }
}
