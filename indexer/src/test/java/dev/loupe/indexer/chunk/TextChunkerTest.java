package dev.loupe.indexer.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.text.Tokenizer;
import dev.loupe.indexer.TestData;
import dev.loupe.indexer.extract.Extracted;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Chunks: exact offsets, budgets, overlap and preferred boundaries, on real and generated text. */
class TextChunkerTest {
  static final long SEED = 20260522;
  static final TokenCounter APPROX = TokenCounter.approximate();

  /**
   * Checks what every chunking must satisfy: verbatim spans at the right offsets, trimmed, within
   * budget, covering every non-blank character, moving forward, not splitting grapheme clusters,
   * and splitting inside a word only when that word alone is over the budget.
   */
  static void checkInvariants(TextChunker chunker, TokenCounter counter, Extracted.Text part, List<Chunk> chunks, String context) {
    String text = part.text();
    BitSet covered = new BitSet(text.length());
    BreakIterator graphemes = BreakIterator.getCharacterInstance(Locale.ROOT);
    graphemes.setText(text);
    Chunk previous = null;
    for (Chunk c : chunks) {
      String where = context + ": chunk [" + c.start() + ", " + c.end() + ")";
      int s = (int) (c.start() - part.offset()), e = (int) (c.end() - part.offset());
      assertEquals(c.text(), text.substring(s, e), where);
      assertEquals(part.page(), c.page(), where);
      assertEquals(c.text().strip(), c.text(), where + " is not trimmed");
      assertTrue(graphemes.isBoundary(s) && graphemes.isBoundary(e), where + " splits a grapheme cluster");
      int tokens = counter.count(c.text());
      assertEquals(tokens, c.tokens(), where);
      graphemes.following(s);
      boolean oneGrapheme = graphemes.current() == e;
      assertTrue(tokens <= chunker.maxTokens() || oneGrapheme, where + " has " + tokens + " tokens, over " + chunker.maxTokens());
      for (int[] edge : new int[][] {{s, -1}, {e, 0}}) {
        int at = edge[0];
        boolean inWord = at > 0 && at < text.length() && !Character.isWhitespace(text.codePointBefore(at))
            && !Character.isWhitespace(text.codePointAt(at));
        if (inWord && !isSentenceBoundary(text, at)) {
          assertTrue(counter.count(runAround(text, at)) > chunker.maxTokens(), where + " cuts the word '" + runAround(text, at)
              + "' at " + at + ", which fits in a chunk");
        }
      }
      covered.set(s, e);
      if (previous != null && previous.page() == c.page()) {
        assertTrue(c.start() > previous.start() && c.end() > previous.end(), where + " does not move past " + previous);
      }
      previous = c;
    }
    for (int k = 0; k < text.length(); k++) {
      if (!Character.isWhitespace(text.charAt(k))) {
        assertTrue(covered.get(k), context + ": character " + k + " ('" + text.charAt(k) + "') is in no chunk");
      }
    }
  }

  static boolean isSentenceBoundary(String text, int at) {
    BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
    sentences.setText(text);
    return sentences.isBoundary(at);
  }

  /** The run of non-whitespace around {@code at}. */
  static String runAround(String text, int at) {
    int s = at, e = at;
    while (s > 0 && !Character.isWhitespace(text.charAt(s - 1))) s--;
    while (e < text.length() && !Character.isWhitespace(text.charAt(e))) e++;
    return text.substring(s, e);
  }

  static List<Chunk> chunkAndCheck(TextChunker chunker, TokenCounter counter, Extracted.Text part, String context) {
    List<Chunk> chunks = chunker.chunk(part);
    checkInvariants(chunker, counter, part, chunks, context);
    return chunks;
  }

  static String words(int n, String word) {
    return String.join(" ", java.util.Collections.nCopies(n, word));
  }

  // ---- real text ----------------------------------------------------------------------------------

  static List<Path> samplePdfTexts() throws IOException {
    Path dir = TestData.shared("pdfs");
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".pdf.txt")).sorted().toList();
    }
  }

  @Test
  void offsets_round_trip_on_the_sample_pdfs_expected_text_split_into_pages() throws IOException {
    for (Path file : samplePdfTexts()) {
      String text = Files.readString(file);
      // Pages at line breaks, about 1500 characters each, with their offsets in the whole text.
      List<Extracted.Text> pages = new ArrayList<>();
      int from = 0, page = 1;
      while (from < text.length()) {
        int to = Math.min(text.length(), from + 1500);
        int newline = text.indexOf('\n', to);
        to = newline < 0 ? text.length() : newline + 1;
        pages.add(new Extracted.Text(text.substring(from, to), page++, from));
        from = to;
      }
      for (TextChunker chunker : List.of(TextChunker.withDefaults(), new TextChunker(40, 10, APPROX), new TextChunker(7, 3, APPROX))) {
        List<Chunk> all = chunker.chunk(pages);
        for (Extracted.Text p : pages) {
          List<Chunk> onPage = all.stream().filter(c -> c.page() == p.page()).toList();
          checkInvariants(chunker, APPROX, p, onPage, file.getFileName() + " page " + p.page() + " max " + chunker.maxTokens());
        }
        for (Chunk c : all) {
          assertEquals(c.text(), text.substring((int) c.start(), (int) c.end()), "offsets into the whole document");
        }
        assertFalse(all.isEmpty(), file.toString());
      }
    }
  }

  @Test
  void the_real_minilm_tokenizer_counts_and_no_chunk_exceeds_its_budget() throws IOException {
    Path json = TestData.shared("tokenizers/all-MiniLM-L6-v2/tokenizer.json");
    try (Tokenizer tokenizer = Tokenizer.load(json, 256, Tokenizer.Padding.LONGEST)) {
      TokenCounter real = TokenCounter.of(tokenizer);
      TextChunker chunker = new TextChunker(64, 16, real);
      for (Path file : samplePdfTexts()) {
        String text = Files.readString(file);
        List<Chunk> chunks = chunkAndCheck(chunker, real, new Extracted.Text(text, 1, 0), file.getFileName().toString());
        if (text.length() > 1000) {
          assertTrue(chunks.size() > 3, chunks.size() + " chunks");
          assertTrue(chunks.stream().mapToInt(Chunk::tokens).max().orElseThrow() > 40, "chunks are filled");
        }
      }
      String generated = generated(new SplittableRandom(SEED), 3000);
      chunkAndCheck(chunker, real, new Extracted.Text(generated, 0, 0), "generated, seed " + SEED);

      TextChunker fitted = TextChunker.forTokenizer(tokenizer, 300, 50);
      assertEquals(254, fitted.maxTokens(), "256 tokens less [CLS] and [SEP]");
      assertEquals(50, fitted.overlapTokens());
      for (Chunk c : chunkAndCheck(fitted, real, new Extracted.Text(generated, 0, 0), "fitted")) {
        assertTrue(tokenizer.count(c.text()) + 2 <= 256, "the model reads the whole chunk");
      }
    }
  }

  // ---- generated text -----------------------------------------------------------------------------

  /** Paragraphs of sentences of words of random lengths, some Unicode, CRLF and long words. */
  static String generated(SplittableRandom r, int words) {
    return generated(r, words, true);
  }

  static String generated(SplittableRandom r, int words, boolean longWords) {
    String[] vocabulary = {"the", "index", "passage", "retrieval", "a", "of", "Überprüfung", "naïve", "e\u0301te\u0301",
        "文件", "🙂", "👩‍👩‍👧", "🇫🇷", "3.14", "co-operate", "state-of-the-art", "x"};
    StringBuilder sb = new StringBuilder();
    int sentence = 0;
    for (int w = 0; w < words; w++) {
      if (sentence == 0) {
        sb.append(Character.toUpperCase('a' + r.nextInt(26)));
      }
      if (longWords && r.nextInt(200) == 0) {
        sb.append("https://example.org/").append("a1b2c3d4".repeat(10 + r.nextInt(60))); // a long word
      } else {
        sb.append(vocabulary[r.nextInt(vocabulary.length)]);
      }
      sentence++;
      if (sentence > 3 && r.nextInt(8) == 0) {
        sb.append(r.nextBoolean() ? "." : "?");
        sentence = 0;
        int breakKind = r.nextInt(10);
        sb.append(breakKind == 0 ? "\n\n" : breakKind == 1 ? "\r\n\r\n" : breakKind == 2 ? "\n" : " ");
      } else {
        sb.append(r.nextInt(15) == 0 ? "\n" : r.nextInt(30) == 0 ? "  \t" : " ");
      }
    }
    return sb.toString();
  }

  @Test
  void generated_texts_keep_every_invariant_at_several_budgets() {
    for (int round = 0; round < 12; round++) {
      long seed = SEED + round;
      SplittableRandom r = new SplittableRandom(seed);
      String text = generated(r, 200 + r.nextInt(2500));
      int max = List.of(5, 12, 40, 120, 300).get(round % 5);
      int overlap = r.nextInt(max / 2 + 1);
      TextChunker chunker = new TextChunker(max, overlap, APPROX);
      long offset = r.nextInt(100_000);
      List<Chunk> chunks = chunkAndCheck(chunker, APPROX, new Extracted.Text(text, 3, offset),
          "seed " + seed + " max " + max + " overlap " + overlap);
      assertFalse(chunks.isEmpty());
    }
  }

  @Test
  void consecutive_chunks_overlap_by_about_the_overlap() {
    String text = generated(new SplittableRandom(SEED), 4000, false);
    TextChunker chunker = new TextChunker(100, 30, APPROX);
    List<Chunk> chunks = chunker.chunk(new Extracted.Text(text, 0, 0));
    assertTrue(chunks.size() > 10);
    int overlapping = 0;
    for (int k = 1; k < chunks.size(); k++) {
      Chunk a = chunks.get(k - 1), b = chunks.get(k);
      if (b.start() < a.end()) {
        overlapping++;
        int repeated = APPROX.count(text.substring((int) b.start(), (int) a.end()));
        assertTrue(repeated <= 30, "chunk " + k + " repeats " + repeated + " tokens, over the overlap of 30");
        assertTrue(repeated >= 1, "chunk " + k);
      }
    }
    // Words are short: there is always room for the overlap.
    assertEquals(chunks.size() - 1, overlapping, "chunks that overlap the one before");

    List<Chunk> none = new TextChunker(100, 0, APPROX).chunk(new Extracted.Text(text, 0, 0));
    for (int k = 1; k < none.size(); k++) {
      assertTrue(none.get(k).start() >= none.get(k - 1).end(), "no overlap asked, chunk " + k);
    }
  }

  @Test
  void a_paragraph_break_is_preferred_to_filling_the_budget() {
    // Two paragraphs of 200 one-token words: the first chunk ends with the first paragraph.
    String first = words(199, "word") + ".";
    String text = first + "\n\n" + words(199, "next") + ".";
    List<Chunk> chunks = new TextChunker(300, 50, APPROX).chunk(new Extracted.Text(text, 1, 0));
    assertEquals(first, chunks.get(0).text());
    assertTrue(chunks.get(1).text().endsWith("next."));
    assertEquals(2, chunks.size());
  }

  @Test
  void a_sentence_end_is_preferred_to_a_word_break() {
    // Sentences of 30 one-token words; a 100-token budget ends each chunk at a sentence end.
    String sentence = "Word " + words(28, "word") + ".";
    String text = String.join(" ", java.util.Collections.nCopies(10, sentence));
    TextChunker chunker = new TextChunker(100, 0, APPROX);
    List<Chunk> chunks = chunkAndCheck(chunker, APPROX, new Extracted.Text(text, 0, 0), "sentences");
    assertEquals(List.of(90, 90, 90, 30), chunks.stream().map(Chunk::tokens).toList(), "three 30-token sentences a chunk");
    for (Chunk c : chunks) {
      assertTrue(c.text().startsWith("Word ") && c.text().endsWith("word."), "'" + c.text() + "'");
    }
    // With an overlap, the next chunk starts at the last sentence when that keeps half of it.
    List<Chunk> overlapping = new TextChunker(100, 40, APPROX).chunk(new Extracted.Text(text, 0, 0));
    assertTrue(overlapping.get(1).text().startsWith("Word word"), overlapping.get(1).text());
    assertEquals(sentence.length(), overlapping.get(0).end() - overlapping.get(1).start(), "one sentence repeated");
  }

  @Test
  void a_line_break_is_preferred_to_a_space_inside_a_sentence() {
    // One long sentence laid out in lines of 10 words, as PDF text comes.
    StringBuilder sb = new StringBuilder();
    for (int line = 0; line < 20; line++) {
      sb.append(words(10, "w" + line)).append(line == 19 ? "." : "\n");
    }
    List<Chunk> chunks = new TextChunker(35, 0, APPROX).chunk(new Extracted.Text(sb.toString(), 0, 0));
    for (Chunk c : chunks.subList(0, chunks.size() - 1)) {
      assertEquals('\n', sb.charAt((int) c.end()), "chunk ends at a line end: '" + c.text() + "'");
    }
  }

  @Test
  void empty_and_blank_text_make_no_chunks() {
    TextChunker chunker = TextChunker.withDefaults();
    assertEquals(List.of(), chunker.chunk(new Extracted.Text("", 1, 0)));
    assertEquals(List.of(), chunker.chunk(new Extracted.Text(" \n\r\n\t\u2029\u3000 ", 1, 5)));
    assertEquals(List.of(), chunker.chunk(List.of()));
  }

  @Test
  void a_short_text_is_one_chunk_with_its_exact_span() {
    String text = "\n  Hello, world.  \n";
    List<Chunk> chunks = TextChunker.withDefaults().chunk(new Extracted.Text(text, 2, 1000));
    assertEquals(List.of(new Chunk("Hello, world.", 2, 1003, 1016, APPROX.count("Hello, world."))), chunks);
  }

  @Test
  void an_over_long_word_is_split_between_grapheme_clusters_within_the_budget() {
    String word = "ab\u0301👩‍👩‍👧".repeat(400); // combining marks and an emoji family, no spaces
    String text = "Start " + word + " end.";
    TextChunker chunker = new TextChunker(50, 10, APPROX);
    List<Chunk> chunks = chunkAndCheck(chunker, APPROX, new Extracted.Text(text, 0, 0), "long word");
    assertTrue(chunks.size() > 20, chunks.size() + " chunks");
    assertTrue(chunks.stream().allMatch(c -> c.tokens() <= 50));
  }

  @Test
  void chinese_without_spaces_is_cut_at_sentence_ends_and_offsets_stay_exact() {
    SplittableRandom r = new SplittableRandom(SEED);
    String han = "今天天气很好我们去公园吧的了是在有人这中大为上个国以要他时来用们生到作地";
    StringBuilder sb = new StringBuilder();
    for (int s = 0; s < 60; s++) {
      for (int k = 5 + r.nextInt(25); k > 0; k--) {
        sb.append(han.charAt(r.nextInt(han.length())));
      }
      sb.append(r.nextInt(5) == 0 ? "😀。" : "。");
      if (r.nextInt(10) == 0) {
        sb.append("\n\n");
      }
    }
    String text = sb.toString();
    TextChunker chunker = new TextChunker(80, 20, APPROX);
    List<Chunk> chunks = chunkAndCheck(chunker, APPROX, new Extracted.Text(text, 4, 77), "chinese");
    for (Chunk c : chunks.subList(0, chunks.size() - 1)) {
      assertTrue(c.text().endsWith("。"), "ends at a sentence end: " + c.text());
    }
  }

  @Test
  void surrogate_pairs_and_combining_marks_before_a_chunk_keep_offsets_exact() {
    String text = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 e\u0301e\u0301 🇫🇷🇫🇷 " + words(50, "mot") + " 👩‍👩‍👧 fin.";
    TextChunker chunker = new TextChunker(10, 3, APPROX);
    List<Chunk> chunks = chunkAndCheck(chunker, APPROX, new Extracted.Text(text, 1, 12), "unicode");
    assertTrue(chunks.getLast().text().endsWith("👩‍👩‍👧 fin."), chunks.getLast().text());
  }

  @Test
  void chunks_never_span_two_pages_and_keep_their_page() {
    List<Extracted.Text> pages = List.of(
        new Extracted.Text(words(30, "one") + ".", 1, 0),
        new Extracted.Text(words(30, "two") + ".", 2, 200),
        new Extracted.Text("", 3, 400),
        new Extracted.Text("three", 4, 400));
    List<Chunk> chunks = new TextChunker(1000, 0, APPROX).chunk(pages);
    assertEquals(3, chunks.size());
    assertEquals(List.of(1, 2, 4), chunks.stream().map(Chunk::page).toList());
    assertEquals(200, chunks.get(1).start());
  }

  @Test
  void settings_are_validated_naming_the_value() {
    var size = assertThrows(IllegalArgumentException.class, () -> new TextChunker(0, 0, APPROX));
    assertTrue(size.getMessage().contains("chunk size of 0 tokens"), size.getMessage());
    var overlap = assertThrows(IllegalArgumentException.class, () -> new TextChunker(100, 51, APPROX));
    assertTrue(overlap.getMessage().contains("overlap of 51 tokens is outside [0, 50]"), overlap.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new TextChunker(100, -1, APPROX));
    assertThrows(NullPointerException.class, () -> new TextChunker(100, 10, null));
    new TextChunker(1, 0, APPROX);
  }

  @Test
  void the_approximate_counter_counts_words_by_length_ideographs_and_symbols() {
    assertEquals(0, APPROX.count(""));
    assertEquals(0, APPROX.count(" \n\t"));
    assertEquals(1, APPROX.count("cat"));
    assertEquals(2, APPROX.count("photo"));
    assertEquals(5, APPROX.count("internationalization"));
    assertEquals(1, APPROX.count("e\u0301te\u0301"), "combining marks belong to their letter");
    assertEquals(4, APPROX.count("今天天气"));
    assertEquals(3, APPROX.count("cat, 🙂"));
    assertEquals(APPROX.count("a photo") + APPROX.count("of a cat"), APPROX.count("a photo of a cat"), "adds up over whitespace");
  }
}
