package dev.loupe.llm.bench;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufWriter;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.tensor.BlockCodec;
import dev.loupe.llm.tensor.WeightType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Writes seeded random-weight GGUF models that llama.cpp loads: any of the supported architectures,
 * shapes and tensor types, with a generated SentencePiece vocabulary (control tokens, the 256 byte
 * tokens and letter pieces). Weights are Gaussian, scaled so logits spread over several units (not
 * flat), which keeps greedy choices away from ties. The oracle tests write small ones; {@code loupe
 * bench llm --random 1b} writes a Llama-sized one.
 *
 * <p>Every value comes from one {@link Random} seeded with {@link Shape#seed}, drawn tensor by
 * tensor in file order, so a shape always gives the same file. Tensors are generated row by row
 * while the file is written, so a 1B-parameter model never sits on the heap. Stateless and thread-safe.
 */
public final class RandomModels {
  private RandomModels() {}

  /**
   * A model shape.
   *
   * @param headDim the head size written as {@code key_length}/{@code value_length}; 0 for
   *     {@code dim / heads} without that metadata
   * @param tied whether the output projection is the token embedding (no {@code output.weight})
   */
  public record Shape(ModelConfig.Architecture arch, int dim, int ff, int layers, int heads, int kvHeads, int headDim,
      int vocab, GgmlType type, boolean tied, long seed) {
    public Shape {
      if (dim < 1 || ff < 1 || layers < 1 || heads < 1 || kvHeads < 1 || headDim < 0 || vocab < 259) {
        throw new IllegalArgumentException("random model shape dim " + dim + ", ff " + ff + ", layers " + layers + ", heads "
            + heads + "/" + kvHeads + ", head dim " + headDim + ", vocab " + vocab
            + " needs positive sizes and a vocabulary of at least 259 tokens (3 control + 256 bytes)");
      }
      if (heads % kvHeads != 0 || (headDim == 0 && dim % heads != 0)) {
        throw new IllegalArgumentException(
            "random model shape: " + heads + " heads must be a multiple of " + kvHeads + " kv heads and divide dim " + dim);
      }
      int block = type.blockSize();
      int hd = headDim == 0 ? dim / heads : headDim;
      if (dim % block != 0 || ff % block != 0 || (heads * hd) % block != 0) {
        throw new IllegalArgumentException("random model shape: dim " + dim + ", ff " + ff + " and heads×head dim " + heads * hd
            + " must be multiples of the " + type + " block size " + block);
      }
    }

    /** The head size. */
    public int headSize() {
      return headDim == 0 ? dim / heads : headDim;
    }

    /** The same shape with tensors of {@code t}. */
    public Shape with(GgmlType t) {
      return new Shape(arch, dim, ff, layers, heads, kvHeads, headDim, vocab, t, tied, seed);
    }

    /** The number of weights (parameters). */
    public long parameters() {
      long hd = headSize();
      long perLayer = 2L * dim * heads * hd + 2L * dim * kvHeads * hd + 3L * dim * ff + 2L * dim;
      return (long) vocab * dim * (tied ? 1 : 2) + layers * perLayer + dim;
    }

    /** A file name that tells the shape apart, e.g. {@code random-llama-1b-q8_0-s1.gguf}. */
    public String fileName(String size) {
      return "random-" + arch.ggufName() + "-" + size + "-" + type.name().toLowerCase(Locale.ROOT) + "-s" + seed + ".gguf";
    }

    @Override
    public String toString() {
      return arch.ggufName() + " " + type + (tied ? " tied" : " untied") + " dim " + dim + " ff " + ff + " layers " + layers
          + " heads " + heads + "/" + kvHeads + " vocab " + vocab;
    }
  }

  /**
   * The named benchmark shapes, all {@code llama} with an untied output and a 32,000-token
   * vocabulary (Llama 2's size; Llama 3's 128,256 would add 0.5 GB of embedding and output that a
   * decode step reads only as the output matmul):
   *
   * <ul>
   *   <li>{@code 1b}: Llama-3.2-1B's body (dim 2048, 16 layers, 32 query / 8 key-value heads of 64,
   *       ff 8192), 1.10 B parameters, 1.17 GB in Q8_0;
   *   <li>{@code 100m}: dim 768, 12 layers, 12/4 heads, ff 2048, 0.13 B parameters (a quick run);
   *   <li>{@code tiny}: dim 256, 2 layers, 4/2 heads, ff 512, vocabulary 512 (tests).
   * </ul>
   *
   * @throws IllegalArgumentException naming the known sizes
   */
  public static Shape preset(String size, GgmlType type, long seed) {
    ModelConfig.Architecture llama = ModelConfig.Architecture.LLAMA;
    return switch (size.toLowerCase(Locale.ROOT)) {
      case "1b" -> new Shape(llama, 2048, 8192, 16, 32, 8, 0, 32000, type, false, seed);
      case "100m" -> new Shape(llama, 768, 2048, 12, 12, 4, 0, 32000, type, false, seed);
      case "tiny" -> new Shape(llama, 256, 512, 2, 4, 2, 0, 512, type, false, seed);
      default -> throw new IllegalArgumentException("unknown random model size '" + size + "'; expected 1b, 100m or tiny");
    };
  }

  /** Writes the model of {@code s} to {@code out} (atomically; see {@link GgufWriter#write}). */
  public static void write(Shape s, Path out) throws IOException {
    Random r = new Random(s.seed);
    String a = s.arch.ggufName() + ".";
    int hd = s.headSize();
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", s.arch.ggufName())
        .putString("general.name", "random-" + s.arch.ggufName())
        .putUInt32(a + "context_length", 2048)
        .putUInt32(a + "embedding_length", s.dim)
        .putUInt32(a + "block_count", s.layers)
        .putUInt32(a + "feed_forward_length", s.ff)
        .putUInt32(a + "attention.head_count", s.heads)
        .putUInt32(a + "attention.head_count_kv", s.kvHeads)
        .putUInt32(a + "rope.dimension_count", hd)
        .putFloat32(a + "rope.freq_base", s.arch == ModelConfig.Architecture.LLAMA ? 10000f : 1000000f)
        .putFloat32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
    if (s.headDim != 0) {
      w.putUInt32(a + "attention.key_length", hd).putUInt32(a + "attention.value_length", hd);
    }
    vocabulary(w, s.vocab);

    // Every tensor is filled while the file is written, in the order added: one draw sequence.
    add(w, r, "token_embd.weight", s.type, s.dim, s.vocab, 1f);
    for (int i = 0; i < s.layers; i++) {
      String b = "blk." + i + ".";
      norm(w, r, b + "attn_norm.weight", s.dim);
      add(w, r, b + "attn_q.weight", s.type, s.dim, s.heads * hd, 2f / (float) Math.sqrt(s.dim));
      add(w, r, b + "attn_k.weight", s.type, s.dim, s.kvHeads * hd, 2f / (float) Math.sqrt(s.dim));
      add(w, r, b + "attn_v.weight", s.type, s.dim, s.kvHeads * hd, 1f / (float) Math.sqrt(s.dim));
      add(w, r, b + "attn_output.weight", s.type, s.heads * hd, s.dim, 1f / (float) Math.sqrt(s.heads * hd));
      if (s.arch == ModelConfig.Architecture.QWEN2) {
        bias(w, r, b + "attn_q.bias", s.heads * hd);
        bias(w, r, b + "attn_k.bias", s.kvHeads * hd);
        bias(w, r, b + "attn_v.bias", s.kvHeads * hd);
      }
      if (s.arch == ModelConfig.Architecture.QWEN3) {
        norm(w, r, b + "attn_q_norm.weight", hd);
        norm(w, r, b + "attn_k_norm.weight", hd);
      }
      norm(w, r, b + "ffn_norm.weight", s.dim);
      add(w, r, b + "ffn_gate.weight", s.type, s.dim, s.ff, 1.5f / (float) Math.sqrt(s.dim));
      add(w, r, b + "ffn_up.weight", s.type, s.dim, s.ff, 1.5f / (float) Math.sqrt(s.dim));
      add(w, r, b + "ffn_down.weight", s.type, s.ff, s.dim, 1f / (float) Math.sqrt(s.ff));
    }
    norm(w, r, "output_norm.weight", s.dim);
    if (!s.tied) {
      add(w, r, "output.weight", s.type, s.dim, s.vocab, 4f / (float) Math.sqrt(s.dim));
    }
    w.write(out);
  }

  /** A SentencePiece vocabulary: {@code <unk> <s> </s>}, 256 byte tokens, then letter pieces with falling scores. */
  public static void vocabulary(GgufWriter w, int size) {
    List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
    List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
    for (int b = 0; b < 256; b++) {
      tokens.add(String.format("<0x%02X>", b));
      types.add(6);
    }
    String letters = "etaoinshrdlucmfwypvbgkjqxz";
    java.util.Set<String> seen = new java.util.HashSet<>(tokens);
    for (int i = 0; tokens.size() < size; i++) {
      String piece = i >= 3 * letters.length() * letters.length() ? "\u2581x" + i
          : i < letters.length() ? String.valueOf(letters.charAt(i))
          : i < 2 * letters.length() ? "\u2581" + letters.charAt(i - letters.length())
          : "\u2581" + letters.charAt(i % letters.length()) + letters.charAt((i / letters.length()) % letters.length());
      if (!seen.add(piece)) continue;
      tokens.add(piece);
      types.add(1);
    }
    float[] scores = new float[size];
    for (int i = 0; i < size; i++) scores[i] = i < 259 ? 0f : -(i - 259);
    w.putString("tokenizer.ggml.model", "llama")
        .putStrings("tokenizer.ggml.tokens", tokens.toArray(String[]::new))
        .putFloats("tokenizer.ggml.scores", scores)
        .putInt32s("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray())
        .putUInt32("tokenizer.ggml.bos_token_id", 1)
        .putUInt32("tokenizer.ggml.eos_token_id", 2)
        .putUInt32("tokenizer.ggml.unknown_token_id", 0);
  }

  /** A {@code rows × cols} matrix of Gaussians times {@code scale}, drawn and encoded one row at a time. */
  private static void add(GgufWriter w, Random r, String name, GgmlType type, int cols, int rows, float scale) {
    WeightType wt = WeightType.fromGgmlId(type.id());
    w.addTensor(name, type, new long[] {cols, rows}, seg -> {
      float[] row = new float[cols];
      long rowBytes = wt.bytesFor(cols);
      for (int i = 0; i < rows; i++) {
        for (int c = 0; c < cols; c++) row[c] = (float) r.nextGaussian() * scale;
        byte[] bytes = BlockCodec.quantize(wt, row);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, i * rowBytes, rowBytes);
      }
    });
  }

  private static void norm(GgufWriter w, Random r, String name, int n) {
    f32(w, name, n, () -> 1f + 0.2f * (float) r.nextGaussian());
  }

  private static void bias(GgufWriter w, Random r, String name, int n) {
    f32(w, name, n, () -> 0.5f * (float) r.nextGaussian());
  }

  private static void f32(GgufWriter w, String name, int n, java.util.function.DoubleSupplier value) {
    w.addTensor(name, GgmlType.F32, new long[] {n}, seg -> {
      for (int i = 0; i < n; i++) {
        seg.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i, (float) value.getAsDouble());
      }
    });
  }
}
