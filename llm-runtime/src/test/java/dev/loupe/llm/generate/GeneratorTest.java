package dev.loupe.llm.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.generate.GenerationResult.FinishReason;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
  private final Tokenizer tokenizer = TestVocabularies.tiny();
  private final int vocab = tokenizer.vocabulary().size();

  private NGramModel trained(String text, int context) {
    int[] corpus = append(tokenizer.encode(text, true, false), 2);
    return new NGramModel(vocab, context, 5, corpus);
  }

  @Test
  void greedy_generation_follows_the_model_and_stops_at_end_of_generation() {
    NGramModel model = trained("the cat sat on the mat", 64);
    int[] prompt = tokenizer.encode("the cat", true, false);
    GenerationResult result = new Generator(model, tokenizer).generate(prompt, GenerationOptions.greedy(50));
    assertEquals(FinishReason.END_OF_GENERATION, result.finishReason(), result.message());
    assertEquals(" sat on the mat", result.text());
    assertEquals(2, result.tokens()[result.tokens().length - 1]);
    assertEquals(prompt.length, result.prefillTokens());
    assertEquals(result.tokens().length - 1, result.decodeTokens(), "the last token is never appended");
    assertEquals(prompt.length + result.tokens().length - 1, model.position());
  }

  @Test
  void streamed_pieces_never_split_a_utf8_character() {
    NGramModel model = trained("the cat 😀 sat é", 64); // 😀 is four byte tokens in the tiny vocabulary
    List<String> pieces = new ArrayList<>();
    GenerationResult result = new Generator(model, tokenizer).generate(tokenizer.encode("the cat", true, false),
        GenerationOptions.greedy(50), TokenConstraint.NONE, GenerationHook.streaming(pieces::add));
    assertEquals(" 😀 sat é", result.text());
    assertEquals(result.text(), String.join("", pieces));
    assertTrue(pieces.contains("😀"), pieces.toString());
    assertFalse(result.text().contains("\uFFFD"));
  }

  @Test
  void stops_at_the_first_stop_string_and_never_releases_it() {
    int[] prompt = {1, 100, 120};
    String free = new Generator(new NGramModel(vocab, 256, 11, new int[0]), tokenizer)
        .generate(prompt, GenerationOptions.greedy(60)).text();
    assertTrue(free.length() > 20, free);
    String stop = free.substring(12, 15);
    List<String> pieces = new ArrayList<>();
    GenerationResult result = new Generator(new NGramModel(vocab, 256, 11, new int[0]), tokenizer).generate(prompt,
        GenerationOptions.greedy(60).withStopStrings("never-there", stop), TokenConstraint.NONE,
        GenerationHook.streaming(pieces::add));
    assertEquals(FinishReason.STOP_STRING, result.finishReason());
    assertEquals(free.substring(0, free.indexOf(stop)), result.text());
    assertEquals(result.text(), String.join("", pieces));
  }

  @Test
  void ends_at_the_token_limit() {
    GenerationResult result = new Generator(new NGramModel(vocab, 256, 3, new int[0]), tokenizer)
        .generate(new int[] {1}, new GenerationOptions(SamplerSettings.defaults(3), 17, List.of()));
    assertEquals(FinishReason.MAX_TOKENS, result.finishReason());
    assertEquals(17, result.tokens().length);
  }

  @Test
  void injected_tokens_give_exactly_a_fresh_run_over_the_same_sequence_without_reprefilling() {
    int[] prompt = {1, 50, 60, 70};
    int[] retrieved = {80, 90, 100, 110, 120};
    NGramModel model = new NGramModel(vocab, 256, 21, new int[0]);
    GenerationHook injectAfterFifth = new GenerationHook() {
      int seen;

      @Override
      public Action onToken(int token, String piece, String text) {
        return ++seen == 5 ? GenerationHook.inject(retrieved) : CONTINUE;
      }
    };
    GenerationResult paused = new Generator(model, tokenizer)
        .generate(prompt, GenerationOptions.greedy(20), TokenConstraint.NONE, injectAfterFifth);
    assertEquals(FinishReason.MAX_TOKENS, paused.finishReason());
    assertEquals(model.position(), model.appendedTokens, "every token is prefilled once");
    assertEquals(prompt.length + 1 + retrieved.length, paused.prefillTokens(), "the sampled token is prefilled with the injection");

    int[] generated = paused.tokens();
    int[] resumedPrompt = concat(concat(prompt, Arrays.copyOf(generated, 5)), retrieved);
    NGramModel fresh = new NGramModel(vocab, 256, 21, new int[0]);
    GenerationResult rest = new Generator(fresh, tokenizer).generate(resumedPrompt, GenerationOptions.greedy(15));
    assertArrayEquals(Arrays.copyOfRange(generated, 5, 20), rest.tokens());
    assertArrayEquals(model.tokens(), fresh.tokens());
    assertArrayEquals(model.logits(), fresh.logits());
  }

  @Test
  void an_end_of_generation_token_with_an_injection_goes_on() {
    NGramModel model = trained("the cat sat", 64);
    GenerationHook toolAnswer = new GenerationHook() {
      boolean injected;

      @Override
      public Action onToken(int token, String piece, String text) {
        if (token == 2 && !injected) {
          injected = true;
          return GenerationHook.inject(tokenizer.encode("the cat", true, false));
        }
        return CONTINUE;
      }
    };
    GenerationResult result = new Generator(model, tokenizer).generate(tokenizer.encode("the cat", true, false),
        GenerationOptions.greedy(40), TokenConstraint.NONE, toolAnswer);
    assertEquals(FinishReason.END_OF_GENERATION, result.finishReason());
    assertEquals(" sat sat", result.text());
  }

  @Test
  void a_hook_can_stop_the_generation() {
    GenerationResult result = new Generator(new NGramModel(vocab, 256, 3, new int[0]), tokenizer).generate(
        new int[] {1}, GenerationOptions.greedy(50), TokenConstraint.NONE,
        (token, piece, text) -> GenerationHook.STOP);
    assertEquals(FinishReason.HOOK, result.finishReason());
    assertEquals(1, result.tokens().length);
  }

  @Test
  void a_full_context_ends_the_generation_with_the_numbers_and_a_long_prompt_is_refused() {
    Generator generator = new Generator(new NGramModel(vocab, 10, 3, new int[0]), tokenizer);
    GenerationResult result = generator.generate(new int[] {1, 40, 41}, GenerationOptions.greedy(50));
    assertEquals(FinishReason.CONTEXT_FULL, result.finishReason());
    assertEquals(8, result.tokens().length);
    assertTrue(result.message().contains("context of 10 tokens is full"), result.message());
    Generator small = new Generator(new NGramModel(vocab, 4, 3, new int[0]), tokenizer);
    String message = assertThrows(IllegalArgumentException.class,
        () -> small.generate(new int[] {1, 2, 3, 4, 5}, GenerationOptions.greedy(5))).getMessage();
    assertTrue(message.contains("prompt of 5 tokens") && message.contains("context of 4 tokens"), message);
  }

  private static int[] append(int[] a, int x) {
    int[] out = Arrays.copyOf(a, a.length + 1);
    out[a.length] = x;
    return out;
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
