package dev.loupe.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * GPT-2 byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}) as llama.cpp's {@code llm_tokenizer_bpe}: the text is
 * split into words by the vocabulary's {@link PreTokenizer}, each word's UTF-8 bytes are written as GPT-2's
 * printable byte characters, and adjacent symbols are merged lowest merge rank first (left-most among equals).
 *
 * <p>Immutable and safe to share between threads.
 */
final class BytePairTokenizer extends VocabularyTokenizer {

  BytePairTokenizer(Vocabulary vocab) {
    super(vocab);
  }

  @Override
  void encodeText(String raw, boolean afterSpecial, IntList out) {
    for (String word : vocab.preTokenizer().split(raw)) {
      encodeWord(Unicode.byteEncode(word), out);
    }
  }

  @Override
  void normalPiece(String text, ByteArrayOutputStream out) {
    Unicode.byteDecode(text, out);
  }

  private record Bigram(int left, int right, String text, int rank) {}

  private void encodeWord(String word, IntList out) {
    if (vocab.ignoreMerges()) {
      int whole = vocab.id(word);
      if (whole != Vocabulary.NONE) {
        out.add(whole);
        return;
      }
    }
    // Byte-encoded words hold only BMP characters, so one char is one symbol.
    int n = word.length();
    int[] start = new int[n];
    int[] length = new int[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      start[i] = i;
      length[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> {
      int byRank = Integer.compare(a.rank(), b.rank());
      return byRank != 0 ? byRank : Integer.compare(a.left(), b.left());
    });
    for (int i = 1; i < n; i++) {
      addBigram(word, start, length, i - 1, i, queue);
    }
    while (!queue.isEmpty()) {
      Bigram bigram = queue.poll();
      int left = bigram.left();
      int right = bigram.right();
      if (length[left] == 0 || length[right] == 0) {
        continue;
      }
      String current = word.substring(start[left], start[left] + length[left])
          + word.substring(start[right], start[right] + length[right]);
      if (!current.equals(bigram.text())) {
        continue; // outdated pair
      }
      length[left] += length[right];
      length[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) {
        prev[next[right]] = left;
      }
      addBigram(word, start, length, prev[left], left, queue);
      addBigram(word, start, length, left, next[left], queue);
    }
    for (int i = 0; i != -1 && n > 0; i = next[i]) {
      if (length[i] == 0) {
        continue;
      }
      String symbol = word.substring(start[i], start[i] + length[i]);
      int token = vocab.id(symbol);
      if (token != Vocabulary.NONE) {
        out.add(token);
        continue;
      }
      // llama.cpp then looks up each UTF-8 byte of the symbol as a token and drops those it cannot find;
      // only ASCII bytes can name a token here.
      for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
        int single = b >= 0 ? vocab.id(String.valueOf((char) b)) : Vocabulary.NONE;
        if (single != Vocabulary.NONE) {
          out.add(single);
        }
      }
    }
  }

  private void addBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
    if (left == -1 || right == -1) {
      return;
    }
    String l = word.substring(start[left], start[left] + length[left]);
    String r = word.substring(start[right], start[right] + length[right]);
    int rank = vocab.mergeRank(l, r);
    if (rank < 0) {
      return;
    }
    queue.add(new Bigram(left, right, l + r, rank));
  }
}
