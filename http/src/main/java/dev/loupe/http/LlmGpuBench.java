package dev.loupe.http;

import dev.loupe.gpu.DeviceBuffer;
import dev.loupe.gpu.Gpu;
import dev.loupe.gpu.GpuContext;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.cuda.CudaModel;
import dev.loupe.llm.cuda.CudaSession;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code loupe bench llm --gpu}: the CUDA backend's greedy decode tokens/s on one GGUF model (or a
 * {@code --random} one, written once as {@code bench llm} does) against the bandwidth bound: the
 * weight bytes one token streams over the device-to-device copy bandwidth measured in the same run
 * (read plus write bytes over time, best of 5). Each of {@code --rounds} rounds opens a session,
 * prefills the prompt (batched, {@value CudaSession#PREFILL_BATCH} tokens a pass), then decodes with
 * the captured graph and, for comparison, with direct launches. The greedy tokens are compared with
 * the CPU backend's (same prompt, F16 KV cache). The PyTorch peer ({@code llm_bench_torch.py}
 * under {@code python3}, or {@code --python PATH}; {@code --no-torch} skips it) decodes a random-init
 * {@code transformers} Llama of the same shapes in bf16 in the same run, and is skipped with the
 * reason when torch, transformers or CUDA is missing. The last line printed is one flat JSON object with every
 * figure (no JSON library: it also runs from the self-contained GPU bundle).
 *
 * <p>Stateless; one run at a time per process.
 */
final class LlmGpuBench {
  private LlmGpuBench() {}

  /** Entry of the self-contained GPU bundle ({@code scripts/gpu-bundle.sh}): {@code loupe bench llm --gpu ARGS}. */
  public static void main(String[] args) throws Exception {
    System.exit(run(List.of(args), Gpu.detect(), System.out, System.err));
  }

  /** Runs with {@code args} (those of {@code bench llm}, {@code --gpu} removed) on {@code detection}'s device. */
  static int run(List<String> args, Gpu.Detection detection, PrintStream out, PrintStream err) throws Exception {
    LlmBench.Config c;
    List<String> rest = new ArrayList<>(args);
    boolean torch = !rest.remove("--no-torch");
    String python = "python3";
    int at = rest.indexOf("--python");
    if (at >= 0 && at + 1 < rest.size()) {
      python = rest.remove(at + 1);
      rest.remove(at);
    }
    try {
      c = LlmBench.parse(rest);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench llm --gpu: " + e.getMessage());
      err.println(LlmBench.USAGE);
      return 2;
    }
    if (!(detection instanceof Gpu.Available gpu)) {
      err.println("loupe bench llm --gpu: no GPU to benchmark (" + detection.describe() + ")");
      return 1;
    }
    try {
      out.println(GpuBench.json(measure(c, gpu, torch ? python : null, out)));
      return 0;
    } catch (IOException | UnsupportedOperationException e) {
      err.println("loupe bench llm --gpu: " + e.getMessage());
      return 1;
    }
  }

  private static Map<String, Object> measure(LlmBench.Config c, Gpu.Available gpu, String python, PrintStream out)
      throws IOException {
    Path gguf = c.model() != null ? c.model() : randomModel(c, out);
    int context = c.promptTokens() + c.decodeTokens() + 8;
    SessionOptions options = SessionOptions.of(context).withKvCacheType(KvCacheType.F16);
    Map<String, Object> json = new LinkedHashMap<>();
    try (Model model = Model.load(gguf, ModelOptions.threads(c.threads())); CudaModel cm = CudaModel.open(model, gpu)) {
      int[] prompt = promptTokens(c, model.config().vocabSize());
      long weightBytes = cm.weightBytesPerToken();
      double bandwidth = copyBandwidth(cm.context(), Math.max(1L << 20, Math.min(weightBytes, 1L << 30)));
      double bound = bandwidth / weightBytes;
      out.printf(Locale.ROOT, "model %s on %s: %.3f GB of weights per decoded token; device copy bandwidth %.1f GB/s;"
          + " decode bound %.1f tokens/s%n", gguf, gpu.device().describe(), weightBytes / 1e9, bandwidth / 1e9, bound);
      oursRound(cm, options, prompt, Math.min(4, c.decodeTokens()), true); // warm-up (JIT, module load)
      List<Double> prefill = new ArrayList<>(), graph = new ArrayList<>(), direct = new ArrayList<>();
      for (int round = 0; round < c.rounds(); round++) {
        double[] g = oursRound(cm, options, prompt, c.decodeTokens(), true);
        double[] d = oursRound(cm, options, prompt, c.decodeTokens(), false);
        prefill.add(g[0]);
        graph.add(g[1]);
        direct.add(d[1]);
        out.printf(Locale.ROOT, "round %d: prefill %.1f tokens/s (batched); decode %.1f tokens/s with the graph,"
            + " %.1f with direct launches (%.0f%% of the bound)%n", round + 1, g[0], g[1], d[1], 100 * g[1] / bound);
      }
      int[] tokens = greedy(cm.newSession(options), prompt, c.decodeTokens());
      Session cpu = model.newSession(options);
      int[] cpuTokens = greedy(cpu, prompt, c.decodeTokens());
      int agree = 0;
      while (agree < tokens.length && tokens[agree] == cpuTokens[agree]) agree++;
      double g = median(graph);
      out.printf(Locale.ROOT, "median decode %.1f tokens/s = %.0f%% of the bound %.1f; greedy tokens: the first %d of %d agree with"
          + " the CPU backend%n", g, 100 * g / bound, bound, agree, tokens.length);
      json.put("model", gguf.toString());
      json.put("device", gpu.device().name());
      json.put("weight_gb_per_token", weightBytes / 1e9);
      json.put("copy_bandwidth_gbs", bandwidth / 1e9);
      json.put("decode_bound_tps", bound);
      json.put("rounds", c.rounds());
      json.put("prefill_tps_median", median(prefill));
      json.put("decode_graph_tps_median", g);
      json.put("decode_direct_tps_median", median(direct));
      json.put("decode_bound_fraction", g / bound);
      json.put("greedy_agreement", agree);
      json.put("decode_tokens", tokens.length);
      torchPeer(python, model.config(), c, median(prefill), g, json, out);
    }
    return json;
  }

  /** Runs llm_bench_torch.py with the model's shapes; records its rates, or why it was skipped. */
  private static void torchPeer(String python, dev.loupe.llm.model.ModelConfig m, LlmBench.Config c, double oursPrefill, double ours,
      Map<String, Object> json, PrintStream out) throws IOException {
    if (python == null) {
      json.put("torch", "skipped: --no-torch");
      return;
    }
    Path script = Files.createTempFile("loupe-llm-bench", ".py");
    try {
      try (java.io.InputStream in = LlmGpuBench.class.getResourceAsStream("llm_bench_torch.py")) {
        Files.write(script, in.readAllBytes());
      }
      List<String> cmd = List.of(python, script.toString(), "--dim", "" + m.embeddingLength(), "--ff", "" + m.feedForwardLength(),
          "--layers", "" + m.layers(), "--heads", "" + m.headCount(), "--kv-heads", "" + m.headCountKv(), "--head-dim",
          "" + m.keyLength(), "--vocab", "" + m.vocabSize(), "--prompt-tokens", "" + c.promptTokens(), "--decode-tokens",
          "" + c.decodeTokens(), "--rounds", "" + c.rounds(), "--rope-theta", "" + m.ropeTheta(), "--rms-eps", "" + m.rmsEpsilon());
      Process p;
      try {
        p = new ProcessBuilder(cmd).start();
      } catch (IOException e) {
        json.put("torch", "skipped: cannot run " + python + " (" + e.getMessage() + ")");
        out.println("PyTorch peer skipped: cannot run " + python);
        return;
      }
      String stdout = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      String stderr = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      int rc;
      try {
        rc = p.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroy();
        throw new IOException("interrupted while the PyTorch peer ran", e);
      }
      if (rc != 0) {
        String why = stderr.isEmpty() ? "exit " + rc : stderr.lines().reduce((a, b) -> b).orElse("");
        json.put("torch", "skipped: " + why);
        out.println("PyTorch peer skipped: " + why + (rc == 3 ? " (pip install torch transformers, with CUDA)" : ""));
        return;
      }
      String line = stdout.strip().lines().reduce((a, b) -> b).orElse("");
      double decode = number(line, "decode_tps"), prefill = number(line, "prefill_tps");
      json.put("torch", string(line, "torch") + ", transformers " + string(line, "transformers"));
      json.put("torch_prefill_tps", prefill);
      json.put("torch_decode_tps", decode);
      json.put("prefill_speedup_vs_torch", oursPrefill / prefill);
      json.put("decode_speedup_vs_torch", ours / decode);
      out.printf(Locale.ROOT, "PyTorch %s bf16 (transformers %s): prefill %.1f tokens/s, decode %.1f tokens/s; ours %.2fx and %.2fx%n",
          string(line, "torch"), string(line, "transformers"), prefill, decode, oursPrefill / prefill, ours / decode);
    } finally {
      Files.deleteIfExists(script);
    }
  }

  private static double number(String json, String key) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\":\\s*([-0-9.eE+]+)").matcher(json);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private static String string(String json, String key) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\":\\s*\"([^\"]*)\"").matcher(json);
    return m.find() ? m.group(1) : "?";
  }

  /** {prefill tokens/s, decode tokens/s} of one fresh session. */
  private static double[] oursRound(CudaModel cm, SessionOptions options, int[] prompt, int decode, boolean graph) {
    try (CudaSession s = cm.newSession(options, graph)) {
      long t0 = System.nanoTime();
      s.append(prompt);
      float[] logits = s.logits();
      long t1 = System.nanoTime();
      for (int i = 0; i < decode; i++) {
        s.append(argmax(logits));
        logits = s.logits();
      }
      long t2 = System.nanoTime();
      return new double[] {prompt.length / ((t1 - t0) / 1e9), decode / ((t2 - t1) / 1e9)};
    }
  }

  private static int[] greedy(dev.loupe.llm.generate.LanguageModelState s, int[] prompt, int decode) {
    try {
      s.append(prompt);
      int[] tokens = new int[decode];
      for (int i = 0; i < decode; i++) {
        tokens[i] = argmax(s.logits());
        s.append(new int[] {tokens[i]});
      }
      return tokens;
    } finally {
      if (s instanceof CudaSession cs) cs.close();
    }
  }

  /** Device-to-device copy bandwidth over {@code bytes}, read plus write bytes over time, best of 5. */
  private static double copyBandwidth(GpuContext ctx, long bytes) {
    bytes &= ~255L;
    double best = 0;
    try (DeviceBuffer a = ctx.allocate(bytes); DeviceBuffer b = ctx.allocate(bytes)) {
      a.fill(0, bytes, (byte) 1);
      b.copyFrom(a, 0, 0, bytes);
      ctx.synchronize();
      for (int r = 0; r < 5; r++) {
        long t = System.nanoTime();
        b.copyFrom(a, 0, 0, bytes);
        ctx.synchronize();
        best = Math.max(best, 2.0 * bytes / ((System.nanoTime() - t) / 1e9));
      }
    }
    return best;
  }

  private static Path randomModel(LlmBench.Config c, PrintStream out) throws IOException {
    RandomModels.Shape shape = RandomModels.preset(c.random(), c.quant(), c.seed());
    Path file = c.cache().resolve(shape.fileName(c.random()));
    if (!Files.isRegularFile(file)) {
      Files.createDirectories(c.cache());
      out.printf(Locale.ROOT, "writing %s (%s, %.2f B parameters) once ...%n", file, shape, shape.parameters() / 1e9);
      RandomModels.write(shape, file);
    }
    return file;
  }

  private static int[] promptTokens(LlmBench.Config c, int vocab) {
    Random r = new Random(c.seed());
    int[] t = new int[c.promptTokens()];
    t[0] = 1;
    for (int i = 1; i < t.length; i++) t[i] = 3 + r.nextInt(vocab - 3);
    return t;
  }

  private static int argmax(float[] a) {
    int best = 0;
    for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    return best;
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
