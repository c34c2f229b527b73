package dev.loupe.llm.oracle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.TestData;
import dev.loupe.llm.convert.Llama2cConverter;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.peer.LlamaCppOracle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stories260K llama2.c model, converted to GGUF by {@link Llama2cConverter}, run by llama.cpp:
 * proves the oracle harness and the converter together (llama.cpp's logits equal llama2.c's own
 * forward pass, and its greedy story reads as English). Runs in its own forked JVM.
 */
class StoriesOracleTest {
  @TempDir static Path dir;
  static Path gguf;
  static LlamaCppOracle oracle;

  @BeforeAll
  static void convert() throws IOException {
    gguf = dir.resolve("stories260K.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), gguf);
    oracle = LlamaCppOracle.load(gguf);
  }

  @AfterAll
  static void close() {
    if (oracle != null) oracle.close();
  }

  @Test
  void llama_cpp_loads_the_converted_model_and_tokenizes_with_its_sentencepiece_vocabulary() {
    assertEquals(512, oracle.vocabSize());
    assertEquals(1, oracle.bos());
    assertTrue(oracle.isEog(2), "</s> ends generation");
    int[] tokens = oracle.tokenize("Once upon a time", true, false);
    System.out.println("llama.cpp tokens of \"Once upon a time\": " + Arrays.toString(tokens));
    assertEquals(1, tokens[0], "BOS first");
    assertEquals("Once upon a time", oracle.detokenize(tokens).strip());
    // Byte fallback: a character outside the 512-piece vocabulary becomes its UTF-8 bytes (<0xXX> = 3 + byte).
    int[] emoji = oracle.tokenize("🦙", false, false);
    System.out.println("llama.cpp tokens of \"🦙\": " + Arrays.toString(emoji));
    assertTrue(Arrays.stream(emoji).anyMatch(t -> t == 3 + 0xF0), Arrays.toString(emoji));
    assertEquals("🦙", oracle.detokenize(emoji).strip());
  }

  @Test
  void llama_cpp_logits_on_the_converted_model_equal_llama2c_s_own_forward_pass() throws IOException {
    int[] tokens = oracle.tokenize("Once upon a time, there was a little girl named Lily.", true, false);
    float[][] cpp = oracle.logits(tokens);
    Llama2cReference reference = new Llama2cReference(TestData.stories260K());
    double maxDiff = 0;
    for (int pos = 0; pos < tokens.length; pos++) {
      float[] ref = reference.forward(tokens[pos], pos);
      for (int v = 0; v < ref.length; v++) {
        maxDiff = Math.max(maxDiff, Math.abs(ref[v] - cpp[pos][v]));
      }
      assertEquals(LlamaCppOracle.argmax(ref), LlamaCppOracle.argmax(cpp[pos]), "argmax at position " + pos);
    }
    System.out.printf("max |llama.cpp - llama2.c| logit difference over %d positions: %.3g%n", tokens.length, maxDiff);
    assertTrue(maxDiff <= 1e-4, "max logit difference " + maxDiff);
  }

  @Test
  void llama_cpp_continues_once_upon_a_time_greedily_into_an_english_story() {
    int[] prompt = oracle.tokenize("Once upon a time", true, false);
    int[] continuation = oracle.greedy(prompt, 64);
    String story = oracle.detokenize(continuation);
    System.out.println("llama.cpp greedy continuation of \"Once upon a time\": " + Arrays.toString(continuation));
    System.out.println("  = \"Once upon a time" + story + "\"");
    assertEquals(64, continuation.length);
    Set<String> common = Set.of("the", "a", "was", "she", "he", "to", "and", "little", "day", "they", "her", "his", "with", "there");
    long hits = Arrays.stream(story.toLowerCase().split("[^a-z]+")).filter(common::contains).count();
    assertTrue(hits >= 5, "a plausible story has common English words: \"" + story + "\"");
    // The last position of the batched logits agrees with the greedy first step.
    float[][] all = oracle.logits(prompt);
    assertEquals(continuation[0], LlamaCppOracle.argmax(all[all.length - 1]));
    // Batched prefill and token-by-token decoding agree inside llama.cpp too.
    int[] longer = Arrays.copyOf(prompt, prompt.length + 8);
    System.arraycopy(continuation, 0, longer, prompt.length, 8);
    assertArrayEquals(Arrays.copyOfRange(continuation, 8, 24), oracle.greedy(longer, 16));
  }

  @Test
  void an_f16_conversion_gives_the_same_greedy_story() throws IOException {
    Path f16 = dir.resolve("stories260K-f16.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), f16, GgmlType.F16);
    int[] prompt = oracle.tokenize("Once upon a time", true, false);
    try (LlamaCppOracle half = LlamaCppOracle.load(f16)) {
      int[] a = oracle.greedy(prompt, 32);
      int[] b = half.greedy(prompt, 32);
      System.out.println("F16 continuation: \"" + half.detokenize(b) + "\"");
      assertArrayEquals(a, b);
    }
  }
}
