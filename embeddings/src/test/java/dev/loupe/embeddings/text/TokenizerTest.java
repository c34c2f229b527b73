package dev.loupe.embeddings.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.TestData;
import dev.loupe.embeddings.VocabWordPiece;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real CLIP and MiniLM tokenizers from ../shared/testdata, through DJL. */
class TokenizerTest {
  private static final long SOT = 49406, EOT = 49407;

  @TempDir
  Path tmp;

  private static Tokenizer clip() throws Exception {
    return Tokenizer.load(TestData.shared("tokenizers/clip-vit-b32/tokenizer.json"), 77, Tokenizer.Padding.FIXED);
  }

  private static Tokenizer miniLm(int context) throws Exception {
    return Tokenizer.load(TestData.shared("tokenizers/all-MiniLM-L6-v2/tokenizer.json"), context, Tokenizer.Padding.LONGEST);
  }

  @Test
  void clip_encodes_a_photo_of_a_cat_as_the_reference_ids_padded_with_end_of_text_to_77() throws Exception {
    try (Tokenizer t = clip()) {
      TokenBatch b = t.encode(List.of("a photo of a cat"));
      assertEquals(1, b.rows());
      assertEquals(77, b.length());
      long[] expected = new long[77];
      Arrays.fill(expected, EOT);
      System.arraycopy(new long[] {SOT, 320, 1125, 539, 320, 2368, EOT}, 0, expected, 0, 7);
      assertArrayEquals(expected, b.inputIds());
      long[] mask = new long[77];
      Arrays.fill(mask, 0, 7, 1);
      assertArrayEquals(mask, b.attentionMask());
      assertArrayEquals(new long[77], b.tokenTypeIds());
      assertEquals(7, b.tokenCounts()[0]);
      assertEquals(EOT, t.padId());
    }
  }

  @Test
  void clip_ids_agree_with_vocab_json_for_whole_words() throws Exception {
    JsonNode vocab = new ObjectMapper().readTree(TestData.shared("tokenizers/clip-vit-b32/vocab.json").toFile());
    String text = "a diagram of the solar system";
    try (Tokenizer t = clip()) {
      long[] ids = t.encode(List.of(text)).ids(0);
      String[] words = text.split(" ");
      assertEquals(words.length + 2, ids.length);
      assertEquals(vocab.get("<|startoftext|>").asLong(), ids[0]);
      for (int i = 0; i < words.length; i++) {
        assertEquals(vocab.get(words[i] + "</w>").asLong(), ids[i + 1], words[i]);
      }
      assertEquals(vocab.get("<|endoftext|>").asLong(), ids[ids.length - 1]);
    }
  }

  @Test
  void clip_truncates_at_77_and_keeps_end_of_text_last() throws Exception {
    try (Tokenizer t = clip()) {
      TokenBatch b = t.encode(List.of("a ".repeat(200), "short"));
      assertEquals(77, b.length());
      long[] first = Arrays.copyOfRange(b.inputIds(), 0, 77);
      assertEquals(SOT, first[0]);
      assertEquals(EOT, first[76]);
      for (int i = 1; i < 76; i++) {
        assertEquals(320, first[i], "token " + i);
      }
      assertEquals(77, b.tokenCounts()[0]);
      assertTrue(LongStream.of(Arrays.copyOfRange(b.attentionMask(), 0, 77)).allMatch(m -> m == 1));
      assertEquals(3, b.tokenCounts()[1]);
    }
  }

  @Test
  void text_far_over_the_context_is_truncated_not_rejected() throws Exception {
    try (Tokenizer t = clip()) {
      TokenBatch b = t.encode(List.of("lorem ipsum dolor sit amet ".repeat(40_000)));
      assertEquals(77, b.tokenCounts()[0]);
      assertEquals(EOT, b.inputIds()[76]);
    }
  }

  @Test
  void the_pad_id_comes_from_the_tokenizer_when_no_config_lies_beside_it() throws Exception {
    // An installed model holds tokenizer.json only; CLIP's has no padding section, and Hugging
    // Face's CLIPTokenizer pads with <|endoftext|>.
    Path alone = tmp.resolve("tokenizer.json");
    Files.copy(TestData.shared("tokenizers/clip-vit-b32/tokenizer.json"), alone);
    try (Tokenizer t = Tokenizer.load(alone, 77, Tokenizer.Padding.FIXED)) {
      assertEquals(EOT, t.padId());
    }
  }

  @Test
  void minilm_ids_are_the_line_numbers_of_vocab_txt() throws Exception {
    VocabWordPiece vocab = new VocabWordPiece(TestData.shared("tokenizers/all-MiniLM-L6-v2/vocab.txt"));
    List<String> texts = List.of("The quick brown fox jumps over the lazy dog.", "unaffable", "Hello, world!",
        "Search engines rank passages; embeddings (384-d) make that semantic.");
    try (Tokenizer t = miniLm(256)) {
      assertEquals(0, t.padId());
      TokenBatch b = t.encode(texts);
      for (int i = 0; i < texts.size(); i++) {
        assertArrayEquals(vocab.encode(texts.get(i)), b.ids(i), texts.get(i));
      }
      // unaffable is split into pieces, which the oracle finds by longest match in the vocabulary.
      assertArrayEquals(new long[] {101, vocab.id("una"), vocab.id("##ffa"), vocab.id("##ble"), 102}, b.ids(1));
    }
  }

  @Test
  void minilm_pads_to_the_longest_text_of_the_batch_with_a_zero_mask() throws Exception {
    try (Tokenizer t = miniLm(256)) {
      TokenBatch b = t.encode(List.of("a much longer sentence than the other one", "short"));
      int longest = b.tokenCounts()[0];
      assertEquals(longest, b.length());
      assertEquals(3, b.tokenCounts()[1]);
      long[] second = Arrays.copyOfRange(b.inputIds(), longest, 2 * longest);
      long[] secondMask = Arrays.copyOfRange(b.attentionMask(), longest, 2 * longest);
      for (int i = 3; i < longest; i++) {
        assertEquals(0, second[i], "padding id at " + i);
        assertEquals(0, secondMask[i], "mask at " + i);
      }
      assertEquals(102, second[2]);
    }
  }

  @Test
  void minilm_ignores_the_fixed_128_padding_stored_in_its_tokenizer_json_and_truncates_at_the_context() throws Exception {
    try (Tokenizer t = miniLm(16)) {
      TokenBatch b = t.encode(List.of("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"));
      assertEquals(16, b.length());
      assertEquals(102, b.inputIds()[15]);
      TokenBatch shortOne = t.encode(List.of("one"));
      assertEquals(3, shortOne.length());
    }
  }

  @Test
  void a_context_over_512_is_honoured() throws Exception {
    try (Tokenizer t = miniLm(1000)) {
      assertEquals(1000, t.encode(List.of("word ".repeat(5000))).tokenCounts()[0]);
    }
  }

  @Test
  void empty_and_blank_texts_are_rejected_naming_their_position() throws Exception {
    try (Tokenizer t = clip()) {
      var e = assertThrows(IllegalArgumentException.class, () -> t.encode(List.of("fine", "")));
      assertEquals("input 1 is empty text; there is nothing to embed", e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> t.encode(List.of(" \n\t", "fine"), i -> i + 10));
      assertEquals("input 10 is blank text (only whitespace); there is nothing to embed", e.getMessage());
    }
  }

  @Test
  void text_that_leaves_only_special_tokens_is_rejected_naming_its_position() throws Exception {
    try (Tokenizer t = miniLm(64)) {
      // BERT's normalizer drops control and zero-width characters, leaving [CLS] [SEP].
      var e = assertThrows(IllegalArgumentException.class, () -> t.encode(List.of("ok", "\u200b\u0000")));
      assertTrue(e.getMessage().startsWith("input 1 ('\\u200b\\u0000') has no token besides the special ones"), e.getMessage());
    }
  }

  @Test
  void a_missing_file_and_a_closed_tokenizer_say_so() throws Exception {
    var missing = assertThrows(NoSuchFileException.class,
        () -> Tokenizer.load(tmp.resolve("absent.json"), 77, Tokenizer.Padding.FIXED));
    assertTrue(missing.getMessage().contains("absent.json"), missing.getMessage());

    Path broken = tmp.resolve("broken.json");
    Files.writeString(broken, "{\"model\": 3}");
    var bad = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(broken, 77, Tokenizer.Padding.FIXED));
    assertTrue(bad.getMessage().contains("broken.json"), bad.getMessage());

    Tokenizer t = clip();
    t.close();
    t.close();
    var closed = assertThrows(IllegalStateException.class, () -> t.encode(List.of("late")));
    assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
  }

  @Test
  void count_gives_the_tokens_without_special_ones_and_without_truncation() throws Exception {
    try (Tokenizer t = miniLm(16); Tokenizer c = clip()) {
      assertEquals(5, t.count("a photo of a cat"));
      assertEquals(5, c.count("a photo of a cat"));
      assertEquals(0, t.count(""));
      assertEquals(0, t.count(" \n\t"));
      // Far past the context of 16: WordPiece splits on whitespace, so words count apart.
      String[] words = "Internationalization of the tokenizer's vocabulary, naïvely: 今天天气很好 🙂 supercalifragilistic".split(" ");
      StringBuilder text = new StringBuilder();
      int sum = 0;
      for (int i = 0; i < 60; i++) {
        String w = words[i % words.length];
        text.append(w).append(' ');
        sum += t.count(w);
      }
      assertEquals(sum, t.count(text.toString()));
      assertTrue(sum > 16 * 4, sum + " tokens");
      assertEquals(t.encode(List.of("a photo of a cat")).tokenCounts()[0] - 2, t.count("a photo of a cat"));
      int[] each = t.count(List.of("a photo of a cat", "", text.toString()));
      assertArrayEquals(new int[] {5, 0, sum}, each);
      assertArrayEquals(new int[0], t.count(List.of()));
      t.close();
      var closed = assertThrows(IllegalStateException.class, () -> t.count("late"));
      assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }
  }

  @Test
  void batches_are_encoded_on_the_calling_thread_because_the_library_is_told_not_to_start_its_pool() {
    String before = System.getenv("TOKENIZERS_PARALLELISM"); // the JVM's copy, taken at start-up
    Tokenizer.class.getName(); // class initialization sets it
    org.junit.jupiter.api.Assumptions.assumeTrue(Tokenizer.nativeEnv("PATH") != null, "skipped: no native access to the environment");
    assertEquals(before == null ? "false" : before, Tokenizer.nativeEnv("TOKENIZERS_PARALLELISM"),
        "set where the library reads it, unless the user set it");
    assertEquals(false, Tokenizer.setNativeEnvIfAbsent("NAME=WITH=EQUALS", "x"), "setenv refuses a name with '='");
  }
}
