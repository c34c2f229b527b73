package dev.loupe.llm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.TestData;
import dev.loupe.llm.convert.Llama2cConverter;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.peer.LlamaCppOracle;
import dev.loupe.llm.tensor.ActivationMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loupe's engine against llama.cpp on the real stories260K model converted to GGUF (F32 and F16):
 * logits at every position of several prompts within 1e-3 (llama.cpp with an F32 KV cache), and
 * identical greedy continuations of 64+ tokens. Runs in its own forked JVM.
 */
class StoriesModelOracleTest {
  static final List<String> PROMPTS = List.of(
      "Once upon a time",
      "Lily and Tom went to the park. They saw a big dog and",
      "The little bird was sad because",
      "One day, a boy named Max found a shiny red ball in the garden. He wanted to show it to his mom, so he ran");

  @TempDir static Path dir;
  static Path f32, f16;

  @BeforeAll
  static void convert() throws IOException {
    f32 = dir.resolve("stories260K.gguf");
    f16 = dir.resolve("stories260K-f16.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), f32, GgmlType.F32);
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), f16, GgmlType.F16);
  }

  @Test
  void f32_logits_match_llama_cpp_at_every_position_of_several_prompts() throws IOException {
    assertLogitsMatch(f32, ActivationMode.FP32, 1e-3);
  }

  /**
   * F16 weights: every matmul rounds its input to F16 as llama.cpp's does, and every op agrees with
   * llama.cpp's to float rounding when fed llama.cpp's own input, but a float-rounding difference
   * upstream (summation order) now and then moves an activation across an F16 rounding boundary, a
   * step of 2^-11 of its value; those flips, at every position, give about 1.2e-2. Loupe's scalar
   * and Panama kernels differ from each other by as much. See {@link RandomModelOracleTest#BOUND}
   * for the bisection; the bound here is the measured one with margin, not the 1e-3.
   */
  @Test
  void f16_logits_stay_within_the_documented_bound_of_llama_cpp_s() throws IOException {
    assertLogitsMatch(f16, ActivationMode.GGML, 2e-2);
  }

  @Test
  void f32_and_f16_greedy_continuations_equal_llama_cpp_s_for_64_tokens() throws IOException {
    for (Path gguf : List.of(f32, f16)) {
      try (LlamaCppOracle oracle = LlamaCppOracle.load(gguf);
          Model model = Model.load(gguf, new ModelOptions(2, gguf == f16 ? ActivationMode.GGML : ActivationMode.FP32))) {
        for (String prompt : PROMPTS) {
          int[] tokens = oracle.tokenize(prompt, true, false);
          assertArrayEquals(tokens, model.tokenizer().encode(prompt, true, false), "tokenization of \"" + prompt + "\"");
          int[] expected = oracle.greedy(tokens, 80);
          int[] actual = OracleModels.greedy(model, tokens, 80);
          assertArrayEquals(expected, actual, gguf.getFileName() + ": greedy continuation of \"" + prompt + "\" = \""
              + oracle.detokenize(expected) + "\"");
        }
      }
    }
  }

  private static void assertLogitsMatch(Path gguf, ActivationMode mode, double bound) throws IOException {
    try (LlamaCppOracle oracle = LlamaCppOracle.load(gguf); Model model = Model.load(gguf, new ModelOptions(2, mode))) {
      assertEquals(oracle.vocabSize(), model.config().vocabSize());
      double worst = 0;
      for (String prompt : PROMPTS) {
        int[] tokens = oracle.tokenize(prompt, true, false);
        double diff = OracleModels.maxLogitDiff(oracle.logits(tokens), model, tokens);
        worst = Math.max(worst, diff);
      }
      System.out.printf("stories260K %s (%s activations): max |Loupe - llama.cpp| logit difference %.3g%n",
          gguf.getFileName(), mode, worst);
      assertTrue(worst <= bound, "max logit difference " + worst + " exceeds " + bound);
    }
  }
}
