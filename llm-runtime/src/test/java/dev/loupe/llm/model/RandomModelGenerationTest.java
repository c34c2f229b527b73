package dev.loupe.llm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.generate.GenerationHook;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.SamplerSettings;
import dev.loupe.llm.generate.SpeculativeState;
import dev.loupe.llm.generate.TokenConstraint;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.tensor.ActivationMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation on seeded random-weight models (no shared test data needed): pause/inject/resume on a qwen2 model
 * with biases and K-quant weights, and speculative decoding where the draft is a different, smaller model with the
 * same vocabulary (few guesses accepted: the rejection path at every step) and where it is the target's own
 * weights in Q4_0.
 */
class RandomModelGenerationTest {
  @TempDir static Path dir;
  static Model qwen2, target, smallDraft, q4Draft;
  static final long SEED = 11;

  @BeforeAll
  static void write() throws IOException {
    Path q = dir.resolve("qwen2-q4k.gguf"), t = dir.resolve("llama-q8.gguf"), s = dir.resolve("small-f32.gguf"),
        d = dir.resolve("llama-q4.gguf");
    RandomModels.write(RandomModels.small(ModelConfig.Architecture.QWEN2, GgmlType.Q4_K, false, SEED), q);
    RandomModels.Shape llama = RandomModels.small(ModelConfig.Architecture.LLAMA, GgmlType.Q8_0, false, SEED + 1);
    RandomModels.write(llama, t);
    RandomModels.write(llama.with(GgmlType.Q4_0), d); // the same weights before quantization
    RandomModels.write(new RandomModels.Shape(ModelConfig.Architecture.LLAMA, 64, 128, 1, 2, 1, 0, 320, GgmlType.F32, true,
        SEED + 2), s);
    qwen2 = Model.load(q, new ModelOptions(1, ActivationMode.GGML));
    target = Model.load(t, ModelOptions.threads(1));
    smallDraft = Model.load(s, ModelOptions.threads(1));
    q4Draft = Model.load(d, ModelOptions.threads(1));
  }

  @AfterAll
  static void close() {
    for (Model m : new Model[] {qwen2, target, smallDraft, q4Draft}) {
      if (m != null) {
        m.close();
      }
    }
  }

  @Test
  void pausing_to_inject_and_resuming_gives_the_logits_of_a_fresh_session_bit_for_bit() {
    int[] prompt = RandomModels.randomTokens(new Random(SEED), 9, 320);
    int[] retrieved = RandomModels.randomTokens(new Random(SEED + 5), 13, 320);
    GenerationHook injectAtSix = new GenerationHook() {
      int seen;

      @Override
      public Action onToken(int token, String piece, String text) {
        return ++seen == 6 ? GenerationHook.inject(Arrays.copyOfRange(retrieved, 1, 13)) : CONTINUE;
      }
    };
    Session paused = qwen2.newSession(SessionOptions.of(128).withBatchSize(4));
    GenerationOptions sampling = new GenerationOptions(SamplerSettings.defaults(3), 24, List.of());
    GenerationResult result = new Generator(paused, qwen2.tokenizer()).generate(prompt, sampling, TokenConstraint.NONE, injectAtSix);
    assertEquals(prompt.length + 23 + 12, paused.position());
    Session fresh = qwen2.newSession(SessionOptions.of(128));
    fresh.append(paused.tokens());
    assertArrayEquals(fresh.logits(), paused.logits());
    int[] last = {result.tokens()[23]};
    assertArrayEquals(new Generator(fresh, qwen2.tokenizer()).generate(last, GenerationOptions.greedy(12)).tokens(),
        new Generator(paused, qwen2.tokenizer()).generate(last, GenerationOptions.greedy(12)).tokens());
  }

  @Test
  void greedy_and_seeded_speculation_with_a_smaller_or_quantized_draft_equals_the_target_alone() {
    for (Model draft : new Model[] {smallDraft, q4Draft}) {
      long accepted = 0, drafted = 0;
      for (int p = 0; p < 4; p++) {
        int[] prompt = RandomModels.randomTokens(new Random(SEED + p), 5 + 3 * p, 320);
        SamplerSettings settings = p % 2 == 0 ? SamplerSettings.greedy() : SamplerSettings.defaults(p);
        GenerationOptions options = new GenerationOptions(settings, 64, List.of());
        GenerationResult expected = new Generator(target.newSession(SessionOptions.of(256)), target.tokenizer())
            .generate(prompt, options);
        SpeculativeState state = new SpeculativeState(target.newSession(SessionOptions.of(256)),
            draft.newSession(SessionOptions.of(256)), new SpeculativeState.Options(5, p >= 2));
        GenerationResult actual = new Generator(state, target.tokenizer()).generate(prompt, options);
        assertArrayEquals(expected.tokens(), actual.tokens(), draft + " prompt " + p);
        assertEquals(expected.text(), actual.text());
        accepted += state.stats().accepted();
        drafted += state.stats().drafted();
      }
      assertTrue(drafted > 0);
      System.out.printf("random llama Q8_0 target, %s draft: %d of %d accepted%n", draft.file().path().getFileName(), accepted,
          drafted);
    }
  }
}
