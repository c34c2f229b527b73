package dev.loupe.llm.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Speculative decoding with stories260K (F32) as the target and its Q8_0 and Q4_0 builds as drafts: the output
 * equals the target's own output token for token, greedy and seeded sampling alike, through injections,
 * constraints and truncation. Acceptance rates are printed, not asserted beyond being positive.
 */
class SpeculativeStateTest {
  @TempDir static Path dir;
  static Model target, q8, q4;
  static Tokenizer tokenizer;
  static final List<String> PROMPTS = List.of("Once upon a time", "Lily and Tom went to the park", "The little dog",
      "One day, a bird");

  @BeforeAll
  static void load() throws IOException {
    Path f32 = StoriesModels.convert(dir);
    target = StoriesModels.load(f32);
    q8 = StoriesModels.load(StoriesModels.quantize(f32, GgmlType.Q8_0));
    q4 = StoriesModels.load(StoriesModels.quantize(f32, GgmlType.Q4_0));
    tokenizer = target.tokenizer();
  }

  @AfterAll
  static void close() {
    for (Model m : new Model[] {target, q8, q4}) {
      if (m != null) {
        m.close();
      }
    }
  }

  static SpeculativeState speculative(Model draft, SpeculativeState.Options options) {
    return new SpeculativeState(target.newSession(SessionOptions.of(512)), draft.newSession(SessionOptions.of(512)), options);
  }

  static GenerationResult plain(int[] prompt, GenerationOptions options, TokenConstraint constraint, GenerationHook hook) {
    return new Generator(target.newSession(SessionOptions.of(512)), tokenizer).generate(prompt, options, constraint, hook);
  }

  @Test
  void greedy_output_with_a_quantized_draft_equals_plain_greedy_output_exactly() {
    for (Model draft : new Model[] {q8, q4}) {
      for (SpeculativeState.Options options : List.of(SpeculativeState.Options.of(1), SpeculativeState.Options.of(4),
          new SpeculativeState.Options(8, true))) {
        long accepted = 0, drafted = 0;
        for (String text : PROMPTS) {
          int[] prompt = tokenizer.encode(text, true, false);
          GenerationResult expected = plain(prompt, GenerationOptions.greedy(96), TokenConstraint.NONE, GenerationHook.none());
          SpeculativeState state = speculative(draft, options);
          GenerationResult actual = new Generator(state, tokenizer).generate(prompt, GenerationOptions.greedy(96));
          String context = draft + " " + options + " '" + text + "'";
          assertArrayEquals(expected.tokens(), actual.tokens(), context);
          assertEquals(expected.text(), actual.text(), context);
          assertEquals(expected.finishReason(), actual.finishReason(), context);
          accepted += state.stats().accepted();
          drafted += state.stats().drafted();
        }
        assertTrue(accepted > 0, "no draft token was ever accepted with " + draft);
        System.out.printf(Locale.ROOT, "stories260K F32 target, %s draft, %s: %d of %d accepted (%.1f%%)%n",
            draft.file().path().getFileName(), options, accepted, drafted, 100.0 * accepted / drafted);
      }
    }
  }

  @Test
  void seeded_sampling_with_speculation_equals_plain_sampling_token_for_token() {
    int[] prompt = tokenizer.encode(PROMPTS.get(1), true, false);
    for (long seed = 1; seed <= 8; seed++) {
      SamplerSettings settings = seed % 2 == 0 ? SamplerSettings.defaults(seed)
          : new SamplerSettings(1.0f, 0, 1, 0, 1.1f, 64, seed);
      GenerationOptions options = new GenerationOptions(settings, 64, List.of());
      GenerationResult expected = plain(prompt, options, TokenConstraint.NONE, GenerationHook.none());
      SpeculativeState state = speculative(q4, SpeculativeState.Options.of(4));
      GenerationResult actual = new Generator(state, tokenizer).generate(prompt, options);
      assertArrayEquals(expected.tokens(), actual.tokens(), "seed " + seed);
      assertTrue(state.stats().rounds() > 0, state.toString());
    }
  }

  @Test
  void injections_stop_strings_and_constraints_act_on_the_target_as_without_a_draft() throws Exception {
    int[] prompt = tokenizer.encode(PROMPTS.get(0), true, false);
    int[] retrieved = tokenizer.encode(" The cat was big and red.", false, false);
    GenerationHook inject = (token, piece, text) -> text.length() > 20 && text.length() < 26
        ? GenerationHook.inject(retrieved) : GenerationHook.CONTINUE;
    GenerationOptions options = GenerationOptions.greedy(70).withStopStrings("happy");
    Session plainSession = target.newSession(SessionOptions.of(512));
    GenerationResult expected = new Generator(plainSession, tokenizer).generate(prompt, options, TokenConstraint.NONE, inject);
    Session targetSession = target.newSession(SessionOptions.of(512));
    Session draftSession = q8.newSession(SessionOptions.of(512));
    SpeculativeState state = new SpeculativeState(targetSession, draftSession, SpeculativeState.Options.of(5));
    GenerationResult actual = new Generator(state, tokenizer).generate(prompt, options, TokenConstraint.NONE, inject);
    assertArrayEquals(expected.tokens(), actual.tokens());
    assertEquals(expected.text(), actual.text());
    assertEquals(expected.finishReason(), actual.finishReason());
    assertEquals(plainSession.position(), state.position());

    state.settle();
    assertArrayEquals(plainSession.tokens(), targetSession.tokens());
    assertArrayEquals(plainSession.tokens(), draftSession.tokens());
    assertArrayEquals(plainSession.logits(), targetSession.logits());
    assertArrayEquals(plainSession.logits(), state.logits());

    JsonSchema schema = JsonSchema.parse(JsonConstraintTest.SCHEMA);
    TokenTrie trie = TokenTrie.of(tokenizer);
    for (long seed = 0; seed < 4; seed++) {
      GenerationOptions sampling = new GenerationOptions(new SamplerSettings(0.8f, 0, 1, 0, 1, 0, seed), 400, List.of());
      GenerationResult json = plain(prompt, sampling, new JsonConstraint(schema, trie), GenerationHook.none());
      GenerationResult speculated = new Generator(speculative(q4, SpeculativeState.Options.of(3)), tokenizer)
          .generate(prompt, sampling, new JsonConstraint(schema, trie), GenerationHook.none());
      assertArrayEquals(json.tokens(), speculated.tokens(), "seed " + seed);
      assertTrue(schema.accepts(speculated.text()), speculated.text());
    }
  }

  @Test
  void truncating_rolls_back_both_models_and_generation_goes_on_as_from_a_fresh_state() {
    int[] prompt = tokenizer.encode(PROMPTS.get(2), true, false);
    SpeculativeState state = speculative(q4, SpeculativeState.Options.of(4));
    Generator generator = new Generator(state, tokenizer);
    GenerationResult first = generator.generate(prompt, GenerationOptions.greedy(40));
    int keep = prompt.length + 10;
    state.truncate(keep);
    assertEquals(keep, state.position());
    Session fresh = target.newSession(SessionOptions.of(512));
    fresh.append(ModelGenerationTest.concat(prompt, java.util.Arrays.copyOf(first.tokens(), 10)));
    assertArrayEquals(fresh.logits(), state.logits());
    GenerationResult again = generator.generate(new int[0], GenerationOptions.greedy(30));
    GenerationResult reference = new Generator(fresh, tokenizer).generate(new int[0], GenerationOptions.greedy(30));
    assertArrayEquals(reference.tokens(), again.tokens());
    assertArrayEquals(java.util.Arrays.copyOfRange(first.tokens(), 10, 40), again.tokens());
  }

  @Test
  void a_draft_with_another_vocabulary_is_refused_with_both_sizes() {
    SpeculativeState state = new SpeculativeState(target.newSession(SessionOptions.of(64)),
        new NGramModel(100, 64, 1, new int[0]), SpeculativeState.Options.of(2));
    String message = assertThrows(IllegalArgumentException.class, () -> state.append(new int[] {1, 5})).getMessage();
    assertEquals("the draft's vocabulary of 100 tokens differs from the target's 512; speculative decoding needs the same"
        + " vocabulary", message);
  }

  @Test
  void refuses_a_shared_or_non_empty_state_and_bad_options() {
    Session s = target.newSession(SessionOptions.of(64));
    assertEquals("the draft must be a state of its own, not the target",
        assertThrows(IllegalArgumentException.class, () -> new SpeculativeState(s, s, SpeculativeState.Options.of(2))).getMessage());
    s.append(1, 2);
    assertEquals("speculative decoding starts from empty states; the target holds 2 tokens and the draft 0",
        assertThrows(IllegalArgumentException.class,
            () -> new SpeculativeState(s, q4.newSession(SessionOptions.of(64)), SpeculativeState.Options.of(2))).getMessage());
    assertEquals("draft tokens 0 must be between 1 and 64",
        assertThrows(IllegalArgumentException.class, () -> SpeculativeState.Options.of(0)).getMessage());
  }
}
