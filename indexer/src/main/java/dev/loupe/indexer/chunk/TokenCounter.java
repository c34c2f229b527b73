package dev.loupe.indexer.chunk;

import dev.loupe.embeddings.text.Tokenizer;
import java.util.List;
import java.util.Objects;

/**
 * Counts the tokens a text makes for the model its chunks are embedded with, special tokens
 * excluded. Implementations must be thread-safe; {@link TextChunker} calls them from whatever
 * thread chunks.
 */
@FunctionalInterface
public interface TokenCounter {

  /** The tokens {@code text} makes; 0 for empty or blank text. */
  int count(String text);

  /** {@link #count} of each text; implementations backed by a native tokenizer batch the calls. */
  default int[] countEach(List<String> texts) {
    int[] counts = new int[texts.size()];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = count(texts.get(i));
    }
    return counts;
  }

  /**
   * The model's own tokenizer: exact. The tokenizer stays owned by the caller, who must not close
   * it while chunking.
   */
  static TokenCounter of(Tokenizer tokenizer) {
    Objects.requireNonNull(tokenizer, "tokenizer");
    return new TokenCounter() {
      @Override
      public int count(String text) {
        return tokenizer.count(text);
      }

      @Override
      public int[] countEach(List<String> texts) {
        return tokenizer.count(texts);
      }
    };
  }

  /**
   * A cheap estimate for when the model's tokenizer is not at hand: a run of letters and digits
   * (with its combining marks) counts one token per 4 characters, rounded up; a Han, kana or
   * Hangul character counts one; any other character that is not whitespace (punctuation, a
   * symbol, an emoji) counts one. Against all-MiniLM-L6-v2's WordPiece it counts 15% more than the
   * real tokens on English prose and code, exactly as many on Chinese, and up to 15% fewer on
   * German, whose words the English vocabulary splits finely; so leave headroom below the model's
   * context when using it. It adds up over whitespace: a text counts the sum of its words.
   */
  static TokenCounter approximate() {
    return ApproximateTokenCounter.INSTANCE;
  }
}
