package dev.loupe.http;

import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes a tiny crafted GGUF llama whose greedy answer to any prompt is {@code [1][1][1]…}: a
 * model that cites source 1 over and over, so the chat panel's inline citation chips are drawn
 * from a real model's real answer rather than from a faked server response.
 *
 * <p>How it is built: every attention and feed-forward weight is zero, so each layer adds nothing
 * and the residual stream at the last position is that token's embedding. The byte tokens {@code
 * [}, {@code 1} and {@code ]} have embeddings on the orthogonal unit axes e1, e2, e3; every other
 * token's is e0. The final RMSNorm (weights 1) scales a unit axis to {@code sqrt(DIM)} on that
 * axis. The untied output matrix is zero except for three rows:
 *
 * <ul>
 *   <li>{@code [}'s row is {@code BIG·(e0 + e3)}: after any ordinary token, or after {@code ]}, the next is {@code [};
 *   <li>{@code 1}'s row is {@code BIG·e1}: after {@code [} comes {@code 1};
 *   <li>{@code ]}'s row is {@code BIG·e2}: after {@code 1} comes {@code ]}.
 * </ul>
 *
 * So the chosen token's logit is {@code BIG·sqrt(DIM)} = 32 and every other logit is 0: a margin
 * that makes the sampler irrelevant (greedy picks it; at temperature 0.8 the other 511 tokens
 * together have a probability under 1e-14, and min-p drops them), and the answer does not depend on a seed. Nothing is
 * random; the vocabulary is {@link RandomModels#vocabulary}'s, the one the random test models use.
 */
final class CitingModel {
  static final int DIM = 64;
  static final int VOCAB = 512;
  private static final int FF = 64;
  private static final int HEADS = 2;
  private static final float BIG = 4f;

  /** The ids of the byte tokens {@code [}, {@code 1} and {@code ]}: after the 3 control tokens, byte b is 3 + b. */
  static final int OPEN = 3 + '[';
  static final int ONE = 3 + '1';
  static final int CLOSE = 3 + ']';

  private CitingModel() {}

  /** Writes the model to {@code out}. */
  static void write(Path out) throws IOException {
    GgufWriter w = new GgufWriter();
    String a = "llama.";
    w.putString("general.architecture", "llama")
        .putString("general.name", "citing-llama")
        .putUInt32(a + "context_length", 2048)
        .putUInt32(a + "embedding_length", DIM)
        .putUInt32(a + "block_count", 1)
        .putUInt32(a + "feed_forward_length", FF)
        .putUInt32(a + "attention.head_count", HEADS)
        .putUInt32(a + "attention.head_count_kv", HEADS)
        .putUInt32(a + "rope.dimension_count", DIM / HEADS)
        .putFloat32(a + "rope.freq_base", 10000f)
        .putFloat32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
    RandomModels.vocabulary(w, VOCAB);

    float[] embedding = new float[VOCAB * DIM];
    for (int t = 0; t < VOCAB; t++) {
      embedding[t * DIM + axis(t)] = 1f;
    }
    w.addTensor("token_embd.weight", new long[] {DIM, VOCAB}, embedding);
    String b = "blk.0.";
    w.addTensor(b + "attn_norm.weight", new long[] {DIM}, ones(DIM));
    w.addTensor(b + "attn_q.weight", new long[] {DIM, DIM}, new float[DIM * DIM]);
    w.addTensor(b + "attn_k.weight", new long[] {DIM, DIM}, new float[DIM * DIM]);
    w.addTensor(b + "attn_v.weight", new long[] {DIM, DIM}, new float[DIM * DIM]);
    w.addTensor(b + "attn_output.weight", new long[] {DIM, DIM}, new float[DIM * DIM]);
    w.addTensor(b + "ffn_norm.weight", new long[] {DIM}, ones(DIM));
    w.addTensor(b + "ffn_gate.weight", new long[] {DIM, FF}, new float[FF * DIM]);
    w.addTensor(b + "ffn_up.weight", new long[] {DIM, FF}, new float[FF * DIM]);
    w.addTensor(b + "ffn_down.weight", new long[] {FF, DIM}, new float[DIM * FF]);
    w.addTensor("output_norm.weight", new long[] {DIM}, ones(DIM));

    float[] output = new float[VOCAB * DIM];
    output[OPEN * DIM + axis(-1)] = BIG; // after an ordinary token
    output[OPEN * DIM + axis(CLOSE)] = BIG;
    output[ONE * DIM + axis(OPEN)] = BIG;
    output[CLOSE * DIM + axis(ONE)] = BIG;
    w.addTensor("output.weight", new long[] {DIM, VOCAB}, output);
    w.write(out);
  }

  /** The embedding axis of token {@code t}: e1, e2, e3 for {@code [ 1 ]}, e0 for every other token. */
  private static int axis(int t) {
    return t == OPEN ? 1 : t == ONE ? 2 : t == CLOSE ? 3 : 0;
  }

  private static float[] ones(int n) {
    float[] v = new float[n];
    Arrays.fill(v, 1f);
    return v;
  }
}
