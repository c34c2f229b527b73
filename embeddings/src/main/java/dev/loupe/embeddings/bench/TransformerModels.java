package dev.loupe.embeddings.bench;

import dev.loupe.embeddings.onnx.graph.Attribute;
import dev.loupe.embeddings.onnx.graph.DataType;
import dev.loupe.embeddings.onnx.graph.Graph;
import dev.loupe.embeddings.onnx.graph.OnnxModel;
import dev.loupe.embeddings.onnx.graph.Tensor;
import dev.loupe.embeddings.onnx.graph.ValueInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random-weight ONNX transformers with the exact shapes of real embedders, so the embedding
 * benchmark measures real work where the real weights cannot be downloaded.
 *
 * <p>The graphs follow OpenAI CLIP: pre-norm residual blocks (LayerNorm, multi-head attention,
 * LayerNorm, MLP with QuickGELU {@code x * sigmoid(1.702 x)}); the vision tower embeds 32x32
 * patches with a strided convolution, prepends a class token and projects its final state; the
 * text tower embeds tokens, adds positions, applies a causal mask and projects the state at the
 * end-of-text token (the largest id). Weights are drawn from N(0, 0.02) with a fixed seed, so the
 * outputs are meaningless but the arithmetic is exactly that of the real model.
 */
public final class TransformerModels {
  private TransformerModels() {}

  /**
   * How the linear layers' weights are stored. {@link #INT8} writes them as ONNX Runtime's dynamic
   * quantization does (and as the published int8 exports of CLIP are): int8 weights with one
   * scale per matrix, activations quantized to uint8 on the fly ({@code DynamicQuantizeLinear},
   * {@code MatMulInteger}, then the product of the scales); the same random weights as {@link
   * #FP32} for the same seed, rounded. Embeddings, norms, attention and the patch convolution stay
   * float.
   */
  public enum Weights {
    FP32,
    INT8
  }

  /**
   * A transformer tower's shape.
   *
   * @param width hidden size
   * @param layers residual blocks
   * @param heads attention heads
   * @param mlp hidden size of the MLP
   * @param tokens sequence length (for a vision tower: patches + class token)
   * @param output projected embedding size
   */
  public record Shape(int width, int layers, int heads, int mlp, int tokens, int output) {
    public Shape {
      if (width % heads != 0) {
        throw new IllegalArgumentException("width " + width + " is not a multiple of heads " + heads);
      }
    }

    /** Floating-point operations (a multiply-add counts as two) of the blocks for one input of {@link #tokens} tokens. */
    public double blockFlops() {
      return blockFlops(tokens);
    }

    /** The same for an input of {@code t} tokens (a text tower reads only a text's own length). */
    public double blockFlops(double t) {
      double w = width;
      double projections = 4 * t * w * w * 2; // q, k, v, out
      double attention = 2 * t * t * w * 2; // scores and weighted sum, all heads together
      double mlpFlops = 2 * t * w * mlp * 2;
      return layers * (projections + attention + mlpFlops);
    }
  }

  /** CLIP ViT-B/32's image tower: 224x224 pixels in 7x7 patches of 32, width 768, 12 layers, 512-d output. */
  public static final Shape VIT_B32_VISION = new Shape(768, 12, 12, 3072, 50, 512);
  /** CLIP ViT-B/32's text tower: 77 tokens, width 512, 12 layers, 8 heads, 512-d output. */
  public static final Shape VIT_B32_TEXT = new Shape(512, 12, 8, 2048, 77, 512);
  public static final int IMAGE_SIZE = 224, PATCH = 32, VOCAB = 49408;

  /** Operations of the vision tower for one 224x224 image: patch embedding, blocks, projection. */
  public static double visionFlops(Shape s) {
    int patches = s.tokens() - 1;
    double patchEmbed = 2.0 * patches * s.width() * 3 * PATCH * PATCH;
    return patchEmbed + s.blockFlops() + 2.0 * s.width() * s.output();
  }

  /** Operations of the text tower for one text of {@code s.tokens()} tokens, CLIP's fixed context. */
  public static double textFlops(Shape s) {
    return textFlops(s, s.tokens());
  }

  /** Operations of the text tower for one text of {@code tokens} tokens, special tokens included. */
  public static double textFlops(Shape s, double tokens) {
    return s.blockFlops(tokens) + 2.0 * s.width() * s.output();
  }

  /** Writes the vision tower: {@code pixel_values [batch,3,224,224] -> image_embeds [batch,output]}. */
  public static void writeVision(Path file, Shape s, long seed) throws IOException {
    writeVision(file, s, seed, Weights.FP32);
  }

  /** The same with the linear layers' weights stored as {@code weights} says. */
  public static void writeVision(Path file, Shape s, long seed, Weights weights) throws IOException {
    var g = new Builder(Graph.builder("vision_model"), seed, weights);
    int w = s.width(), patches = s.tokens() - 1;
    String x = g.b.input(ValueInfo.of("pixel_values", DataType.FLOAT, "batch", 3, IMAGE_SIZE, IMAGE_SIZE));
    x = g.b.node("Conv", List.of(x, g.weight("patch_embedding", w, 3, PATCH, PATCH)), "patches",
        Attribute.ints("kernel_shape", PATCH, PATCH), Attribute.ints("strides", PATCH, PATCH));
    x = g.b.node("Reshape", List.of(x, g.shape("patch_shape", 0, w, patches)), "patch_rows");
    x = g.b.node("Transpose", List.of(x), "patch_tokens", Attribute.ints("perm", 0, 2, 1));
    // A zero row in front is where the class token goes: adding (class embedding + position 0)
    // there is the same as concatenating the class token, without a batch-sized Expand.
    x = g.b.node("Pad", List.of(x, g.b.initializer(Tensor.int64s("cls_pad", new long[] {0, 1, 0, 0, 0, 0}, 6))), "tokens");
    x = g.b.node("Add", List.of(x, g.weight("cls_and_positions", s.tokens(), w)), "embedded");
    x = g.layerNorm("pre", x, w);
    for (int l = 0; l < s.layers(); l++) {
      x = g.block("layer" + l, x, s, null);
    }
    x = g.b.node("Gather", List.of(x, g.b.initializer(Tensor.int64s("cls_index", new long[] {0}))), "cls_state",
        Attribute.of("axis", 1L));
    x = g.layerNorm("post", x, w);
    g.matmul("visual_projection", x, w, s.output(), "image_embeds");
    g.b.output(ValueInfo.of("image_embeds", DataType.FLOAT, "batch", s.output()));
    OnnxModel.of(g.b.build()).write(file);
  }

  /**
   * Writes the text tower: {@code input_ids [batch,sequence] (int64) -> text_embeds [batch,output]},
   * for any sequence length up to {@code s.tokens()}, as the published CLIP exports take it: the
   * position table and the causal mask are sliced to the input's length.
   */
  public static void writeText(Path file, Shape s, long seed) throws IOException {
    writeText(file, s, seed, false);
  }

  /**
   * Writes the text tower; with {@code fixedLength} the graph declares and takes exactly
   * {@code s.tokens()} positions, as some exports do (the same weights for the same seed).
   */
  public static void writeText(Path file, Shape s, long seed, boolean fixedLength) throws IOException {
    writeText(file, s, seed, fixedLength, Weights.FP32);
  }

  /** The same with the linear layers' weights stored as {@code weights} says. */
  public static void writeText(Path file, Shape s, long seed, boolean fixedLength, Weights weights) throws IOException {
    var g = new Builder(Graph.builder("text_model"), seed, weights);
    int w = s.width(), t = s.tokens();
    String ids = g.b.input(ValueInfo.of("input_ids", DataType.INT64, "batch", fixedLength ? (Object) t : "sequence"));
    String x = g.b.node("Gather", List.of(g.weight("token_embedding", VOCAB, w), ids), "token_states");
    String positions = g.weight("positions", t, w);
    float[] causal = new float[t * t];
    for (int i = 0; i < t; i++) {
      for (int j = i + 1; j < t; j++) {
        causal[i * t + j] = -1e9f;
      }
    }
    String mask = g.b.initializer(Tensor.floats("causal_mask", causal, t, t));
    if (!fixedLength) {
      // length = shape(input_ids)[1:2]; positions[:length]; mask[:length, :length]
      String shape = g.b.node("Shape", List.of(ids), "ids_shape");
      String length = g.b.node("Slice", List.of(shape, g.shape("one", 1), g.shape("two", 2)), "length");
      String zero = g.shape("zero", 0), axis0 = g.shape("axis0", 0), axis1 = g.shape("axis1", 1);
      positions = g.b.node("Slice", List.of(positions, zero, length, axis0), "positions_used");
      mask = g.b.node("Slice", List.of(mask, zero, length, axis0), "mask_rows");
      mask = g.b.node("Slice", List.of(mask, zero, length, axis1), "mask_used");
    }
    x = g.b.node("Add", List.of(x, positions), "embedded");
    for (int l = 0; l < s.layers(); l++) {
      x = g.block("layer" + l, x, s, mask);
    }
    x = g.layerNorm("final", x, w);
    // The end-of-text token has the largest id, so its position is the argmax of the ids (the
    // first one: CLIP's tokenizer pads with the same id).
    String eos = g.b.node("ArgMax", List.of(ids), "eos", Attribute.of("axis", 1L), Attribute.of("keepdims", 1L));
    eos = g.b.node("Unsqueeze", List.of(eos, g.b.initializer(Tensor.int64s("axis2", new long[] {2}, 1))), "eos3");
    eos = g.b.node("Expand", List.of(eos, g.shape("eos_shape", 1, 1, w)), "eos_index");
    x = g.b.node("GatherElements", List.of(x, eos), "eos_state", Attribute.of("axis", 1L));
    x = g.b.node("Reshape", List.of(x, g.shape("pooled_shape", 0, w)), "pooled");
    g.matmul("text_projection", x, w, s.output(), "text_embeds");
    g.b.output(ValueInfo.of("text_embeds", DataType.FLOAT, "batch", s.output()));
    OnnxModel.of(g.b.build()).write(file);
  }

  /** Writes {@code c = a @ b} for two {@code n x n} inputs: ONNX Runtime's matrix multiply, the FLOP-rate yardstick. */
  public static void writeMatMul(Path file, int n) throws IOException {
    Graph.Builder b = Graph.builder("matmul");
    String a = b.input(ValueInfo.of("a", DataType.FLOAT, n, n));
    String c = b.input(ValueInfo.of("b", DataType.FLOAT, n, n));
    b.node("MatMul", List.of(a, c), "c");
    b.output(ValueInfo.of("c", DataType.FLOAT, n, n));
    OnnxModel.of(b.build()).write(file);
  }

  private static final class Builder {
    final Graph.Builder b;
    final SplittableRandom random;
    final Weights weights;

    Builder(Graph.Builder b, long seed) {
      this(b, seed, Weights.FP32);
    }

    Builder(Graph.Builder b, long seed, Weights weights) {
      this.b = b;
      this.random = new SplittableRandom(seed);
      this.weights = weights;
    }

    String weight(String name, int... dims) {
      long count = 1;
      long[] shape = new long[dims.length];
      for (int i = 0; i < dims.length; i++) {
        shape[i] = dims[i];
        count *= dims[i];
      }
      return b.initializer(Tensor.floats(name, gaussian(Math.toIntExact(count)), shape));
    }

    float[] gaussian(int count) {
      float[] v = new float[count];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * 0.02);
      }
      return v;
    }

    /** {@code output = x @ W} for a random {@code in x out} matrix W, stored as {@link #weights} says. */
    String matmul(String name, String x, int in, int out, String output) {
      float[] w = gaussian(in * out);
      if (weights == Weights.FP32) {
        return b.node("MatMul", List.of(x, b.initializer(Tensor.floats(name + "_w", w, in, out))), output);
      }
      float max = 0;
      for (float v : w) {
        max = Math.max(max, Math.abs(v));
      }
      float scale = max / 127f;
      byte[] q = new byte[w.length];
      for (int i = 0; i < w.length; i++) {
        q[i] = (byte) Math.round(w[i] / scale);
      }
      String wq = b.initializer(Tensor.int8s(name + "_wq", q, in, out));
      String wzp = b.initializer(Tensor.int8s(name + "_wzp", new byte[] {0}));
      String ws = b.initializer(Tensor.floats(name + "_ws", new float[] {scale}));
      String xq = name + "_xq", xs = name + "_xs", xzp = name + "_xzp";
      b.node("DynamicQuantizeLinear", List.of(x), List.of(xq, xs, xzp));
      String acc = b.node("MatMulInteger", List.of(xq, wq, xzp, wzp), name + "_acc");
      String accf = b.node("Cast", List.of(acc), name + "_accf", Attribute.of("to", (long) DataType.FLOAT.code));
      String both = b.node("Mul", List.of(xs, ws), name + "_scale");
      return b.node("Mul", List.of(accf, both), output);
    }

    String constant(String name, float value, int n) {
      float[] v = new float[n];
      java.util.Arrays.fill(v, value);
      return b.initializer(Tensor.floats(name, v, n));
    }

    String shape(String name, long... dims) {
      return b.initializer(Tensor.int64s(name, dims, dims.length));
    }

    String layerNorm(String name, String x, int w) {
      return b.node("LayerNormalization", List.of(x, constant(name + "_gamma", 1, w), constant(name + "_beta", 0, w)),
          name + "_ln", Attribute.of("axis", -1L), Attribute.of("epsilon", 1e-5f));
    }

    String linear(String name, String x, int in, int out) {
      String y = matmul(name, x, in, out, name + "_mm");
      return b.node("Add", List.of(y, constant(name + "_b", 0, out)), name);
    }

    /** One pre-norm block: x + attention(ln(x)), then + mlp(ln(...)). {@code mask} is added to the scores when not null. */
    String block(String p, String x, Shape s, String mask) {
      int w = s.width(), heads = s.heads(), hd = w / heads;
      String h = layerNorm(p + "_ln1", x, w);
      String q = b.node("Reshape", List.of(linear(p + "_q", h, w, w), shape(p + "_qs", 0, 0, heads, hd)), p + "_q4");
      String k = b.node("Reshape", List.of(linear(p + "_k", h, w, w), shape(p + "_ks", 0, 0, heads, hd)), p + "_k4");
      String v = b.node("Reshape", List.of(linear(p + "_v", h, w, w), shape(p + "_vs", 0, 0, heads, hd)), p + "_v4");
      q = b.node("Transpose", List.of(q), p + "_qt", Attribute.ints("perm", 0, 2, 1, 3)); // [b, heads, t, hd]
      k = b.node("Transpose", List.of(k), p + "_kt", Attribute.ints("perm", 0, 2, 3, 1)); // [b, heads, hd, t]
      v = b.node("Transpose", List.of(v), p + "_vt", Attribute.ints("perm", 0, 2, 1, 3)); // [b, heads, t, hd]
      String scores = b.node("MatMul", List.of(q, k), p + "_scores"); // [b, heads, t, t]
      scores = b.node("Mul", List.of(scores, b.initializer(Tensor.floats(p + "_scale", new float[] {(float) (1 / Math.sqrt(hd))}))), p + "_scaled");
      if (mask != null) {
        scores = b.node("Add", List.of(scores, mask), p + "_masked");
      }
      String attn = b.node("Softmax", List.of(scores), p + "_attn", Attribute.of("axis", -1L));
      String ctx = b.node("MatMul", List.of(attn, v), p + "_ctx"); // [b, heads, t, hd]
      ctx = b.node("Transpose", List.of(ctx), p + "_ctxt", Attribute.ints("perm", 0, 2, 1, 3));
      ctx = b.node("Reshape", List.of(ctx, shape(p + "_cs", 0, 0, w)), p + "_ctx3");
      x = b.node("Add", List.of(x, linear(p + "_o", ctx, w, w)), p + "_res1");
      h = layerNorm(p + "_ln2", x, w);
      String f = linear(p + "_fc1", h, w, s.mlp());
      String gate = b.node("Sigmoid", List.of(b.node("Mul", List.of(f, b.initializer(Tensor.floats(p + "_1702", new float[] {1.702f}))), p + "_f1702")), p + "_gate");
      f = b.node("Mul", List.of(f, gate), p + "_gelu");
      return b.node("Add", List.of(x, linear(p + "_fc2", f, s.mlp(), w)), p + "_res2");
    }
  }
}
