package dev.loupe.llm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.oracle.GgmlInternals;
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
   * F32 KV cache (and, as the graph shows, no flash attention): about twice the worst measured over
   * these shapes. Logits spread over about ±16 (untied) to ±150 (tied).
   *
   * <p>Why they are what they are, found by bisection with llama.cpp's own functions: Loupe's
   * dequantization and its quantization of activations are bit-identical to ggml's ({@code
   * dev.loupe.llm.tensor.GgmlKernelsOracleTest}), and every matmul recomputed from llama.cpp's own
   * input agrees to 7e-7 of its output (the test above); RoPE and attention from llama.cpp's q, k, v
   * agree to 5e-6. What remains is propagation: the activations are rounded again before every
   * matmul (to F16 for F16 weights, to Q8_0 or Q8_K levels for the quantized types), so a
   * float-rounding difference upstream (a different summation order: ggml's SIMD lanes, llamafile's
   * tiles, its vectorised expf in SiLU) now and then moves an activation across a rounding boundary,
   * a step of one F16 ulp (2^-11 of the value) or of one Q8 level (1/127 of the block's largest
   * element). F16 steps are fine, so such flips happen at every position: 4e-3 to 3e-2 everywhere.
   * Q8 steps are coarse and flips rare: most positions agree to 1e-5 and a few jump by 0.03 to 0.8
   * (one or two flips, amplified by these random models' sharp attention). Loupe's own scalar and
   * Panama kernels, which differ only in summation order, disagree with each other by the same
   * amounts (F16 9e-3 and 3e-2, Q4_0 0.16, Q4_K 0.77, Q5_K 0.30 and 0.69, Q6_K 0.15) at other
   * positions, and llama.cpp disagrees with itself by 7e-3 on the qwen2 F16 model when the same
   * tokens are split into other batches. Q8_0 and the tied Q4_0 models happen to flip nowhere on
   * these seeds; which types flip is a matter of seed, not of type. The suspects this rules out:
   * the repacked Q4_0 kernels (llama.cpp's logits are bit-identical across batch sizes, i.e. gemm
   * and gemv paths, for every quantized type), Q8_K's sign and bsums (bit-identical), and F16
   * attention (the cache is F32 and every op was checked). The 1e-3 for F16 would need
   * ggml's exact summation order in every op, not only its rounding points.
   */
  static final Map<GgmlType, Double> BOUND = Map.of(
      GgmlType.F32, 8e-5,
      GgmlType.F16, 6e-2,
      GgmlType.Q8_0, 2e-5,
      GgmlType.Q4_0, 0.35,
      GgmlType.Q4_K, 1.6,
      GgmlType.Q5_K, 1.4,
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

  /**
   * The per-operation view of the same comparison: every weight matmul of llama.cpp's forward pass
   * (its graph observed through {@code cb_eval}), recomputed by Loupe's kernels in GGML mode from
   * llama.cpp's own input, agrees to float rounding (measured at most 7e-7 of the output's largest
   * magnitude, every type; bound 2e-6); what separates the logits below is only how those roundings
   * propagate.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void every_matmul_of_llama_cpp_s_forward_pass_is_reproduced_from_the_same_input(RandomModels.Shape shape) throws IOException {
    assumeTrue(shape.arch() != ModelConfig.Architecture.QWEN3,
        "skipped: the llama.cpp bundled with de.kherud:llama 4.2.0 does not know the qwen3 architecture");
    Path gguf = dir.resolve("matmuls-" + shape.arch().ggufName() + "-" + shape.type() + "-" + shape.seed() + ".gguf");
    RandomModels.write(shape, gguf);
    int[] tokens = RandomModels.randomTokens(new Random(shape.seed()), 40, shape.vocab());
    try (LlamaCppOracle oracle = LlamaCppOracle.load(gguf); Model model = Model.load(gguf, new ModelOptions(1, ActivationMode.GGML))) {
      GgmlInternals.Capture capture = GgmlInternals.get().capture();
      oracle.logits(tokens, capture.callback());
      int[] count = new int[1];
      OracleModels.Worst worst = OracleModels.matmulsAgainst(capture, model, count);
      System.out.printf("%s: %d matmuls recomputed from llama.cpp's inputs, worst relative difference %.3g at %s%n",
          shape, count[0], worst.relative(), worst.node());
      assertTrue(count[0] == 7 * shape.layers() + 1, shape + ": expected every weight matmul, found " + count[0]);
      assertTrue(worst.relative() <= 2e-6, shape + ": " + worst);
    }
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
