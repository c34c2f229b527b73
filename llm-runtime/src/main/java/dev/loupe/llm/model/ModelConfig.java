package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.tokenizer.Vocabulary;
import java.util.Arrays;
import java.util.Locale;

/**
 * The hyperparameters of a decoder-only transformer, as a GGUF file's {@code <arch>.*} metadata
 * states them (the names follow llama.cpp's {@code LLM_KV_*} keys).
 *
 * @param architecture the family: which optional tensors exist and how RoPE pairs dimensions
 * @param layers {@code block_count}
 * @param embeddingLength {@code embedding_length}: the width of the residual stream
 * @param feedForwardLength {@code feed_forward_length}: the hidden width of the SwiGLU FFN
 * @param headCount {@code attention.head_count}: query heads
 * @param headCountKv {@code attention.head_count_kv}: key/value heads (grouped-query attention when fewer)
 * @param keyLength {@code attention.key_length}: the query/key head dimension (default embedding/heads)
 * @param valueLength {@code attention.value_length}: the value head dimension (default embedding/heads)
 * @param ropeTheta {@code rope.freq_base}
 * @param ropeDimensions {@code rope.dimension_count}: how many leading dimensions of each head RoPE rotates
 * @param ropeStyle how dimensions are paired: adjacent ({@code llama}) or halves ({@code qwen2}, {@code qwen3})
 * @param ropeScale {@code rope.scaling.factor} for linear scaling (1 when unscaled): positions are divided by it
 * @param rmsEpsilon {@code attention.layer_norm_rms_epsilon}
 * @param contextLength {@code context_length}: the context the model was trained for
 * @param vocabSize the number of tokens in {@code tokenizer.ggml.tokens}
 */
public record ModelConfig(
    Architecture architecture,
    int layers,
    int embeddingLength,
    int feedForwardLength,
    int headCount,
    int headCountKv,
    int keyLength,
    int valueLength,
    float ropeTheta,
    int ropeDimensions,
    RopeStyle ropeStyle,
    float ropeScale,
    float rmsEpsilon,
    int contextLength,
    int vocabSize) {

  /** The architectures this engine runs, by their {@code general.architecture} name. */
  public enum Architecture {
    /** Llama 2/3.x, TinyLlama, SmolLM, Mistral: RMSNorm, RoPE over adjacent pairs, SwiGLU, optional biases. */
    LLAMA("llama", RopeStyle.NORMAL),
    /** Qwen2 and Qwen2.5: q/k/v biases, RoPE over halves (NEOX). */
    QWEN2("qwen2", RopeStyle.NEOX),
    /** Qwen3: a per-head RMSNorm on queries and keys before RoPE, RoPE over halves (NEOX). */
    QWEN3("qwen3", RopeStyle.NEOX);

    private final String ggufName;
    private final RopeStyle ropeStyle;

    Architecture(String ggufName, RopeStyle ropeStyle) {
      this.ggufName = ggufName;
      this.ropeStyle = ropeStyle;
    }

    /** The {@code general.architecture} value. */
    public String ggufName() {
      return ggufName;
    }

    /** The RoPE pairing llama.cpp's {@code llama_model_rope_type} gives this architecture. */
    public RopeStyle ropeStyle() {
      return ropeStyle;
    }

    /** The architecture named {@code name}; rejects others, naming the supported ones. */
    public static Architecture fromGguf(String name) {
      for (Architecture a : values()) {
        if (a.ggufName.equals(name)) {
          return a;
        }
      }
      throw new IllegalArgumentException("architecture '" + name + "' is not supported (supported: "
          + String.join(", ", Arrays.stream(values()).map(Architecture::ggufName).toList()) + ")");
    }
  }

  /** How RoPE pairs the dimensions of a head (llama.cpp's {@code LLAMA_ROPE_TYPE_NORM} and {@code _NEOX}). */
  public enum RopeStyle {
    /** Rotates {@code (x[2i], x[2i+1])}. */
    NORMAL,
    /** Rotates {@code (x[i], x[i + n/2])}. */
    NEOX
  }

  public ModelConfig {
    if (architecture == null || ropeStyle == null) {
      throw new IllegalArgumentException("architecture and RoPE style must be given");
    }
    requirePositive("block_count", layers);
    requirePositive("embedding_length", embeddingLength);
    requirePositive("feed_forward_length", feedForwardLength);
    requirePositive("attention.head_count", headCount);
    requirePositive("attention.head_count_kv", headCountKv);
    requirePositive("attention.key_length", keyLength);
    requirePositive("attention.value_length", valueLength);
    requirePositive("context_length", contextLength);
    requirePositive("vocabulary size", vocabSize);
    if (headCount % headCountKv != 0) {
      throw new IllegalArgumentException("attention.head_count " + headCount + " is not a multiple of attention.head_count_kv "
          + headCountKv);
    }
    if (ropeDimensions < 0 || ropeDimensions > keyLength || ropeDimensions % 2 != 0) {
      throw new IllegalArgumentException("rope.dimension_count " + ropeDimensions + " must be even and within the head dimension "
          + keyLength);
    }
    if (!(ropeTheta > 0) || !Float.isFinite(ropeTheta)) {
      throw new IllegalArgumentException("rope.freq_base " + ropeTheta + " must be a positive number");
    }
    if (!(ropeScale > 0) || !Float.isFinite(ropeScale)) {
      throw new IllegalArgumentException("rope.scaling.factor " + ropeScale + " must be a positive number");
    }
    if (!(rmsEpsilon > 0) || !Float.isFinite(rmsEpsilon)) {
      throw new IllegalArgumentException("attention.layer_norm_rms_epsilon " + rmsEpsilon + " must be a positive number");
    }
  }

  private static void requirePositive(String key, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(key + " " + value + " must be at least 1");
    }
  }

  /**
   * Reads the configuration from a GGUF file's metadata.
   *
   * @throws IllegalArgumentException (one line, naming the file and the key) for an unsupported
   *     architecture or RoPE scaling, or a missing or implausible value
   */
  public static ModelConfig from(GgufFile file) {
    try {
      Architecture arch = Architecture.fromGguf(file.architecture());
      String p = arch.ggufName() + ".";
      int embd = file.getInt(p + "embedding_length");
      int heads = file.getInt(p + "attention.head_count");
      int kvHeads = file.getInt(p + "attention.head_count_kv", heads);
      int headDim = heads > 0 && embd % heads == 0 ? embd / heads : 0;
      int keyLength = file.getInt(p + "attention.key_length", headDim);
      int valueLength = file.getInt(p + "attention.value_length", headDim);
      float scale = 1f;
      String scaling = file.getString(p + "rope.scaling.type", "none").toLowerCase(Locale.ROOT);
      switch (scaling) {
        case "none" -> {}
        case "linear" -> scale = file.getFloat(p + "rope.scaling.factor", 1f);
        default -> throw new IllegalArgumentException("rope.scaling.type '" + scaling + "' is not supported (supported: none, linear;"
            + " llama3-style scaling comes as the rope_freqs.weight tensor)");
      }
      if (scaling.equals("none") && file.has(p + "rope.scaling.factor") && !file.has(p + "rope.scaling.type")) {
        scale = file.getFloat(p + "rope.scaling.factor"); // older files give the linear factor alone
      }
      return new ModelConfig(
          arch,
          file.getInt(p + "block_count"),
          embd,
          file.getInt(p + "feed_forward_length"),
          heads,
          kvHeads,
          keyLength,
          valueLength,
          file.getFloat(p + "rope.freq_base", 10000f),
          file.getInt(p + "rope.dimension_count", keyLength),
          arch.ropeStyle(),
          scale,
          file.getFloat(p + "attention.layer_norm_rms_epsilon"),
          file.getInt(p + "context_length"),
          file.getStringArray(Vocabulary.KEY_TOKENS).length);
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      throw new IllegalArgumentException(m.startsWith(file.path().toString()) ? m : file.path() + ": " + m, e);
    }
  }

  /** Query dimensions per token: heads × key length. */
  public int queryDim() {
    return headCount * keyLength;
  }

  /** Key dimensions per token and layer in the cache: kv heads × key length. */
  public int keyDim() {
    return headCountKv * keyLength;
  }

  /** Value dimensions per token and layer in the cache: kv heads × value length. */
  public int valueDim() {
    return headCountKv * valueLength;
  }
}
