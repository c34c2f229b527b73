package dev.loupe.llm.model;

import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.generate.SpeculativeState;
import dev.loupe.llm.gguf.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Speculative decoding speed (not a test): a seeded random ~100M-parameter llama (dim 768, 12 layers, 12/4 heads,
 * ff 2048, 32000-token vocabulary) as the target in {@code args[1]} (default Q8_0) and the same weights in Q4_0 as the
 * draft, written into {@code args[0]} unless there; or, with {@code --files TARGET DRAFT}, any pair. Prints greedy
 * decode tokens/s alone, with k = 1..maxK (system property, default 6) draft tokens and adaptive, the acceptance rate and the speed-up, and checks that the
 * tokens are the same. Run with the module's test classpath, e.g.
 * {@code java --add-modules jdk.incubator.vector -cp llm-runtime/target/classes:llm-runtime/target/test-classes:...
 * dev.loupe.llm.model.SpeculativeSpeedProbe /tmp/probe q8_0}.
 */
public final class SpeculativeSpeedProbe {
  private SpeculativeSpeedProbe() {}

  public static void main(String[] args) throws Exception {
    Path target, draft;
    if (args.length == 3 && args[0].equals("--files")) {
      target = Path.of(args[1]);
      draft = Path.of(args[2]);
    } else {
      Path dir = Files.createDirectories(Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir")));
      GgmlType type = GgmlType.valueOf(args.length > 1 ? args[1].toUpperCase(Locale.ROOT) : "Q8_0");
      RandomModels.Shape shape = new RandomModels.Shape(ModelConfig.Architecture.LLAMA, 768, 2048, 12, 12, 4, 0, 32000, type,
          false, 1);
      target = dir.resolve("random-100m-" + type.name().toLowerCase(Locale.ROOT) + ".gguf");
      draft = dir.resolve("random-100m-q4_0.gguf");
      if (!Files.exists(target)) RandomModels.write(shape, target);
      if (!Files.exists(draft)) RandomModels.write(shape.with(GgmlType.Q4_0), draft);
    }
    int threads = Integer.getInteger("threads", Runtime.getRuntime().availableProcessors());
    int tokens = Integer.getInteger("tokens", 128);
    try (Model t = Model.load(target, ModelOptions.threads(threads)); Model d = Model.load(draft, ModelOptions.threads(threads))) {
      int[] prompt = RandomModels.randomTokens(new Random(3), 12, t.config().vocabSize());
      if (t.tokenizer().vocabulary().size() < 1000) {
        prompt = t.tokenizer().encode("Once upon a time", true, false);
      }
      GenerationOptions greedy = GenerationOptions.greedy(tokens);
      // JIT warm-up: one plain and one speculative run of the same length.
      run(t.newSession(SessionOptions.of(512)), t, prompt, greedy);
      run(new SpeculativeState(t.newSession(SessionOptions.of(512)), d.newSession(SessionOptions.of(512)),
          SpeculativeState.Options.of(2)), t, prompt, greedy);
      GenerationResult plain = run(t.newSession(SessionOptions.of(512)), t, prompt, greedy);
      double base = plain.decodeTokensPerSecond();
      System.out.printf(Locale.ROOT, "%s alone, %d threads: %.1f tokens/s decode%n", target.getFileName(), threads, base);
      int maxK = Integer.getInteger("maxK", 6);
      for (int k = 1; k <= maxK + 1; k++) {
        SpeculativeState.Options options = k <= maxK ? SpeculativeState.Options.of(k) : new SpeculativeState.Options(4, true);
        SpeculativeState s = new SpeculativeState(t.newSession(SessionOptions.of(512)), d.newSession(SessionOptions.of(512)),
            options);
        GenerationResult r = run(s, t, prompt, greedy);
        if (!Arrays.equals(plain.tokens(), r.tokens())) {
          throw new AssertionError("speculative output differs from plain output at k " + k);
        }
        System.out.printf(Locale.ROOT, "  draft %s %s: %.1f tokens/s (%.2fx), %s%n", draft.getFileName(),
            k <= maxK ? "k=" + k : "adaptive k<=4",
            r.decodeTokensPerSecond(), r.decodeTokensPerSecond() / base, s.stats());
      }
    }
  }

  private static GenerationResult run(LanguageModelState state, Model model, int[] prompt, GenerationOptions options) {
    return new Generator(state, model.tokenizer()).generate(prompt, options);
  }
}
