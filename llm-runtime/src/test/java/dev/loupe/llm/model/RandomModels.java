package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufWriter;
import dev.loupe.llm.tensor.BlockCodec;
import dev.loupe.llm.tensor.WeightType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes seeded random-weight GGUF models that llama.cpp loads: any of the supported architectures,
 * shapes and tensor types, with a generated SentencePiece vocabulary (control tokens, the 256 byte
 * tokens and a few hundred letter pieces). Weights are scaled so logits spread over several units
 * (not flat), which keeps greedy choices away from ties.
 */
final class RandomModels {
  private RandomModels() {}

  /**
   * A model shape.
   *
   * @param headDim 0 for embedding/heads (no key_length metadata)
   */
  record Shape(ModelConfig.Architecture arch, int dim, int ff, int layers, int heads, int kvHeads, int headDim, int vocab,
      GgmlType type, boolean tied, long seed) {
    int headSize() {
      return headDim == 0 ? dim / heads : headDim;
    }

    Shape with(GgmlType t) {
      return new Shape(arch, dim, ff, layers, heads, kvHeads, headDim, vocab, t, tied, seed);
    }

    @Override
    public String toString() {
      return arch.ggufName() + " " + type + (tied ? " tied" : " untied") + " dim " + dim + " ff " + ff + " heads " + heads + "/" + kvHeads;
    }
  }

  /** A small model: 2 layers, GQA 4/2 heads, a 320-token vocabulary; dim 256 for the K-quants (whole 256-blocks). */
  static Shape small(ModelConfig.Architecture arch, GgmlType type, boolean tied, long seed) {
    boolean k = type.blockSize() == 256;
    return new Shape(arch, k ? 256 : 128, k ? 512 : 256, 2, 4, 2, 0, 320, type, tied, seed);
  }

  static void write(Shape s, Path out) throws IOException {
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
  static void vocabulary(GgufWriter w, int size) {
    List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
    List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
    for (int b = 0; b < 256; b++) {
      tokens.add(String.format("<0x%02X>", b));
      types.add(6);
    }
    String letters = "etaoinshrdlucmfwypvbgkjqxz";
    for (int i = 0; tokens.size() < size; i++) {
      String piece = i >= 3 * letters.length() * letters.length() ? "\u2581x" + i
          : i < letters.length() ? String.valueOf(letters.charAt(i))
          : i < 2 * letters.length() ? "\u2581" + letters.charAt(i - letters.length())
          : "\u2581" + letters.charAt(i % letters.length()) + letters.charAt((i / letters.length()) % letters.length());
      if (tokens.contains(piece)) continue;
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

  private static void add(GgufWriter w, Random r, String name, GgmlType type, int cols, int rows, float scale) {
    float[] v = new float[cols * rows];
    for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * scale;
    byte[] bytes = BlockCodec.quantize(WeightType.fromGgmlId(type.id()), v);
    w.addTensor(name, type, new long[] {cols, rows}, bytes);
  }

  private static void norm(GgufWriter w, Random r, String name, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = 1f + 0.2f * (float) r.nextGaussian();
    w.addTensor(name, new long[] {n}, v);
  }

  private static void bias(GgufWriter w, Random r, String name, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = 0.5f * (float) r.nextGaussian();
    w.addTensor(name, new long[] {n}, v);
  }

  /** {@code n} seeded random token ids, BOS first. */
  static int[] randomTokens(Random r, int n, int vocab) {
    int[] t = new int[n];
    t[0] = 1;
    for (int i = 1; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
    return t;
  }

}
