package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Byte-level BPE over a small generated vocabulary and merge list, and the pre-tokenizers llama.cpp uses. */
class BytePairTokenizerTest {
  private static final List<String> MERGES = List.of("h e", "l l", "he ll", "hell o", "o r", "Ġ w", "Ġw or", "l d",
      "Ġwor ld");
  private static final List<String> SPECIAL = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

  /** Ids 0..255 are the 256 byte characters in byte order, then the merge results, then the control tokens. */
  static Map<String, Object> metadata(String pre) {
    List<String> tokens = new ArrayList<>();
    List<Integer> types = new ArrayList<>();
    for (int b = 0; b < 256; b++) {
      tokens.add(byteChar(b));
      types.add(TokenType.NORMAL.id());
    }
    for (String merge : MERGES) {
      tokens.add(merge.replace(" ", ""));
      types.add(TokenType.NORMAL.id());
    }
    for (String special : SPECIAL) {
      tokens.add(special);
      types.add(TokenType.CONTROL.id());
    }
    Map<String, Object> m = new HashMap<>();
    m.put("tokenizer.ggml.model", "gpt2");
    m.put("tokenizer.ggml.pre", pre);
    m.put("tokenizer.ggml.tokens", tokens.toArray(String[]::new));
    m.put("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
    m.put("tokenizer.ggml.merges", MERGES.toArray(String[]::new));
    m.put("tokenizer.ggml.bos_token_id", tokens.indexOf("<|endoftext|>"));
    m.put("tokenizer.ggml.eos_token_id", tokens.indexOf("<|endoftext|>"));
    m.put("tokenizer.ggml.add_bos_token", false);
    return m;
  }

  /** GPT-2's printable character for byte {@code b}. */
  static String byteChar(int b) {
    boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (printable) {
      return String.valueOf((char) b);
    }
    int n = 0;
    for (int c = 0; c < b; c++) {
      if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) {
        n++;
      }
    }
    return String.valueOf((char) (256 + n));
  }

  private static Tokenizer tokenizer(String pre) {
    return Tokenizer.fromMetadata(metadata(pre));
  }

  @Test
  void maps_bytes_to_gpt2_characters() {
    assertEquals("Ġ", byteChar(' '));
    assertEquals("Ċ", byteChar('\n'));
    assertEquals("Ġworld", Unicode.byteEncode(" world"));
  }

  @Test
  void splits_words_as_llama_cpp_pre_tokenizers_do() {
    assertEquals(List.of("Hello", " world", "'s", " ", "123", "45", " \n\n", " ", " x", "!!\n"),
        PreTokenizer.LLAMA3.split("Hello world's 12345 \n\n  x!!\n"));
    assertEquals(List.of("I", "'M", " fine"), PreTokenizer.LLAMA3.split("I'M fine"), "Llama 3 contractions ignore case");
    assertEquals(List.of("Hello", " world", "'s", " 12345", " ", " x"), PreTokenizer.GPT2.split("Hello world's 12345  x"));
    assertEquals(List.of("I", "'", "M", " fine"), PreTokenizer.GPT2.split("I'M fine"), "GPT-2 contractions are lower case only");
    assertEquals(List.of("abc", " ", "1", "2", "3", "'S", " é", "\n\n"), PreTokenizer.QWEN2.split("abc 123'S é\n\n"));
    assertEquals(List.of("a", " ", "1", "2", " b"), PreTokenizer.SMOLLM.split("a 12 b"));
    assertEquals(List.of("Hello", ",", " world", "!", " ", "123", "4"), PreTokenizer.DEFAULT.split("Hello, world! 1234"));
  }

  @Test
  void merges_lowest_rank_first_and_left_most_among_equal_ranks() {
    Tokenizer t = tokenizer("gpt-2");
    Vocabulary v = t.vocabulary();
    assertArrayEquals(new int[] {v.id("hello"), v.id("Ġworld")}, t.encode("hello world", true, false));
    assertArrayEquals(new int[] {v.id("ll"), v.id("l")}, t.encode("lll", false, false));
    assertArrayEquals(new int[] {0xF0, 0x9F, 0xA6, 0x99}, t.encode("🦙", false, false), "unmerged bytes stay bytes");
  }

  @Test
  void adds_bos_only_where_the_vocabulary_asks() {
    Map<String, Object> m = metadata("llama-bpe");
    m.remove("tokenizer.ggml.add_bos_token");
    Tokenizer llama3 = Tokenizer.fromMetadata(m);
    int bos = llama3.vocabulary().bos();
    assertEquals(bos, llama3.encode("hello", true, false)[0], "llama-bpe adds BOS by default");
    assertArrayEquals(new int[] {llama3.vocabulary().id("hello")}, tokenizer("qwen2").encode("hello", true, false));
  }

  @Test
  void splits_control_tokens_out_only_when_parsing_specials() {
    Tokenizer t = tokenizer("qwen2");
    Vocabulary v = t.vocabulary();
    int[] parsed = t.encode("<|im_start|>hello<|im_end|>", false, true);
    assertArrayEquals(new int[] {v.id("<|im_start|>"), v.id("hello"), v.id("<|im_end|>")}, parsed);
    int[] plain = t.encode("<|im_start|>hello<|im_end|>", false, false);
    assertFalse(Arrays.stream(plain).anyMatch(id -> id == v.id("<|im_end|>")), Arrays.toString(plain));
    assertEquals("<|im_start|>hello<|im_end|>", t.decode(plain));
    assertEquals("hello", t.decode(parsed), "control tokens render as nothing by default");
    assertEquals("<|im_start|>hello<|im_end|>", t.decode(parsed, false, true));
  }

  @Test
  void ends_generation_on_end_of_turn_tokens_found_in_the_vocabulary() {
    Tokenizer t = tokenizer("qwen2");
    Vocabulary v = t.vocabulary();
    assertTrue(t.isEndOfGeneration(v.id("<|im_end|>")));
    assertTrue(t.isEndOfGeneration(v.id("<|endoftext|>")));
    assertFalse(t.isEndOfGeneration(v.id("<|im_start|>")));
    assertEquals(v.id("<|endoftext|>"), v.eot(), "the first end-of-turn text in id order, as llama.cpp finds it");
  }

  @Test
  void round_trips_the_multilingual_text_set_through_every_pre_tokenizer() {
    for (String pre : List.of("default", "gpt-2", "llama-bpe", "qwen2", "smollm")) {
      Tokenizer t = tokenizer(pre);
      for (String text : TextSamples.MULTILINGUAL) {
        int[] tokens = t.encode(text, false, false);
        assertEquals(text, t.decode(tokens), pre + " round trip of " + SentencePieceTokenizerTest.escape(text));
      }
    }
  }

  @Test
  void cleans_spaces_before_punctuation_when_decoding_like_llama_cpp() {
    Tokenizer gpt2 = tokenizer("gpt-2");
    assertEquals("hello. it's", gpt2.decode(gpt2.encode("hello . it 's", false, false)));
    Tokenizer qwen = tokenizer("qwen2");
    assertEquals("hello . it 's", qwen.decode(qwen.encode("hello . it 's", false, false)), "qwen2 does not clean");
  }

  @Test
  void rejects_an_unknown_pre_tokenizer_listing_the_known_ones() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer("klingon"));
    assertTrue(e.getMessage().contains("tokenizer.ggml.pre 'klingon'"), e.getMessage());
    assertTrue(e.getMessage().contains("llama-bpe") && e.getMessage().contains("qwen2")
        && e.getMessage().contains("smollm"), e.getMessage());
  }
}
