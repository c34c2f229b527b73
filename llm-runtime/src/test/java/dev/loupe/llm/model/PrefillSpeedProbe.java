package dev.loupe.llm.model;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Prefill and decode speed on one thread (not a test), in tokens per CPU-second of the calling
 * thread (robust on a shared, loaded machine where wall time is not): the same seeded prompt is
 * prefilled in a fresh session several times, then tokens are decoded one by one; medians are
 * printed. Run with the module's test classpath on a GGUF file, e.g. one {@code loupe bench llm
 * --random 100m} wrote: {@code java --add-modules jdk.incubator.vector -cp
 * llm-runtime/target/classes:llm-runtime/target/test-classes dev.loupe.llm.model.PrefillSpeedProbe
 * model.gguf [promptTokens] [batchSize]}.
 */
public final class PrefillSpeedProbe {
  private PrefillSpeedProbe() {}

  public static void main(String[] args) throws Exception {
    Path gguf = Path.of(args[0]);
    int promptTokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : SessionOptions.DEFAULT_BATCH;
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    try (Model model = Model.load(gguf, ModelOptions.threads(1))) {
      int[] prompt = RandomModels.randomTokens(new Random(1), promptTokens, model.config().vocabSize());
      SessionOptions options = SessionOptions.of(promptTokens + 64).withBatchSize(batch);
      double[] prefill = new double[7];
      for (int i = 0; i < prefill.length; i++) {
        Session s = model.newSession(options);
        long c0 = mx.getCurrentThreadCpuTime();
        s.append(prompt);
        prefill[i] = promptTokens / ((mx.getCurrentThreadCpuTime() - c0) / 1e9);
      }
      Session s = model.newSession(options);
      s.append(prompt);
      double[] decode = new double[32];
      for (int i = 0; i < decode.length; i++) {
        long c0 = mx.getCurrentThreadCpuTime();
        s.append(i % model.config().vocabSize());
        decode[i] = 1 / ((mx.getCurrentThreadCpuTime() - c0) / 1e9);
      }
      Arrays.sort(prefill);
      Arrays.sort(decode);
      System.out.printf(Locale.ROOT, "%s, 1 thread, batch %d: prefill %.1f tokens/CPU-s (median of %d runs of %d), decode %.1f tokens/CPU-s%n",
          gguf.getFileName(), batch, prefill[prefill.length / 2], prefill.length, promptTokens, decode[decode.length / 2]);
    }
  }
}
