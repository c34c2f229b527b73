package dev.loupe.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * SentencePiece-style tokenization ({@code tokenizer.ggml.model = "llama"}) as llama.cpp's {@code llm_tokenizer_spm}:
 * spaces become '▁' (U+2581), a '▁' is put in front of text at the start and after a special token when
 * {@code add_space_prefix} (the default), then adjacent symbols are merged, best score first and left-most among
 * equals, while the merged text is a token; what is left that is no token falls back to {@code <0xXX>} byte tokens.
 *
 * <p>Immutable and safe to share between threads.
 */
final class SentencePieceTokenizer extends VocabularyTokenizer {
  static final char SPACE = '\u2581';

  SentencePieceTokenizer(Vocabulary vocab) {
    super(vocab);
  }

  @Override
  void encodeText(String raw, boolean afterSpecial, IntList out) {
    String text = vocab.addSpacePrefix() && afterSpecial ? " " + raw : raw;
    text = text.replace(' ', SPACE);
    new Session(text).tokenize(out);
  }

  @Override
  void normalPiece(String text, ByteArrayOutputStream out) {
    out.writeBytes(text.replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8));
  }

  /** A pair of adjacent symbols whose concatenation is a token. */
  private record Bigram(int left, int right, float score, int size) {}

  /** The symbol list and work queue of one text; positions and lengths in UTF-16 units. */
  private final class Session {
    private final String text;
    private final int[] start;
    private final int[] length;
    private final int[] prev;
    private final int[] next;
    // Highest score first; among equal scores the left-most pair (llama.cpp's llm_bigram_spm::comparator).
    private final PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> {
      int byScore = Float.compare(b.score(), a.score());
      return byScore != 0 ? byScore : Integer.compare(a.left(), b.left());
    });

    Session(String text) {
      this.text = text;
      int n = text.codePointCount(0, text.length());
      start = new int[n];
      length = new int[n];
      prev = new int[n];
      next = new int[n];
      int offset = 0;
      for (int i = 0; i < n; i++) {
        int chars = Character.charCount(text.codePointAt(offset));
        start[i] = offset;
        length[i] = chars;
        offset += chars;
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
      }
    }

    void tokenize(IntList out) {
      int n = start.length;
      if (n == 0) {
        return;
      }
      for (int i = 1; i < n; i++) {
        tryAddBigram(i - 1, i);
      }
      while (!queue.isEmpty()) {
        Bigram bigram = queue.poll();
        int left = bigram.left();
        int right = bigram.right();
        // Skip pairs whose symbols have changed since the pair was queued.
        if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != bigram.size()) {
          continue;
        }
        length[left] += length[right];
        length[right] = 0;
        next[left] = next[right];
        if (next[right] >= 0) {
          prev[next[right]] = left;
        }
        tryAddBigram(prev[left], left);
        tryAddBigram(left, next[left]);
      }
      for (int i = 0; i != -1; i = next[i]) {
        resegment(i, out);
      }
    }

    private void tryAddBigram(int left, int right) {
      if (left == -1 || right == -1) {
        return;
      }
      int size = length[left] + length[right];
      int token = vocab.id(text.substring(start[left], start[left] + size));
      if (token == Vocabulary.NONE) {
        return;
      }
      queue.add(new Bigram(left, right, vocab.score(token), size));
    }

    private void resegment(int symbol, IntList out) {
      String piece = text.substring(start[symbol], start[symbol] + length[symbol]);
      int token = vocab.id(piece);
      if (token != Vocabulary.NONE) {
        out.add(token);
        return;
      }
      // Every merged symbol is a token, so only a single character that is none gets here: emit its bytes.
      for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
        out.add(byteToken(b & 0xFF));
      }
    }
  }

  /** The {@code <0xXX>} token of a byte, else the one-character token, else unk (llama.cpp would abort). */
  private int byteToken(int b) {
    int token = vocab.id(String.format("<0x%02X>", b));
    if (token == Vocabulary.NONE && b < 0x80) {
      token = vocab.id(String.valueOf((char) b));
    }
    if (token == Vocabulary.NONE) {
      token = vocab.unk();
    }
    if (token == Vocabulary.NONE) {
      throw new IllegalStateException(String.format("the vocabulary has no token for byte 0x%02X and no unknown token", b));
    }
    return token;
  }
}
