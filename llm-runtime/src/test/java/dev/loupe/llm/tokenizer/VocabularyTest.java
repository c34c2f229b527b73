package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Validation of the GGUF tokenizer metadata, with messages that name the offending key. */
class VocabularyTest {

  private static Map<String, Object> spm() {
    Map<String, Object> m = new HashMap<>();
    m.put("tokenizer.ggml.model", "llama");
    m.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "▁a", "a"});
    m.put("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -2});
    m.put("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1});
    return m;
  }

  private static String failure(Map<String, Object> m) {
    return assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromMetadata(m)).getMessage();
  }

  @Test
  void applies_the_sentencepiece_defaults_of_llama_cpp() {
    Vocabulary v = Vocabulary.fromMetadata(spm());
    assertEquals(Vocabulary.Model.SENTENCEPIECE, v.model());
    assertEquals(1, v.bos());
    assertEquals(2, v.eos());
    assertEquals(0, v.unk());
    assertTrue(v.addBos());
    assertTrue(v.addSpacePrefix());
    assertEquals(TokenType.CONTROL, v.type(1));
    assertEquals(3, v.id("▁a"));
  }

  @Test
  void honours_the_flags_the_file_sets() {
    Map<String, Object> m = spm();
    m.put("tokenizer.ggml.add_bos_token", false);
    m.put("tokenizer.ggml.add_space_prefix", false);
    m.put("tokenizer.ggml.eos_token_id", 4);
    Vocabulary v = Vocabulary.fromMetadata(m);
    assertEquals(false, v.addBos());
    assertEquals(false, v.addSpacePrefix());
    assertTrue(v.isEndOfGeneration(4));
    assertArrayEqualsInt(new int[] {4}, Tokenizer.of(v).encode("a", true, false));
  }

  private static void assertArrayEqualsInt(int[] expected, int[] actual) {
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
  }

  @Test
  void names_the_key_of_every_malformed_entry() {
    Map<String, Object> m = spm();
    m.remove("tokenizer.ggml.model");
    assertTrue(failure(m).contains("tokenizer.ggml.model is missing"));

    m = spm();
    m.put("tokenizer.ggml.model", "bert");
    assertTrue(failure(m).contains("tokenizer.ggml.model 'bert' is not supported"), failure(m));

    m = spm();
    m.remove("tokenizer.ggml.tokens");
    assertTrue(failure(m).contains("tokenizer.ggml.tokens is missing"));

    m = spm();
    m.put("tokenizer.ggml.tokens", new int[] {1, 2});
    assertTrue(failure(m).contains("tokenizer.ggml.tokens must be an array of strings"), failure(m));

    m = spm();
    m.put("tokenizer.ggml.scores", new float[] {0, 0});
    assertEquals("tokenizer.ggml.scores has 2 entries but tokenizer.ggml.tokens has 5", failure(m));

    m = spm();
    m.put("tokenizer.ggml.token_type", new float[] {0});
    assertTrue(failure(m).contains("tokenizer.ggml.token_type must be an array of int32"), failure(m));

    m = spm();
    m.put("tokenizer.ggml.bos_token_id", 99);
    assertEquals("tokenizer.ggml.bos_token_id 99 is outside the vocabulary of 5 tokens", failure(m));

    m = spm();
    m.put("tokenizer.ggml.add_bos_token", "yes");
    assertTrue(failure(m).contains("tokenizer.ggml.add_bos_token must be a boolean"), failure(m));

    m = spm();
    m.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "a", "a"});
    assertEquals("tokenizer.ggml.tokens has the token 'a' twice, at ids 3 and 4", failure(m));

    m = spm();
    m.put("tokenizer.ggml.model", "gpt2");
    m.put("tokenizer.ggml.pre", "qwen2");
    assertTrue(failure(m).contains("tokenizer.ggml.merges is missing"), failure(m));
  }

  @Test
  void rejects_token_ids_outside_the_vocabulary() {
    Vocabulary v = Vocabulary.fromMetadata(spm());
    assertThrows(IllegalArgumentException.class, () -> v.text(5));
    assertThrows(IllegalArgumentException.class, () -> Tokenizer.of(v).tokenBytes(-1));
  }
}
