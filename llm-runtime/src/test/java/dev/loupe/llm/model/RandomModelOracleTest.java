package dev.loupe.llm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.peer.LlamaCppOracle;
import dev.loupe.llm.tensor.ActivationMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Loupe's engine against llama.cpp on seeded random-weight models written with {@link RandomModels}:
 * llama, qwen2 (biases, NEOX RoPE) and qwen3 (q/k norms), tied and untied, every tensor type.
 * Logits at every position of a random sequence must stay within a per-type bound (activations
 * rounded as ggml does), and greedy continuations of 64 tokens from several prompts must be equal
 * (for the types with a loose bound: equal up to a divergence at a near tie of llama.cpp's own
 * logits, after at least 16 tokens). qwen3 is skipped: the bundled llama.cpp predates it.
 * Runs in its own forked JVM.
 */
class RandomModelOracleTest {
  /**
   * The documented max |logit difference| per weight type, GGML activation mode, llama.cpp with an
   * F32 KV cache: about twice the worst measured. Logits of these models spread over about ±10.
   * F32 and Q8_0 match to about 4e-5; Q4_0 too when the output matrix is the (unrepacked) token
   * embedding, but 0.16 with an untied Q4_0 output; F16 differs by 1e-2 to 3e-2 (as stories260K
   * does, from position 1 on) and the K-quants by 0.03 to 0.8. Those gaps are not explained yet
   * (llama.cpp's repacked CPU kernels and its F16 attention path are the suspects), so these bounds
   * are measurements, not the target.
   */
  static final Map<GgmlType, Double> BOUND = Map.of(
      GgmlType.F32, 1e-4,
      GgmlType.F16, 6e-2,
      GgmlType.Q8_0, 1e-4,
      GgmlType.Q4_0, 0.35,
      GgmlType.Q4_K, 1.6,
      GgmlType.Q5_K, 1.6,
      GgmlType.Q6_K, 1.6);

  @TempDir static Path dir;

  static Stream<RandomModels.Shape> shapes() {
    List<RandomModels.Shape> list = new ArrayList<>();
    long seed = 42;
    for (ModelConfig.Architecture arch : ModelConfig.Architecture.values()) {
      for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
        list.add(RandomModels.small(arch, type, (seed & 1) == 0, seed++));
      }
    }
    return list.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void logits_and_greedy_continuations_match_llama_cpp(RandomModels.Shape shape) throws IOException {
    assumeTrue(shape.arch() != ModelConfig.Architecture.QWEN3,
        "skipped: the llama.cpp bundled with de.kherud:llama 4.2.0 does not know the qwen3 architecture");
    Path gguf = dir.resolve(shape.arch().ggufName() + "-" + shape.type() + "-" + shape.seed() + ".gguf");
    RandomModels.write(shape, gguf);
    Random r = new Random(shape.seed());
    try (LlamaCppOracle oracle = LlamaCppOracle.load(gguf); Model model = Model.load(gguf, new ModelOptions(2, ActivationMode.GGML))) {
      int[] tokens = RandomModels.randomTokens(r, 40, shape.vocab());
      double diff = OracleModels.maxLogitDiff(oracle.logits(tokens), model, tokens);
      System.out.printf("%s: max |Loupe - llama.cpp| logit difference %.3g%n", shape, diff);
      assertTrue(diff <= BOUND.get(shape.type()), shape + ": max logit difference " + diff + " exceeds " + BOUND.get(shape.type()));
      for (int p = 0; p < 3; p++) {
        int[] prompt = RandomModels.randomTokens(r, 3 + 5 * p, shape.vocab());
        int[] expected = oracle.greedy(prompt, 64);
        int[] actual = OracleModels.greedy(model, prompt, 64);
        int split = Arrays.mismatch(expected, actual);
        if (split >= 0 && BOUND.get(shape.type()) > 1e-3) {
          // Loose types: a divergence is accepted only at a near tie in llama.cpp's own logits.
          int[] context = Arrays.copyOf(prompt, prompt.length + split);
          System.arraycopy(expected, 0, context, prompt.length, split);
          float[] cpp = oracle.logits(context)[context.length - 1];
          double margin = cpp[expected[split]] - cpp[actual[split]];
          System.out.printf("%s: greedy continuation %d equal for %d tokens, then a near tie (llama.cpp margin %.3g)%n",
              shape, p, split, margin);
          assertTrue(margin <= 2 * BOUND.get(shape.type()), shape + ": greedy diverges at " + split + " with margin " + margin);
          assertTrue(split >= 16, shape + ": greedy continuation " + p + " diverges after only " + split + " tokens");
        } else {
          assertArrayEquals(expected, actual, shape + ": greedy continuation " + p);
        }
      }
    }
  }
}
