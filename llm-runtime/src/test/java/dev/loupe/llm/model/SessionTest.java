package dev.loupe.llm.model;

import static dev.loupe.llm.model.OracleModels.message;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.tensor.ActivationMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Session semantics on seeded random-weight models (no llama.cpp): every way of feeding the same
 * tokens gives bit-identical logits, because each token's arithmetic does not depend on batching.
 */
class SessionTest {
  @TempDir static Path dir;
  static Model llama, qwen3;
  static final long SEED = 7;

  @BeforeAll
  static void write() throws IOException {
    Path a = dir.resolve("llama.gguf"), b = dir.resolve("qwen3.gguf");
    RandomModels.write(RandomModels.small(ModelConfig.Architecture.LLAMA, GgmlType.Q8_0, false, SEED), a);
    RandomModels.write(RandomModels.small(ModelConfig.Architecture.QWEN3, GgmlType.F32, true, SEED + 1), b);
    llama = Model.load(a, new ModelOptions(2, ActivationMode.GGML));
    qwen3 = Model.load(b, ModelOptions.threads(2));
  }

  @AfterAll
  static void close() {
    llama.close();
    qwen3.close();
  }

  static int[] tokens(int n) {
    return RandomModels.randomTokens(new Random(SEED), n, 320);
  }

  @Test
  void batched_prefill_equals_token_by_token_decoding_bit_for_bit() {
    for (Model m : new Model[] {llama, qwen3}) {
      int[] t = tokens(45);
      float[][] batched = m.newSession(SessionOptions.of(64).withBatchSize(16)).appendWithLogits(t);
      Session single = m.newSession(SessionOptions.of(64).withBatchSize(1));
      for (int i = 0; i < t.length; i++) {
        single.append(t[i]);
        assertArrayEquals(batched[i], single.logits(), String.format("%s position %d", m, i));
      }
    }
  }

  /**
   * A batch wide enough (64 tokens × 1,024 feed-forward values) that the SiLU step and the rounding
   * of the down projection's input run on the compute pool: the bits of token-by-token decoding,
   * where they run on the caller.
   */
  @Test
  void a_wide_batch_split_across_threads_equals_token_by_token_decoding_bit_for_bit() throws IOException {
    RandomModels.Shape wide = new RandomModels.Shape(ModelConfig.Architecture.LLAMA, 128, 1024, 2, 4, 2, 0, 320,
        GgmlType.Q4_0, false, SEED + 2);
    Path file = dir.resolve("wide.gguf");
    RandomModels.write(wide, file);
    try (Model m = Model.load(file, new ModelOptions(2, ActivationMode.Q8))) {
      int[] t = tokens(70);
      float[][] batched = m.newSession(SessionOptions.of(80).withBatchSize(64)).appendWithLogits(t);
      Session single = m.newSession(SessionOptions.of(80).withBatchSize(1));
      for (int i = 0; i < t.length; i++) {
        single.append(t[i]);
        assertArrayEquals(batched[i], single.logits(), "position " + i);
      }
    }
  }

  @Test
  void appending_in_two_parts_gives_the_logits_of_one_append() {
    int[] t = tokens(40);
    Session whole = llama.newSession(SessionOptions.of(64));
    whole.append(t);
    Session parts = llama.newSession(SessionOptions.of(64).withBatchSize(8));
    parts.append(Arrays.copyOf(t, 13));
    parts.logits(); // as a generator would, mid-answer
    parts.append(Arrays.copyOfRange(t, 13, 40));
    assertEquals(40, parts.position());
    assertArrayEquals(whole.logits(), parts.logits());
    assertArrayEquals(t, parts.tokens());
  }

  @Test
  void truncating_and_appending_again_reproduces_the_logits() {
    int[] t = tokens(30);
    int[] other = tokens(31);
    Session s = qwen3.newSession(SessionOptions.of(64));
    s.append(t);
    float[] expected = s.logits();
    s.truncate(20);
    assertEquals(20, s.position());
    Session fresh = qwen3.newSession(SessionOptions.of(64));
    fresh.append(Arrays.copyOf(t, 20));
    assertArrayEquals(fresh.logits(), s.logits(), String.format("logits after truncating"));
    s.append(Arrays.copyOfRange(other, 20, 31)); // a different continuation overwrites the cache
    s.truncate(20);
    s.append(Arrays.copyOfRange(t, 20, 30));
    assertArrayEquals(expected, s.logits());
  }

  @Test
  void restoring_a_snapshot_reproduces_the_logits_and_later_appends() {
    int[] t = tokens(24);
    Session s = llama.newSession(SessionOptions.of(64).withKvCacheType(KvCacheType.F16));
    s.append(Arrays.copyOf(t, 12));
    Session.Snapshot snap = s.snapshot();
    float[] at12 = s.logits();
    s.append(Arrays.copyOfRange(t, 12, 24));
    float[] at24 = s.logits();
    s.truncate(3);
    s.append(5, 6, 7);
    s.restore(snap);
    assertEquals(12, s.position());
    assertArrayEquals(at12, s.logits());
    s.append(Arrays.copyOfRange(t, 12, 24));
    assertArrayEquals(at24, s.logits());
    Session other = llama.newSession(SessionOptions.of(16).withKvCacheType(KvCacheType.F16));
    other.restore(snap);
    assertArrayEquals(at12, other.logits());
    { String m = message(() -> llama.newSession(SessionOptions.of(64)).restore(snap));
      assertTrue(m.contains("F16 cache cannot restore"), m);
      assertTrue(m.contains("F32 cache"), m);
    }
  }

  @Test
  void an_f16_cache_stays_close_to_an_f32_cache() {
    int[] t = tokens(40);
    Session a = qwen3.newSession(SessionOptions.of(64));
    Session b = qwen3.newSession(SessionOptions.of(64).withKvCacheType(KvCacheType.F16));
    a.append(t);
    b.append(t);
    float[] x = a.logits(), y = b.logits();
    double worst = 0;
    for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    assertTrue(worst < 0.05 && worst > 0, "f16 vs f32 " + worst);
  }

  @Test
  void refuses_a_context_beyond_the_memory_budget_with_the_numbers() {
    // 2 layers × 100000 positions × (64 + 64) dims × 4 bytes = 97.7 MiB of KV cache.
    { String m = message(() -> llama.newSession(SessionOptions.of(100_000).withMemoryBudget(64L << 20)));
      assertTrue(m.contains("a session of 100000 positions needs"), m);
      assertTrue(m.contains("KV cache 97.7 MiB = 2 layers × 100000 positions × 128 key+value dims × 4 bytes F32"), m);
      assertTrue(m.contains("the memory budget is 64.0 MiB"), m);
    }
    assertEquals(0, llama.newSession(SessionOptions.of(100_000).withKvCacheType(KvCacheType.F16).withMemoryBudget(64L << 20)).position());
  }

  @Test
  void rejects_tokens_outside_the_vocabulary_and_beyond_the_context_without_changing_state() {
    Session s = llama.newSession(SessionOptions.of(8));
    s.append(1, 2, 3);
    float[] before = s.logits();
    { String m = message(() -> s.append(4, 320));
      assertEquals("token 320 is outside the vocabulary 0..319", m);
    }
    { String m = message(() -> s.append(new int[6]));
      assertEquals("appending 6 tokens at position 3 exceeds the session's context length 8", m);
    }
    { String m = message(() -> s.truncate(4));
      assertEquals("cannot truncate to position 4; the session holds 3 tokens", m);
    }
    assertEquals(3, s.position());
    assertArrayEquals(before, s.logits());
    { String m = message(() -> llama.newSession(SessionOptions.of(8)).logits());
      assertTrue(m.contains("no logits before its first token"), m);
    }
  }

  @Test
  void binds_weights_as_views_of_the_file_and_ties_embeddings_when_output_weight_is_absent() {
    assertTrue(qwen3.tiedEmbeddings());
    assertFalse(llama.tiedEmbeddings());
    assertTrue(llama.weightBytesPerToken() < llama.file().size());
    assertEquals(ModelConfig.RopeStyle.NORMAL, llama.config().ropeStyle());
    assertEquals(ModelConfig.RopeStyle.NEOX, qwen3.config().ropeStyle());
    assertEquals(320, qwen3.tokenizer().vocabulary().size());
  }
}
