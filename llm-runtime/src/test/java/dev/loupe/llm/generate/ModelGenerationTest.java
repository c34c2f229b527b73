package dev.loupe.llm.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.llm.generate.GenerationResult.FinishReason;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link Generator} on a real model: stories260K converted to GGUF, driven through its {@link Session}. The
 * session's arithmetic for a token does not depend on how tokens are batched or split into appends, so every
 * comparison of logits here is bit for bit.
 */
class ModelGenerationTest {
  @TempDir static Path dir;
  static Model model;
  static Tokenizer tokenizer;

  @BeforeAll
  static void load() throws IOException {
    model = StoriesModels.load(StoriesModels.convert(dir));
    tokenizer = model.tokenizer();
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  static int[] prompt(String text) {
    return tokenizer.encode(text, true, false);
  }

  static Session session(int context) {
    return model.newSession(SessionOptions.of(context));
  }

  @Test
  void greedy_generation_takes_the_sessions_most_likely_token_each_step_and_streams_the_decoded_text() {
    int[] prompt = prompt("Once upon a time");
    List<String> pieces = new ArrayList<>();
    GenerationResult result = new Generator(session(256), tokenizer).generate(prompt, GenerationOptions.greedy(80),
        TokenConstraint.NONE, GenerationHook.streaming(pieces::add));

    Session reference = session(256);
    reference.append(prompt);
    int[] tokens = result.tokens();
    for (int i = 0; i < tokens.length; i++) {
      assertEquals(SpeculativeState.argmax(reference.logits()), tokens[i], "token " + i + " of " + result.text());
      if (i + 1 < tokens.length) {
        reference.append(tokens[i]);
      }
    }
    assertEquals(result.text(), String.join("", pieces));
    int[] text = result.finishReason() == FinishReason.END_OF_GENERATION ? Arrays.copyOf(tokens, tokens.length - 1) : tokens;
    assertEquals(tokenizer.decode(concat(prompt, text)), tokenizer.decode(prompt) + result.text());
    assertTrue(result.text().length() > 40, result.text());
    assertEquals(prompt.length, result.prefillTokens());
  }

  @Test
  void pausing_to_inject_tokens_and_resuming_gives_exactly_the_logits_of_a_fresh_session_over_the_whole_sequence() {
    int[] prompt = prompt("Lily went to the park");
    int[] retrieved = tokenizer.encode(" The dog was very happy to see a big red ball.", false, false);
    int[] note = tokenizer.encode(" Tom said hello.", false, false);
    GenerationHook injectTwice = new GenerationHook() {
      int seen;

      @Override
      public Action onToken(int token, String piece, String text) {
        seen++;
        return seen == 5 ? GenerationHook.inject(retrieved) : seen == 17 ? GenerationHook.inject(note) : CONTINUE;
      }
    };
    // Small prefill batches, so that the injections straddle batch boundaries.
    Session paused = model.newSession(SessionOptions.of(256).withBatchSize(3));
    GenerationResult first = new Generator(paused, tokenizer).generate(prompt, GenerationOptions.greedy(30),
        TokenConstraint.NONE, injectTwice);
    assertEquals(FinishReason.MAX_TOKENS, first.finishReason());
    int[] generated = first.tokens();
    int[] expectedSequence = concat(concat(concat(concat(prompt, Arrays.copyOf(generated, 5)), retrieved),
        Arrays.copyOfRange(generated, 5, 17)), note);
    expectedSequence = concat(expectedSequence, Arrays.copyOfRange(generated, 17, 29));
    assertArrayEquals(expectedSequence, paused.tokens(), "the session holds prompt, tokens and injections in order");
    assertEquals(prompt.length + 2 + retrieved.length + note.length, first.prefillTokens());

    Session fresh = session(256);
    fresh.append(paused.tokens());
    assertArrayEquals(fresh.logits(), paused.logits(), "logits after the whole sequence");

    // Resuming both with the last sampled token gives the same continuation.
    int[] last = {generated[generated.length - 1]};
    GenerationResult resumed = new Generator(paused, tokenizer).generate(last, GenerationOptions.greedy(20));
    GenerationResult freshRun = new Generator(fresh, tokenizer).generate(last, GenerationOptions.greedy(20));
    assertArrayEquals(freshRun.tokens(), resumed.tokens());
    assertArrayEquals(fresh.logits(), paused.logits());
  }

  @Test
  void restoring_a_snapshot_or_truncating_to_the_prompt_reproduces_a_seeded_generation() {
    int[] prompt = prompt("The little bird");
    GenerationOptions sampling = new GenerationOptions(SamplerSettings.defaults(42), 40, List.of());
    Session s = session(256);
    s.append(prompt);
    Session.Snapshot afterPrompt = s.snapshot();
    float[] promptLogits = s.logits();
    GenerationResult a = new Generator(s, tokenizer).generate(new int[0], sampling);
    float[] endLogits = s.logits();

    s.restore(afterPrompt);
    assertArrayEquals(promptLogits, s.logits());
    GenerationResult b = new Generator(s, tokenizer).generate(new int[0], sampling);
    assertArrayEquals(a.tokens(), b.tokens());
    assertArrayEquals(endLogits, s.logits());

    s.truncate(prompt.length);
    assertArrayEquals(promptLogits, s.logits());
    GenerationResult c = new Generator(s, tokenizer).generate(new int[0], sampling);
    assertArrayEquals(a.tokens(), c.tokens());
    assertEquals(a.text(), c.text());
    assertArrayEquals(endLogits, s.logits());
  }

  @Test
  void batched_prefill_equals_token_by_token_decoding_bit_for_bit() {
    int[] tokens = new Generator(session(128), tokenizer).generate(prompt("One day"), GenerationOptions.greedy(60)).tokens();
    int[] sequence = concat(prompt("One day"), tokens);
    float[][] batched = model.newSession(SessionOptions.of(128).withBatchSize(7)).appendWithLogits(sequence);
    Session single = model.newSession(SessionOptions.of(128).withBatchSize(1));
    for (int i = 0; i < sequence.length; i++) {
      single.append(sequence[i]);
      assertArrayEquals(batched[i], single.logits(), "position " + i);
    }
  }

  @Test
  void sampling_is_reproducible_for_a_seed_and_varies_between_seeds() {
    int[] prompt = prompt("Once upon a time");
    Set<String> outputs = new HashSet<>();
    for (long seed = 1; seed <= 6; seed++) {
      SamplerSettings settings = new SamplerSettings(0.9f, 40, 0.95f, 0.05f, 1.1f, 64, seed);
      GenerationOptions options = new GenerationOptions(settings, 40, List.of());
      GenerationResult a = new Generator(session(128), tokenizer).generate(prompt, options);
      GenerationResult b = new Generator(session(128), tokenizer).generate(prompt, options);
      assertArrayEquals(a.tokens(), b.tokens(), "seed " + seed);
      outputs.add(a.text());
    }
    assertTrue(outputs.size() >= 4, outputs.toString());
  }

  @Test
  void stops_at_a_stop_string_without_releasing_it() {
    int[] prompt = prompt("Once upon a time");
    String free = new Generator(session(256), tokenizer).generate(prompt, GenerationOptions.greedy(60)).text();
    String stop = free.substring(30, 34);
    List<String> pieces = new ArrayList<>();
    GenerationResult result = new Generator(session(256), tokenizer).generate(prompt,
        GenerationOptions.greedy(60).withStopStrings(stop), TokenConstraint.NONE, GenerationHook.streaming(pieces::add));
    assertEquals(FinishReason.STOP_STRING, result.finishReason());
    assertEquals(free.substring(0, free.indexOf(stop)), result.text());
    assertEquals(result.text(), String.join("", pieces));
  }

  @Test
  void json_constrained_output_parses_and_validates_against_the_schema_for_every_seed() throws Exception {
    JsonSchema schema = JsonSchema.parse(JsonConstraintTest.SCHEMA);
    TokenTrie trie = TokenTrie.of(tokenizer);
    @SuppressWarnings("unchecked")
    Map<String, Object> tree = JsonConstraintTest.STRICT.readValue(JsonConstraintTest.SCHEMA, Map.class);
    int[] prompt = prompt("The cat");
    for (long seed = 0; seed < 24; seed++) {
      SamplerSettings sampling = seed == 0 ? SamplerSettings.greedy()
          : new SamplerSettings(seed % 3 == 0 ? 2.0f : 0.8f, 0, 1, 0, 1, 0, seed);
      Session s = session(1024);
      GenerationResult result = new Generator(s, tokenizer).generate(prompt,
          new GenerationOptions(sampling, 900, List.of()), new JsonConstraint(schema, trie), GenerationHook.none());
      String context = "seed " + seed + ": " + result.text();
      assertEquals(FinishReason.END_OF_GENERATION, result.finishReason(), result.message() + "; " + context);
      JsonNode document = JsonConstraintTest.STRICT.readTree(result.text());
      JsonConstraintTest.validate(document, tree, "$", context);
    }
  }

  @Test
  void a_session_beyond_the_memory_budget_is_refused_with_the_numbers() {
    // 5 layers × 1,000,000 positions × (32 + 32) key+value dims × 4 bytes = 1220.7 MiB.
    String message = assertThrows(IllegalArgumentException.class,
        () -> model.newSession(SessionOptions.of(1_000_000).withMemoryBudget(512L << 20))).getMessage();
    assertTrue(message.contains("KV cache 1220.7 MiB = 5 layers × 1000000 positions × 64 key+value dims × 4 bytes F32"), message);
    assertTrue(message.contains("the memory budget is 512.0 MiB"), message);
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
