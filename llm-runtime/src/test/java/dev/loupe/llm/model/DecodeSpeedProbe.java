package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * A first decode-speed figure (not a test): writes a seeded random ~100M-parameter Q8_0 llama
 * (dim 768, 12 layers, 12/4 heads, ff 2048, 32000-token vocabulary, untied output) and prints
 * decode tokens/s on 1 and 2 threads, with the weight bytes each token streams. Run with the
 * module's test classpath and JVM flags, e.g.
 * {@code java --add-modules jdk.incubator.vector -cp llm-runtime/target/classes:llm-runtime/target/test-classes
 * dev.loupe.llm.model.DecodeSpeedProbe [model.gguf]}.
 */
public final class DecodeSpeedProbe {
  private DecodeSpeedProbe() {}

  public static void main(String[] args) throws Exception {
    Path gguf = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("loupe-probe").resolve("random-100m-q8_0.gguf");
    if (!Files.exists(gguf)) {
      RandomModels.write(new RandomModels.Shape(ModelConfig.Architecture.LLAMA, 768, 2048, 12, 12, 4, 0, 32000, GgmlType.Q8_0, false, 1), gguf);
    }
    for (int threads : new int[] {1, 2}) {
      try (Model model = Model.load(gguf, ModelOptions.threads(threads))) {
        Session s = model.newSession(SessionOptions.of(512));
        int[] prompt = RandomModels.randomTokens(new Random(1), 16, model.config().vocabSize());
        long t0 = System.nanoTime();
        s.append(prompt);
        long t1 = System.nanoTime();
        int steps = 64;
        for (int i = 0; i < steps; i++) {
          float[] l = s.logits();
          int best = 0;
          for (int v = 1; v < l.length; v++) if (l[v] > l[best]) best = v;
          if (i == 8) t1 = System.nanoTime(); // the first steps warm the JIT
          s.append(best);
        }
        long t2 = System.nanoTime();
        double decode = (steps - 8) / ((t2 - t1) / 1e9);
        System.out.printf(Locale.ROOT, "%s: %d threads: prefill of 16 tokens %.0f ms (cold), decode %.1f tokens/s, %.1f MB of weights per token%n",
            gguf.getFileName(), threads, (t1 - t0) / 1e6, decode, model.weightBytesPerToken() / 1e6);
      }
    }
  }
}
