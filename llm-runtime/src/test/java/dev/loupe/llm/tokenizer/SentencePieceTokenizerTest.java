package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SentencePiece tokenizer on the real Llama 2 vocabulary, against tokenizations llama.cpp's tests publish. */
class SentencePieceTokenizerTest {
  private static Tokenizer llama2;

  @BeforeAll
  static void load() throws IOException {
    llama2 = Tokenizer.fromMetadata(Llama2cVocabulary.metadata());
  }

  /** Cases from llama.cpp's tests/test-tokenizer-0 for the Llama SentencePiece vocabulary (with BOS). */
  @Test
  void tokenizes_like_llama_cpp_for_its_published_llama_cases() {
    Map<String, int[]> cases = Map.ofEntries(
        Map.entry("Hello world", new int[] {1, 15043, 3186}),
        Map.entry(" Hello world", new int[] {1, 29871, 15043, 3186}),
        Map.entry("Hello World", new int[] {1, 15043, 2787}),
        Map.entry(" Hello World", new int[] {1, 29871, 15043, 2787}),
        Map.entry(" Hello World!", new int[] {1, 29871, 15043, 2787, 29991}),
        Map.entry("Hello, world!", new int[] {1, 15043, 29892, 3186, 29991}),
        Map.entry(" Hello, world!", new int[] {1, 29871, 15043, 29892, 3186, 29991}),
        Map.entry(" this is 🦙.cpp", new int[] {1, 29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223}),
        Map.entry("w048 7tuijk dsdfhu",
            new int[] {1, 281, 29900, 29946, 29947, 29871, 29955, 9161, 13535, 18031, 2176, 6905}),
        Map.entry("нещо на Български", new int[] {1, 1538, 4851, 665, 1386, 29713, 1305}),
        Map.entry(" ", new int[] {1, 259}),
        Map.entry("  ", new int[] {1, 1678}),
        Map.entry("   ", new int[] {1, 268}),
        Map.entry("\t", new int[] {1, 29871, 12}),
        Map.entry("\n", new int[] {1, 29871, 13}),
        Map.entry("\t\n", new int[] {1, 29871, 12, 13}),
        Map.entry("Hello", new int[] {1, 15043}),
        Map.entry(" Hello", new int[] {1, 29871, 15043}),
        Map.entry("  Hello", new int[] {1, 259, 15043}),
        Map.entry("   Hello", new int[] {1, 1678, 15043}),
        Map.entry("    Hello", new int[] {1, 268, 15043}),
        Map.entry("    Hello\n    Hello", new int[] {1, 268, 15043, 13, 1678, 15043}));
    StringBuilder failures = new StringBuilder();
    cases.forEach((text, expected) -> {
      int[] actual = llama2.encode(text, true, false);
      if (!Arrays.equals(expected, actual)) {
        failures.append('\n').append(escape(text)).append(": expected ").append(Arrays.toString(expected))
            .append(" got ").append(Arrays.toString(actual));
      }
    });
    assertEquals("", failures.toString());
  }

  @Test
  void falls_back_to_byte_tokens_for_characters_outside_the_vocabulary() {
    // 🚀 = F0 9F 9A 80; byte token <0xXX> has id XX + 3 in the Llama vocabulary.
    assertArrayEquals(new int[] {29871, 0xF0 + 3, 0x9F + 3, 0x9A + 3, 0x80 + 3}, llama2.encode("🚀", false, false));
  }

  @Test
  void adds_bos_only_when_asked_and_no_eos_by_default() {
    assertArrayEquals(new int[] {15043, 3186}, llama2.encode("Hello world", false, false));
    assertArrayEquals(new int[] {1}, llama2.encode("", true, false));
    assertArrayEquals(new int[] {}, llama2.encode("", false, false));
  }

  @Test
  void splits_control_tokens_out_of_the_text_only_when_parsing_specials() {
    int[] parsed = llama2.encode("Hello</s>world", false, true);
    assertArrayEquals(new int[] {15043, 2, 3186}, parsed,
        "after a special token the text gets the SentencePiece space prefix again (▁world)");
    int[] plain = llama2.encode("Hello</s>world", false, false);
    assertFalse(Arrays.stream(plain).anyMatch(t -> t == 2), "</s> written in text stays text: " + Arrays.toString(plain));
  }

  @Test
  void decodes_with_llama_cpp_leading_space_rule() {
    assertEquals("Hello world", llama2.decode(new int[] {15043, 3186}));
    assertEquals(" Hello world", llama2.decode(new int[] {1, 15043, 3186}), "a first BOS keeps the space after it");
    assertEquals(" Hello world", llama2.decode(new int[] {1, 15043, 3186}, true, false));
    assertEquals("<s> Hello world</s>", llama2.decode(new int[] {1, 15043, 3186, 2}, false, true));
    assertEquals("🚀", llama2.decode(new int[] {0xF0 + 3, 0x9F + 3, 0x9A + 3, 0x80 + 3}));
  }

  @Test
  void round_trips_a_multilingual_text_set() {
    for (String text : TextSamples.MULTILINGUAL) {
      int[] tokens = llama2.encode(text, true, false);
      assertEquals(text, llama2.decode(tokens, true, false).substring(1), "round trip of " + escape(text)
          + " via " + Arrays.toString(tokens));
      int[] bare = llama2.encode(text, false, false);
      assertEquals(text, llama2.decode(bare), "round trip without BOS of " + escape(text));
    }
  }

  @Test
  void knows_the_end_of_generation_tokens() {
    assertTrue(llama2.isEndOfGeneration(2));
    assertFalse(llama2.isEndOfGeneration(1));
    assertFalse(llama2.isEndOfGeneration(15043));
    assertEquals(TokenType.BYTE, llama2.vocabulary().type(3));
    assertEquals(List.of(TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL),
        List.of(llama2.vocabulary().type(0), llama2.vocabulary().type(1), llama2.vocabulary().type(2)));
  }

  static String escape(String text) {
    return "\"" + text.replace("\n", "\\n").replace("\t", "\\t") + "\"";
  }
}
