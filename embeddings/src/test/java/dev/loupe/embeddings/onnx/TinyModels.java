package dev.loupe.embeddings.onnx;

import dev.loupe.embeddings.model.ModelManifest.Pooling;
import dev.loupe.embeddings.onnx.graph.Attribute;
import dev.loupe.embeddings.onnx.graph.DataType;
import dev.loupe.embeddings.onnx.graph.Graph;
import dev.loupe.embeddings.onnx.graph.OnnxModel;
import dev.loupe.embeddings.onnx.graph.Tensor;
import dev.loupe.embeddings.onnx.graph.ValueInfo;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tiny ONNX graphs with the input and output names and shapes of the real exports, seeded random
 * weights, and the same computation written out in plain Java as the oracle.
 */
final class TinyModels {
  private TinyModels() {}

  static float[] random(SplittableRandom random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return v;
  }

  static float[] normalized(double[] v) {
    double sq = 0;
    for (double x : v) {
      sq += x * x;
    }
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] / Math.sqrt(sq));
    }
    return out;
  }

  /**
   * A CLIP-like text tower: {@code input_ids int64[batch, 77]} (and, if asked, {@code attention_mask})
   * to {@code text_embeds float[batch, dim]}. Token embedding (ids modulo 1000) plus position
   * embedding; the state at the first arg-max id (CLIP's end-of-text pooling), plus the masked
   * mean of all states when the graph takes a mask; projected by an Einsum and offset by a bias
   * that comes from a Constant node.
   */
  static final class ClipText {
    static final int CONTEXT = 77, VOCAB = 1000, HIDDEN = 8;
    final int dim;
    final boolean withMask;
    final long seed;
    final float[] tokens, positions, projection, bias;

    ClipText(int dim, boolean withMask, long seed) {
      this.dim = dim;
      this.withMask = withMask;
      this.seed = seed;
      SplittableRandom r = new SplittableRandom(seed);
      tokens = random(r, VOCAB * HIDDEN);
      positions = random(r, CONTEXT * HIDDEN);
      projection = random(r, HIDDEN * dim);
      bias = random(r, dim);
    }

    /** The graph, with a symbolic output width when {@code symbolicWidth}, as some exports have. */
    OnnxModel model(boolean symbolicWidth) {
      Graph.Builder g = Graph.builder("tiny_clip_text");
      String ids = g.input(ValueInfo.of("input_ids", DataType.INT64, "batch", CONTEXT));
      String mask = withMask ? g.input(ValueInfo.of("attention_mask", DataType.INT64, "batch", CONTEXT)) : null;
      g.initializer(Tensor.int64s("vocab", new long[] {VOCAB}));
      g.initializer(Tensor.floats("token_embedding", tokens, VOCAB, HIDDEN));
      g.initializer(Tensor.floats("position_embedding", positions, CONTEXT, HIDDEN));
      g.initializer(Tensor.floats("text_projection", projection, HIDDEN, dim));
      String wrapped = g.node("Mod", List.of(ids, "vocab"), "wrapped_ids");
      String tok = g.node("Gather", List.of("token_embedding", wrapped), "tok");
      String h = g.node("Add", List.of(tok, "position_embedding"), "h"); // [batch, 77, hidden]
      String eos = g.node("ArgMax", List.of(ids), "eos", Attribute.of("axis", 1), Attribute.of("keepdims", 1));
      String pooled = g.node("GatherND", List.of(h, eos), "eos_state", Attribute.of("batch_dims", 1)); // [batch, hidden]
      if (withMask) {
        g.initializer(Tensor.int64s("axis2", new long[] {2}, 1));
        g.initializer(Tensor.int64s("axis1", new long[] {1}, 1));
        String m = g.node("Cast", List.of(mask), "mask_f", Attribute.of("to", DataType.FLOAT.code));
        String m3 = g.node("Unsqueeze", List.of(m, "axis2"), "mask3");
        String masked = g.node("Mul", List.of(h, m3), "masked");
        String sum = g.node("ReduceSum", List.of(masked, "axis1"), "sum", Attribute.of("keepdims", 0));
        String count = g.node("ReduceSum", List.of(m, "axis1"), "count", Attribute.of("keepdims", 1));
        String mean = g.node("Div", List.of(sum, count), "mean");
        pooled = g.node("Add", List.of(pooled, mean), "pooled");
      }
      String projected = g.node("Einsum", List.of(pooled, "text_projection"), "projected", Attribute.of("equation", "bh,hd->bd"));
      String b = g.node("Constant", List.of(), "bias", Attribute.of("value", Tensor.floats("bias_value", bias, dim)));
      g.node("Add", List.of(projected, b), "text_embeds");
      g.output(ValueInfo.of("text_embeds", DataType.FLOAT, "batch", symbolicWidth ? "width" : dim));
      return OnnxModel.of(g.build());
    }

    /** The normalized embedding of one row of 77 ids and its mask, computed in plain Java. */
    float[] expected(long[] ids, long[] mask) {
      int eos = 0;
      for (int s = 1; s < CONTEXT; s++) {
        if (ids[s] > ids[eos]) {
          eos = s;
        }
      }
      double[] pooled = new double[HIDDEN];
      for (int k = 0; k < HIDDEN; k++) {
        pooled[k] = state(ids, eos, k);
      }
      if (withMask) {
        int count = 0;
        double[] sum = new double[HIDDEN];
        for (int s = 0; s < CONTEXT; s++) {
          if (mask[s] != 0) {
            count++;
            for (int k = 0; k < HIDDEN; k++) {
              sum[k] += state(ids, s, k);
            }
          }
        }
        for (int k = 0; k < HIDDEN; k++) {
          pooled[k] += sum[k] / count;
        }
      }
      double[] out = new double[dim];
      for (int d = 0; d < dim; d++) {
        double acc = bias[d];
        for (int k = 0; k < HIDDEN; k++) {
          acc += pooled[k] * projection[k * dim + d];
        }
        out[d] = acc;
      }
      return normalized(out);
    }

    private double state(long[] ids, int s, int k) {
      return (double) tokens[(int) (ids[s] % VOCAB) * HIDDEN + k] + positions[s * HIDDEN + k];
    }
  }

  /**
   * A CLIP-like vision tower: {@code pixel_values float[batch, 3, 224, 224]} to
   * {@code image_embeds float[batch, dim]}. Per channel the plain mean and a row-weighted mean
   * (so that position matters), LeakyRelu, then a projection and a bias.
   */
  static final class Vision {
    static final int SIZE = 224;
    static final float ALPHA = 0.2f;
    final int dim;
    final long seed;
    final float[] rowWeights, projection, bias;

    Vision(int dim, long seed) {
      this.dim = dim;
      this.seed = seed;
      SplittableRandom r = new SplittableRandom(seed);
      rowWeights = random(r, SIZE);
      projection = random(r, 6 * dim);
      bias = random(r, dim);
    }

    OnnxModel model() {
      Graph.Builder g = Graph.builder("tiny_vision");
      String px = g.input(ValueInfo.of("pixel_values", DataType.FLOAT, "batch", 3, SIZE, SIZE));
      g.initializer(Tensor.floats("row_weights", rowWeights, SIZE, 1));
      g.initializer(Tensor.floats("visual_projection", projection, 6, dim));
      g.initializer(Tensor.floats("bias", bias, dim));
      String mean = g.node("ReduceMean", List.of(px), "mean", Attribute.ints("axes", 2, 3), Attribute.of("keepdims", 0));
      String weighted = g.node("Mul", List.of(px, "row_weights"), "weighted");
      String wmean = g.node("ReduceMean", List.of(weighted), "wmean", Attribute.ints("axes", 2, 3), Attribute.of("keepdims", 0));
      String feat = g.node("Concat", List.of(mean, wmean), "features", Attribute.of("axis", 1)); // [batch, 6]
      String act = g.node("LeakyRelu", List.of(feat), "act", Attribute.of("alpha", ALPHA));
      String proj = g.node("MatMul", List.of(act, "visual_projection"), "projected");
      g.node("Add", List.of(proj, "bias"), "image_embeds");
      g.output(ValueInfo.of("image_embeds", DataType.FLOAT, "batch", dim));
      return OnnxModel.of(g.build());
    }

    /** The normalized embedding of one {@code [3, 224, 224]} tensor, computed in plain Java. */
    float[] expected(float[] chw) {
      double[] feat = new double[6];
      for (int c = 0; c < 3; c++) {
        double sum = 0, wsum = 0;
        for (int y = 0; y < SIZE; y++) {
          for (int x = 0; x < SIZE; x++) {
            float p = chw[(c * SIZE + y) * SIZE + x];
            sum += p;
            wsum += p * rowWeights[y];
          }
        }
        feat[c] = sum / (SIZE * SIZE);
        feat[3 + c] = wsum / (SIZE * SIZE);
      }
      for (int i = 0; i < 6; i++) {
        feat[i] = feat[i] >= 0 ? feat[i] : ALPHA * feat[i];
      }
      double[] out = new double[dim];
      for (int d = 0; d < dim; d++) {
        double acc = bias[d];
        for (int i = 0; i < 6; i++) {
          acc += feat[i] * projection[i * dim + d];
        }
        out[d] = acc;
      }
      return normalized(out);
    }
  }

  /**
   * A BERT-like encoder: {@code input_ids}, {@code attention_mask}, {@code token_type_ids}
   * ({@code int64[batch, sequence]}) to {@code last_hidden_state float[batch, sequence, 384]}.
   * Word (ids modulo 1000), token type and position embeddings (the positions sliced to the
   * sequence length at run time); each state is mixed with the masked mean of the sequence, as a
   * stand-in for attention, through tanh; then projected to 384.
   */
  static final class Bert {
    static final int VOCAB = 1000, HIDDEN = 16, MAX_POSITIONS = 512, DIM = 384;
    final long seed;
    final float[] words, types, positions, projection;

    Bert(long seed) {
      this.seed = seed;
      SplittableRandom r = new SplittableRandom(seed);
      words = random(r, VOCAB * HIDDEN);
      types = random(r, 2 * HIDDEN);
      positions = random(r, MAX_POSITIONS * HIDDEN);
      projection = random(r, HIDDEN * DIM);
    }

    OnnxModel model() {
      Graph.Builder g = Graph.builder("tiny_bert");
      String ids = g.input(ValueInfo.of("input_ids", DataType.INT64, "batch", "sequence"));
      String mask = g.input(ValueInfo.of("attention_mask", DataType.INT64, "batch", "sequence"));
      String typeIds = g.input(ValueInfo.of("token_type_ids", DataType.INT64, "batch", "sequence"));
      g.initializer(Tensor.int64s("vocab", new long[] {VOCAB}));
      g.initializer(Tensor.floats("word_embeddings", words, VOCAB, HIDDEN));
      g.initializer(Tensor.floats("token_type_embeddings", types, 2, HIDDEN));
      g.initializer(Tensor.floats("position_embeddings", positions, MAX_POSITIONS, HIDDEN));
      g.initializer(Tensor.floats("projection", projection, HIDDEN, DIM));
      g.initializer(Tensor.int64s("zero", new long[] {0}, 1));
      g.initializer(Tensor.int64s("one", new long[] {1}, 1));
      g.initializer(Tensor.int64s("two", new long[] {2}, 1));
      String w = g.node("Gather", List.of("word_embeddings", g.node("Mod", List.of(ids, "vocab"), "wrapped")), "w");
      String t = g.node("Gather", List.of("token_type_embeddings", typeIds), "t");
      String shape = g.node("Shape", List.of(ids), "shape");
      String seqLen = g.node("Slice", List.of(shape, "one", "two"), "seq_len");
      String p = g.node("Slice", List.of("position_embeddings", "zero", seqLen, "zero"), "p"); // [sequence, hidden]
      String h = g.node("Add", List.of(g.node("Add", List.of(w, t), "wt"), p), "h");
      String m = g.node("Unsqueeze", List.of(g.node("Cast", List.of(mask), "mask_f", Attribute.of("to", DataType.FLOAT.code)), "two"), "m3");
      String sum = g.node("ReduceSum", List.of(g.node("Mul", List.of(h, m), "hm"), "one"), "sum", Attribute.of("keepdims", 1));
      String count = g.node("ReduceSum", List.of(m, "one"), "count", Attribute.of("keepdims", 1));
      String context = g.node("Div", List.of(sum, count), "context"); // [batch, 1, hidden]
      String mixed = g.node("Tanh", List.of(g.node("Add", List.of(h, context), "hc")), "mixed");
      g.node("MatMul", List.of(mixed, "projection"), "last_hidden_state");
      g.output(ValueInfo.of("last_hidden_state", DataType.FLOAT, "batch", "sequence", DIM));
      return OnnxModel.of(g.build());
    }

    /** The normalized, pooled embedding of one text's ids (no padding, token types 0). */
    float[] expected(long[] ids, Pooling pooling) {
      int n = ids.length;
      double[][] h = new double[n][HIDDEN];
      double[] context = new double[HIDDEN];
      for (int s = 0; s < n; s++) {
        for (int k = 0; k < HIDDEN; k++) {
          h[s][k] = (double) words[(int) (ids[s] % VOCAB) * HIDDEN + k] + types[k] + positions[s * HIDDEN + k];
          context[k] += h[s][k] / n;
        }
      }
      double[] pooled = new double[DIM];
      int rows = pooling == Pooling.CLS ? 1 : n;
      for (int s = 0; s < rows; s++) {
        for (int d = 0; d < DIM; d++) {
          double acc = 0;
          for (int k = 0; k < HIDDEN; k++) {
            acc += Math.tanh(h[s][k] + context[k]) * projection[k * DIM + d];
          }
          pooled[d] += acc / rows;
        }
      }
      return normalized(pooled);
    }
  }
}
