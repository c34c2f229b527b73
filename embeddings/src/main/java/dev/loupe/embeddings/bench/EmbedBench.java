package dev.loupe.embeddings.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.embeddings.text.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * {@code loupe bench embed}: images/s, texts/s and single-item latency of an embedder, with the
 * model's FLOPs per input and the machine's measured FLOP rate in the same run, so the figures
 * come as a fraction of what the cores can do.
 *
 * <p>The FLOP rate is ONNX Runtime's own fp32 matrix multiply (its MLAS kernels) on square
 * matrices of 1024 and 2048 with the same thread count, the best run kept: about the best any
 * graph of matrix products can reach here. Without {@code --model}, the embedder is a generated random-weight model with the
 * exact shapes of CLIP ViT-B/32 ({@link TransformerModels}), run through the real pipeline
 * (preprocessing, tokenizer, ONNX Runtime session, normalization). The last line printed is one
 * JSON object with every figure.
 */
public final class EmbedBench {
  private static final String USAGE =
      "usage: loupe bench embed [--model NAME] [--batch B] [--threads T] [--images N] [--texts N]"
          + " [--shape vit-b32|tiny] [--tokenizer tokenizer.json] [--dir DIR] [--data DIR]";

  private EmbedBench() {}

  record Config(String model, int batch, int threads, int images, int texts, String shape, Path tokenizer, Path dir, Path data) {
    Config {
      if (batch < 1 || batch > 1024) throw new IllegalArgumentException("--batch " + batch + " is outside [1, 1024]");
      if (threads < 1) throw new IllegalArgumentException("--threads " + threads + " must be at least 1");
      if (images < 1) throw new IllegalArgumentException("--images " + images + " must be at least 1");
      if (texts < 0) throw new IllegalArgumentException("--texts " + texts + " must not be negative");
      if (!shape.equals("vit-b32") && !shape.equals("tiny")) {
        throw new IllegalArgumentException("--shape '" + shape + "' must be vit-b32 or tiny");
      }
      if (model != null && data == null) throw new IllegalArgumentException("--model " + model + " needs --data, where models are installed");
    }
  }

  public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
    Config c;
    try {
      c = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench embed: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      out.println(new ObjectMapper().writeValueAsString(new EmbedBench.Run(c, out).run()));
      return 0;
    } catch (IllegalArgumentException | IOException e) {
      err.println("loupe bench embed: " + e.getMessage());
      return 1;
    }
  }

  static Config parse(String[] args) {
    String model = null, shape = "vit-b32";
    int batch = 16, threads = Runtime.getRuntime().availableProcessors(), images = 64, texts = 64;
    Path tokenizer = null, dir = null, data = null;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        throw new IllegalArgumentException("help");
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("flag " + flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--model" -> model = value;
        case "--batch" -> batch = intValue(flag, value);
        case "--threads" -> threads = intValue(flag, value);
        case "--images" -> images = intValue(flag, value);
        case "--texts" -> texts = intValue(flag, value);
        case "--shape" -> shape = value;
        case "--tokenizer" -> tokenizer = Path.of(value);
        case "--dir" -> dir = Path.of(value);
        case "--data" -> data = Path.of(value);
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    return new Config(model, batch, threads, images, texts, shape, tokenizer, dir, data);
  }

  private static int intValue(String flag, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " '" + value + "' is not a whole number");
    }
  }

  private record Run(Config c, PrintStream out) {

    Map<String, Object> run() throws Exception {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("benchmark", "embed");
      json.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(), "cpu", cpuModel(),
          "jdk", Runtime.version().toString()));
      json.put("threads", c.threads());
      json.put("batch", c.batch());
      out.printf(Locale.ROOT, "machine: %s, %d cores; ONNX Runtime with %d threads%n", cpuModel(), Runtime.getRuntime().availableProcessors(), c.threads());

      Path work = c.dir() != null ? Files.createDirectories(c.dir()) : Files.createTempDirectory("loupe-bench-embed");
      try {
        double peakBefore = matMulFlops(work);
        out.printf(Locale.ROOT, "fp32 matrix multiply (best of 1024^3 and 2048^3, ONNX Runtime): %.1f GFLOP/s%n", peakBefore / 1e9);
        Map<String, Map<String, Object>> results = new LinkedHashMap<>();
        Map<String, Double> flops = new LinkedHashMap<>();

        Path modelDir;
        TransformerModels.Shape vision = null, text = null;
        if (c.model() == null) {
          vision = c.shape().equals("tiny") ? GeneratedClip.TINY_VISION : TransformerModels.VIT_B32_VISION;
          text = c.shape().equals("tiny") ? GeneratedClip.TINY_TEXT : TransformerModels.VIT_B32_TEXT;
          modelDir = GeneratedClip.write(work.resolve("generated-" + c.shape()), c.shape(), vision, text, c.tokenizer(), out);
          json.put("model", "generated " + c.shape() + " (random weights, fp32)");
        } else {
          modelDir = c.data().resolve("models").resolve(c.model());
          json.put("model", c.model());
          if (c.model().equals("clip-vit-b32")) {
            // Same shapes as the published model; its int8 weights do not change the operation count.
            vision = TransformerModels.VIT_B32_VISION;
            text = TransformerModels.VIT_B32_TEXT;
          }
        }
        var options = new OnnxEmbedder.Options(c.batch(), c.threads(), OnnxEmbedder.Device.CPU);
        try (OnnxEmbedder embedder = OnnxEmbedder.open(modelDir, options)) {
          Embedder.Info info = embedder.info();
          json.put("dimension", info.dimension());
          if (info.accepts(dev.loupe.embeddings.Modality.IMAGE)) {
            results.put("images", measure(embedder, images(c.images()), "images"));
            flops.put("images", vision == null ? Double.NaN : TransformerModels.visionFlops(vision));
          }
          if (info.accepts(dev.loupe.embeddings.Modality.TEXT) && c.texts() > 0) {
            results.put("texts", measure(embedder, texts(c.texts()), "texts"));
            // CLIP's text tower reads each text at its own length (batches at their longest text),
            // so the useful work is counted at the texts' mean length, special tokens included.
            double tokens = text == null ? Double.NaN : meanTokens(modelDir.resolve("tokenizer.json"),
                texts(c.texts()), text.tokens());
            if (text != null) {
              out.printf(Locale.ROOT, "texts: %.1f tokens on average, special tokens included%n", tokens);
              results.get("texts").put("mean_tokens", round(tokens));
            }
            flops.put("texts", text == null ? Double.NaN : TransformerModels.textFlops(text, tokens));
          }
        }
        // Measured again at the end and the higher rate kept, so a disturbance during one
        // measurement cannot flatter the fractions.
        double peakAfter = matMulFlops(work);
        double peak = Math.max(peakBefore, peakAfter);
        out.printf(Locale.ROOT, "fp32 matrix multiply again: %.1f GFLOP/s; using %.1f GFLOP/s%n", peakAfter / 1e9, peak / 1e9);
        json.put("matmul_gflops", round(peak / 1e9));
        json.put("matmul_gflops_runs", List.of(round(peakBefore / 1e9), round(peakAfter / 1e9)));
        for (var e : results.entrySet()) {
          Map<String, Object> r = e.getValue();
          double perItem = flops.get(e.getKey());
          if (!Double.isNaN(perItem)) {
            double bound = peak / perItem;
            double batched = (double) r.get("per_s_batched"), single = (double) r.get("per_s_single");
            r.put("gflops_per_item", significant(perItem / 1e9));
            r.put("compute_bound_per_s", round(bound));
            r.put("fraction_of_bound_batched", round(batched / bound));
            r.put("fraction_of_bound_single", round(single / bound));
            out.printf(Locale.ROOT, "%s: %.2f GFLOP each, compute bound %.1f/s: batched %.0f%%, single %.0f%% of it%n",
                e.getKey(), perItem / 1e9, bound, 100 * batched / bound, 100 * single / bound);
          }
          json.put(e.getKey(), r);
        }
      } finally {
        if (c.dir() == null) {
          deleteTree(work);
        }
      }
      return json;
    }

    private Map<String, Object> measure(Embedder embedder, List<Media> inputs, String what) {
      Map<String, Object> r = new LinkedHashMap<>();
      // Warm-up: the first runs allocate ONNX Runtime's arenas and compile nothing else.
      embedder.embedAll(inputs.subList(0, Math.min(inputs.size(), c.batch())));
      embedder.embed(inputs.getFirst());

      int singles = Math.min(inputs.size(), 20);
      long[] nanos = new long[singles];
      for (int i = 0; i < singles; i++) {
        long t0 = System.nanoTime();
        embedder.embed(inputs.get(i));
        nanos[i] = System.nanoTime() - t0;
      }
      Arrays.sort(nanos);
      double p50 = nanos[singles / 2] / 1e6;
      r.put("single_p50_ms", round(p50));

      long t0 = System.nanoTime();
      embedder.embedAll(inputs);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double perSecond = inputs.size() / seconds;
      r.put("count", inputs.size());
      r.put("per_s_batched", round(perSecond));
      r.put("per_s_single", round(1e3 / p50));
      out.printf(Locale.ROOT, "%s: single p50 %.1f ms (%.1f/s), batches of %d: %.2f/s%n", what, p50, 1e3 / p50, c.batch(), perSecond);
      return r;
    }

    /** ONNX Runtime's fp32 matrix multiply rate: the best over square products of 1024 and 2048. */
    private double matMulFlops(Path work) throws IOException, OrtException {
      return Math.max(matMulFlops(work, 1024, 15), matMulFlops(work, 2048, 5));
    }

    private double matMulFlops(Path work, int n, int runs) throws IOException, OrtException {
      Path file = work.resolve("matmul-" + n + ".onnx");
      TransformerModels.writeMatMul(file, n);
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      try (var so = new OrtSession.SessionOptions()) {
        so.setIntraOpNumThreads(c.threads());
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        try (OrtSession session = env.createSession(file.toString(), so)) {
          float[] data = new float[n * n];
          var random = new SplittableRandom(1);
          for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
          }
          long[] shape = {n, n};
          try (OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
               OnnxTensor b = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape)) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < runs; i++) {
              long t0 = System.nanoTime();
              try (OrtSession.Result ignored = session.run(Map.of("a", a, "b", b))) {
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
              }
            }
            return 2.0 * n * n * n / best;
          }
        }
      } finally {
        Files.deleteIfExists(file);
      }
    }
  }

  /** Photo-sized (640x480) seeded images: smooth gradients plus noise, so resizing does real work. */
  static List<Media> images(int count) {
    var random = new SplittableRandom(7);
    List<Media> list = new ArrayList<>(count);
    int w = 640, h = 480;
    for (int n = 0; n < count; n++) {
      byte[] rgb = new byte[w * h * 3];
      int phase = random.nextInt(256);
      for (int y = 0, i = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          rgb[i++] = (byte) ((x + phase) & 0xff);
          rgb[i++] = (byte) ((y * 2 + phase) & 0xff);
          rgb[i++] = (byte) random.nextInt(256);
        }
      }
      list.add(new Media.Image(new RgbImage(w, h, rgb)));
    }
    return list;
  }

  /** Caption-like texts of varied length. */
  /** The mean number of tokens of {@code texts} with the start and end tokens, capped at {@code context}. */
  static double meanTokens(Path tokenizerJson, List<Media> texts, int context) throws IOException {
    try (Tokenizer tokenizer = Tokenizer.load(tokenizerJson, context, Tokenizer.Padding.LONGEST)) {
      long sum = 0;
      for (Media m : texts) {
        sum += Math.min(context, tokenizer.count(((Media.Text) m).text()) + 2);
      }
      return (double) sum / texts.size();
    }
  }

  static List<Media> texts(int count) {
    String[] words = {"a", "photo", "of", "the", "cat", "on", "red", "sofa", "diagram", "showing", "quarterly",
        "revenue", "by", "region", "mountain", "lake", "at", "sunset", "with", "two", "people", "walking"};
    var random = new SplittableRandom(11);
    List<Media> list = new ArrayList<>(count);
    for (int n = 0; n < count; n++) {
      int len = 4 + random.nextInt(16);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < len; i++) {
        sb.append(i == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
      }
      list.add(new Media.Text(sb.toString()));
    }
    return list;
  }


  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  /** {@code v} to four significant digits (a tiny model's text takes a few MFLOP). */
  private static double significant(double v) {
    return v == 0 || !Double.isFinite(v) ? v : new java.math.BigDecimal(v).round(new java.math.MathContext(4)).doubleValue();
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
