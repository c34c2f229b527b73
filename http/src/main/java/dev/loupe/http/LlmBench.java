package dev.loupe.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.tensor.ActivationMode;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.peer.LlamaCppOracle;
import dev.loupe.llm.tensor.WeightMatrix;
import dev.loupe.vectorstore.bench.VectorBench;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code loupe bench llm}: Loupe's engine and llama.cpp on the same GGUF file, the same threads,
 * in the same process: prefill tokens/s (one prompt of {@code --prompt-tokens} seeded random
 * tokens) and greedy decode tokens/s ({@code --decode-tokens} after that prompt, after a warm-up),
 * the ratios, and the decode bandwidth bound: the weight bytes one token streams against the memory
 * read bandwidth measured in the same run ({@link VectorBench#memoryBandwidth}, the probe of
 * {@code bench vectors}).
 *
 * <p>This shared machine's bandwidth drifts by tens of percent within minutes, so the engines run
 * in interleaved rounds (bandwidth, ours, llama.cpp, bandwidth, ours, llama.cpp, ...) and the
 * medians are reported, the per-round ratios' median as the ratio. Both use an F16 KV cache
 * (llama.cpp's default); ours quantizes the matmul inputs to 8 bits as llama.cpp does ({@link
 * ActivationMode#Q8}: the integer Q8_0/Q4_0 kernels, the CLI's default too) unless {@code
 * --activations fp32} keeps them exact or {@code ggml} also rounds attention as llama.cpp does.
 * Resident memory (VmRSS) is read after our engine's warm-up, before llama.cpp maps the file too.
 * {@code --random SIZE} writes a seeded random-weight llama ({@link RandomModels#preset}) into the
 * cache folder once. The last line printed is one JSON object with every figure.
 */
final class LlmBench {
  static final String USAGE = "usage: loupe bench llm [--model FILE | --random 1b|100m|tiny] [--quant q8_0|q4_0|q4_k]"
      + " [--threads T] [--activations q8|fp32|ggml] [--prompt-tokens N] [--decode-tokens N] [--rounds R] [--cache DIR] [--seed S]"
      + " [--gpu [--no-torch] [--python PATH]]";

  record Config(Path model, String random, GgmlType quant, int threads, int promptTokens, int decodeTokens, int rounds, Path cache,
      long seed, ActivationMode activations) {
    Config {
      if ((model == null) == (random == null)) {
        throw new IllegalArgumentException("give either --model FILE or --random SIZE");
      }
      if (model != null && !Files.isRegularFile(model)) throw new IllegalArgumentException("--model " + model + " is not a file");
      if (threads < 1 || threads > 1024) throw new IllegalArgumentException("--threads " + threads + " is outside [1, 1024]");
      if (promptTokens < 1 || promptTokens > 4096) {
        throw new IllegalArgumentException("--prompt-tokens " + promptTokens + " is outside [1, 4096]");
      }
      if (decodeTokens < 1 || decodeTokens > 4096) {
        throw new IllegalArgumentException("--decode-tokens " + decodeTokens + " is outside [1, 4096]");
      }
      if (rounds < 1 || rounds > 100) throw new IllegalArgumentException("--rounds " + rounds + " is outside [1, 100]");
    }
  }

  private LlmBench() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    if (args.contains("--gpu")) { // the CUDA backend against its bandwidth bound (LlmGpuBench)
      List<String> rest = new ArrayList<>(args);
      rest.remove("--gpu");
      return LlmGpuBench.run(rest, dev.loupe.gpu.Gpu.detect(), out, err);
    }
    Config c;
    try {
      c = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench llm: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      out.println(new ObjectMapper().writeValueAsString(new Run(c, out).run()));
      return 0;
    } catch (IOException e) {
      err.println("loupe bench llm: " + e.getMessage());
      return 1;
    }
  }

  static Config parse(List<String> args) {
    Path model = null, cache = Path.of(System.getProperty("java.io.tmpdir"), "loupe-bench");
    String random = null;
    GgmlType quant = null;
    int threads = Runtime.getRuntime().availableProcessors(), prompt = 128, decode = 64, rounds = 3;
    long seed = 1;
    ActivationMode activations = ActivationMode.Q8;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (i + 1 >= args.size()) throw new IllegalArgumentException("flag " + flag + " needs a value");
      String value = args.get(++i);
      switch (flag) {
        case "--model" -> model = Path.of(value);
        case "--random" -> random = value.toLowerCase(Locale.ROOT);
        case "--quant" -> quant = switch (value.toLowerCase(Locale.ROOT)) {
          case "q8_0" -> GgmlType.Q8_0;
          case "q4_0" -> GgmlType.Q4_0;
          case "q4_k" -> GgmlType.Q4_K;
          default -> throw new IllegalArgumentException("--quant '" + value + "' must be q8_0, q4_0 or q4_k");
        };
        case "--threads" -> threads = integer(flag, value);
        case "--prompt-tokens" -> prompt = integer(flag, value);
        case "--decode-tokens" -> decode = integer(flag, value);
        case "--rounds" -> rounds = integer(flag, value);
        case "--cache" -> cache = Path.of(value);
        case "--seed" -> seed = integer(flag, value);
        case "--activations" -> activations = switch (value.toLowerCase(Locale.ROOT)) {
          case "fp32" -> ActivationMode.FP32;
          case "q8" -> ActivationMode.Q8;
          case "ggml" -> ActivationMode.GGML;
          default -> throw new IllegalArgumentException("--activations '" + value + "' must be fp32, q8 or ggml");
        };
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    if (model != null && quant != null) {
      throw new IllegalArgumentException("--quant chooses the tensor type of a --random model; a --model file has its own");
    }
    if (random != null) {
      RandomModels.preset(random, GgmlType.Q8_0, seed); // rejects unknown sizes here, as a usage error
    }
    return new Config(model, random, quant == null ? GgmlType.Q8_0 : quant, threads, prompt, decode, rounds, cache, seed, activations);
  }

  private static int integer(String flag, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " '" + value + "' is not a whole number");
    }
  }

  private static final class Run {
    private final Config c;
    private final PrintStream out;

    Run(Config c, PrintStream out) {
      this.c = c;
      this.out = out;
    }

    Map<String, Object> run() throws Exception {
      Path gguf = c.model() != null ? c.model() : randomModel();
      long fileBytes = Files.size(gguf);
      int context = c.promptTokens() + c.decodeTokens() + 8;
      Map<String, Object> json = new LinkedHashMap<>();
      ExecutorService bandwidthPool = Executors.newFixedThreadPool(c.threads());
      try (Model model = Model.load(gguf, ModelOptions.threads(c.threads()).withActivationMode(c.activations()))) {
        long kvBytes = Session.kvCacheBytes(model.config(), context, KvCacheType.F16);
        long weightBytes = model.weightBytesPerToken();
        int[] prompt = promptTokens(model.config().vocabSize());
        out.printf(Locale.ROOT, "model %s: %s, %.2f GB, %.2f GB of weights per decoded token; %d threads; kernels %s%n",
            gguf, model.config().architecture().ggufName() + " " + model.config().layers() + " layers dim " + model.config().embeddingLength(),
            fileBytes / 1e9, weightBytes / 1e9, c.threads(), WeightMatrix.kernelsName());
        out.printf(Locale.ROOT, "prompt %d tokens, decode %d tokens (greedy), %d interleaved rounds, F16 KV cache of %d positions,"
                + " %s activations%n", c.promptTokens(), c.decodeTokens(), c.rounds(), context, c.activations());

        // Warm-up: the JIT compiles the forward pass before anything is timed.
        oursRound(model, prompt, Math.min(8, c.decodeTokens()), context);
        Map<String, Object> rss = rss();
        out.printf(Locale.ROOT, "resident memory after our warm-up: %.2f GB (anonymous %.2f, file-backed %.2f) against file %.2f GB"
                + " + KV cache %.3f GB = %.2f GB%n", gb(rss, "VmRSS"), gb(rss, "RssAnon"), gb(rss, "RssFile"), fileBytes / 1e9,
            kvBytes / 1e9, (fileBytes + kvBytes) / 1e9);

        List<Double> bandwidth = new ArrayList<>(), ourPrefill = new ArrayList<>(), ourDecode = new ArrayList<>();
        List<Double> cppPrefill = new ArrayList<>(), cppDecode = new ArrayList<>(), prefillRatio = new ArrayList<>();
        List<Double> decodeRatio = new ArrayList<>();
        int agree = -1;
        try (LlamaCppOracle cpp = LlamaCppOracle.load(gguf, c.threads(), true)) {
          cpp.timeDecode(java.util.Arrays.copyOf(prompt, Math.min(16, prompt.length)), Math.min(4, c.decodeTokens())); // warm-up
          // The probe's summing loop needs the JIT too: unwarmed, the first rounds read a third of the bandwidth.
          VectorBench.memoryBandwidth(bandwidthPool, c.threads(), 4);
          for (int round = 0; round < c.rounds(); round++) {
            double bw = VectorBench.memoryBandwidth(bandwidthPool, c.threads(), 3);
            Round ours = oursRound(model, prompt, c.decodeTokens(), context);
            LlamaCppOracle.Timed cp = cpp.timePrefill(prompt);
            LlamaCppOracle.Timed cd = cpp.timeDecode(prompt, c.decodeTokens());
            agree = commonPrefix(ours.tokens, cd.tokens());
            bandwidth.add(bw / 1e9);
            ourPrefill.add(ours.prefill);
            ourDecode.add(ours.decode);
            cppPrefill.add(cp.tokensPerSecond());
            cppDecode.add(cd.tokensPerSecond());
            prefillRatio.add(ours.prefill / cp.tokensPerSecond());
            decodeRatio.add(ours.decode / cd.tokensPerSecond());
            out.printf(Locale.ROOT, "round %d: bandwidth %.1f GB/s; prefill ours %.1f, llama.cpp %.1f tokens/s (%.2fx);"
                    + " decode ours %.2f, llama.cpp %.2f tokens/s (%.2fx)%n", round + 1, bw / 1e9, ours.prefill, cp.tokensPerSecond(),
                ours.prefill / cp.tokensPerSecond(), ours.decode, cd.tokensPerSecond(), ours.decode / cd.tokensPerSecond());
          }
        }
        double bw = median(bandwidth), bound = bw * 1e9 / weightBytes;
        out.printf(Locale.ROOT, "median prefill: ours %.1f tokens/s, llama.cpp %.1f tokens/s, ratio %.2f (range %.2f-%.2f)%n",
            median(ourPrefill), median(cppPrefill), median(prefillRatio), min(prefillRatio), max(prefillRatio));
        out.printf(Locale.ROOT, "median decode: ours %.2f tokens/s, llama.cpp %.2f tokens/s, ratio %.2f (range %.2f-%.2f)%n",
            median(ourDecode), median(cppDecode), median(decodeRatio), min(decodeRatio), max(decodeRatio));
        out.printf(Locale.ROOT, "decode bound: %.2f GB per token at %.1f GB/s (median of %s) = %.1f tokens/s;"
                + " ours reaches %.0f%% of it, llama.cpp %.0f%%%n", weightBytes / 1e9, bw, oneDecimal(bandwidth), bound,
            100 * median(ourDecode) / bound, 100 * median(cppDecode) / bound);
        out.printf(Locale.ROOT, "greedy tokens: the first %d of %d agree between the engines (ours uses %s activations,"
            + " llama.cpp Q8 ones)%n", agree, c.decodeTokens(), c.activations());

        json.put("model", gguf.toString());
        json.put("file_gb", round(fileBytes / 1e9));
        json.put("weight_gb_per_token", round(weightBytes / 1e9));
        json.put("threads", c.threads());
        json.put("activations", c.activations().toString());
        json.put("prompt_tokens", c.promptTokens());
        json.put("decode_tokens", c.decodeTokens());
        json.put("rounds", c.rounds());
        json.put("bandwidth_gbps", rounded(bandwidth));
        json.put("prefill_ours_tps", rounded(ourPrefill));
        json.put("prefill_llamacpp_tps", rounded(cppPrefill));
        json.put("prefill_ratio_median", round(median(prefillRatio)));
        json.put("decode_ours_tps", rounded(ourDecode));
        json.put("decode_llamacpp_tps", rounded(cppDecode));
        json.put("decode_ratio_median", round(median(decodeRatio)));
        json.put("decode_bound_tps", round(bound));
        json.put("greedy_agreement", agree);
        json.put("rss_gb", round(gb(rss, "VmRSS")));
        json.put("file_plus_kv_gb", round((fileBytes + kvBytes) / 1e9));
      } finally {
        bandwidthPool.shutdownNow();
      }
      return json;
    }

    private Path randomModel() throws IOException {
      RandomModels.Shape shape = RandomModels.preset(c.random(), c.quant(), c.seed());
      Path file = c.cache().resolve(shape.fileName(c.random()));
      if (!Files.isRegularFile(file)) {
        Files.createDirectories(c.cache());
        out.printf(Locale.ROOT, "writing %s (%s, %.2f B parameters) once ...%n", file, shape, shape.parameters() / 1e9);
        long t0 = System.nanoTime();
        RandomModels.write(shape, file);
        out.printf(Locale.ROOT, "written in %.0f s%n", (System.nanoTime() - t0) / 1e9);
      }
      return file;
    }

    private int[] promptTokens(int vocab) {
      Random r = new Random(c.seed());
      int[] t = new int[c.promptTokens()];
      t[0] = 1; // BOS of the generated vocabularies; any id is valid for timing
      for (int i = 1; i < t.length; i++) t[i] = 3 + r.nextInt(vocab - 3);
      return t;
    }
  }

  /** One timed round of our engine: prefill and greedy decode rates, and the decoded tokens. */
  private record Round(double prefill, double decode, int[] tokens) {}

  private static Round oursRound(Model model, int[] prompt, int decode, int context) {
    Session s = model.newSession(SessionOptions.of(context).withKvCacheType(KvCacheType.F16));
    long t0 = System.nanoTime();
    s.append(prompt);
    float[] logits = s.logits();
    long t1 = System.nanoTime();
    int[] tokens = new int[decode];
    for (int i = 0; i < decode; i++) {
      tokens[i] = LlamaCppOracle.argmax(logits);
      s.append(tokens[i]);
      logits = s.logits();
    }
    long t2 = System.nanoTime();
    return new Round(prompt.length / ((t1 - t0) / 1e9), decode / ((t2 - t1) / 1e9), tokens);
  }

  private static int commonPrefix(int[] a, int[] b) {
    int n = 0;
    while (n < Math.min(a.length, b.length) && a[n] == b[n]) n++;
    return n;
  }

  /** VmRSS, RssAnon and RssFile of this process in bytes (empty off Linux). */
  private static Map<String, Object> rss() {
    Map<String, Object> m = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        String[] parts = line.split("\\s+");
        if (parts.length >= 2 && (line.startsWith("VmRSS:") || line.startsWith("RssAnon:") || line.startsWith("RssFile:"))) {
          m.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]) * 1024);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: no figures.
    }
    return m;
  }

  private static double gb(Map<String, Object> rss, String key) {
    return rss.get(key) instanceof Long l ? l / 1e9 : Double.NaN;
  }

  private static double median(List<Double> v) {
    List<Double> s = v.stream().sorted().toList();
    return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }

  private static double min(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }

  private static double max(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static List<Double> rounded(List<Double> v) {
    return v.stream().map(LlmBench::round).toList();
  }

  private static String oneDecimal(List<Double> values) {
    return values.stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).collect(java.util.stream.Collectors.joining(", ", "[", "]"));
  }
}
