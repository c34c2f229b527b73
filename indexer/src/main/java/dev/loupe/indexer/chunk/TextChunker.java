package dev.loupe.indexer.chunk;

import dev.loupe.embeddings.text.Tokenizer;
import dev.loupe.indexer.extract.Extracted;
import java.lang.System.Logger.Level;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Cuts a document's text into passages for retrieval: at most {@code maxTokens} tokens each (300
 * by default), each starting with about the last {@code overlapTokens} tokens of the one before
 * (50 by default), so that a sentence cut by a boundary is whole in one of the two.
 *
 * <h2>Where it cuts</h2>
 *
 * The text is read as words (runs of non-whitespace) inside sentences ({@link
 * BreakIterator#getSentenceInstance} with {@link Locale#ROOT}: it ends a sentence after {@code .
 * ! ?} and their CJK forms followed by a space or a capital, so "Mr. Smith" may count as two).
 * A passage is filled word by word up to the budget; it then ends at the strongest boundary among
 * the positions that keep it at least half full: a paragraph break (a blank line, a form feed or
 * U+2029), else a sentence end, else a line break, else a word break. A word is split only when it
 * alone is over the budget (a long URL, a base64 blob, a paragraph of Chinese with no sentence
 * end in sight), between grapheme clusters ({@link BreakIterator#getCharacterInstance}), so an
 * accented letter, a surrogate pair or an emoji sequence stays whole. The overlap starts at a
 * sentence start when one keeps at least half of it, else at a word.
 *
 * <h2>What it keeps</h2>
 *
 * Each {@link Chunk} is the verbatim span of its part's text (trimmed of surrounding whitespace),
 * with its page and its offsets in the document's text, so a viewer can highlight it. Chunks do
 * not span two {@link Extracted.Text} parts: a part is a page (or a section), and a passage that
 * ran over a page break could not name one page to open.
 *
 * <h2>Budget</h2>
 *
 * Every chunk's text counts at most {@code maxTokens} with the {@link TokenCounter}, checked on the
 * whole chunk (tokenizers do not always add up over words), except a single grapheme cluster that
 * alone counts more (only possible with a tiny budget). Words are counted once each per part,
 * in one batch.
 *
 * <p>Immutable and thread-safe if its {@link TokenCounter} is.
 */
public final class TextChunker {
  public static final int DEFAULT_MAX_TOKENS = 300;
  public static final int DEFAULT_OVERLAP_TOKENS = 50;
  /** The cut goes to the strongest boundary that keeps the chunk at least this full. */
  static final double MIN_FILL = 0.5;

  private static final System.Logger LOG = System.getLogger(TextChunker.class.getName());

  // Boundary strengths: what lies before a unit.
  private static final byte INSIDE_WORD = 0, WORD = 1, LINE = 2, SENTENCE = 3, PARAGRAPH = 4;

  private final int maxTokens;
  private final int overlapTokens;
  private final TokenCounter counter;

  /**
   * @param maxTokens tokens per chunk at most, at least 1
   * @param overlapTokens tokens a chunk repeats from the previous one, about; at most half of
   *     {@code maxTokens}
   * @param counter how tokens are counted
   */
  public TextChunker(int maxTokens, int overlapTokens, TokenCounter counter) {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("chunk size of " + maxTokens + " tokens is not positive");
    }
    if (overlapTokens < 0 || overlapTokens > maxTokens / 2) {
      throw new IllegalArgumentException("chunk overlap of " + overlapTokens + " tokens is outside [0, " + maxTokens / 2
          + "], half the chunk size of " + maxTokens + ": more would make each chunk mostly a repeat of the last");
    }
    this.maxTokens = maxTokens;
    this.overlapTokens = overlapTokens;
    this.counter = Objects.requireNonNull(counter, "counter");
  }

  /** 300-token chunks with a 50-token overlap, counted by {@link TokenCounter#approximate()}. */
  public static TextChunker withDefaults() {
    return new TextChunker(DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS, TokenCounter.approximate());
  }

  /**
   * Chunks counted by the passage embedder's own tokenizer, no larger than what its model reads
   * besides its special tokens (all-MiniLM-L6-v2 reads 256 tokens, so 300 becomes 254); the
   * overlap shrinks to half the chunk size if needed. Says so in the log when it shrinks them.
   */
  public static TextChunker forTokenizer(Tokenizer tokenizer, int maxTokens, int overlapTokens) {
    int specials = tokenizer.encode(List.of("a")).tokenCounts()[0] - tokenizer.count("a");
    int fits = tokenizer.contextLength() - specials;
    if (maxTokens > fits) {
      LOG.log(Level.INFO, "text chunks of at most {0} tokens instead of {1}: the model of {2} reads {3} tokens, {4} of them special",
          fits, maxTokens, tokenizer.file(), tokenizer.contextLength(), specials);
      maxTokens = fits;
    }
    return new TextChunker(maxTokens, Math.min(overlapTokens, Math.max(maxTokens, 1) / 2), TokenCounter.of(tokenizer));
  }

  public int maxTokens() {
    return maxTokens;
  }

  public int overlapTokens() {
    return overlapTokens;
  }

  /** The chunks of every part, in order. */
  public List<Chunk> chunk(List<Extracted.Text> parts) {
    List<Chunk> all = new ArrayList<>();
    for (Extracted.Text part : parts) {
      all.addAll(chunk(part));
    }
    return all;
  }

  /** The chunks of one part (a page or a section); none for empty or blank text. */
  public List<Chunk> chunk(Extracted.Text part) {
    String text = part.text();
    Units units = split(words(text), text);
    int n = units.size;
    if (n == 0) {
      return List.of();
    }
    long[] prefix = new long[n + 1];
    for (int u = 0; u < n; u++) {
      prefix[u + 1] = prefix[u] + units.tokens[u];
    }
    List<Chunk> chunks = new ArrayList<>();
    int i = 0, previousEnd = 0;
    while (true) {
      int j = i;
      while (j < n && prefix[j + 1] - prefix[i] <= maxTokens) {
        j++;
      }
      if (j == i) {
        j = i + 1; // one grapheme cluster over the budget: alone
      }
      int c = j < n ? cut(units, prefix, i, Math.max(i, previousEnd), j) : j;
      // The whole chunk is counted: a tokenizer need not add up over words.
      String chunkText;
      int tokens;
      while (true) {
        chunkText = text.substring(units.start[i], units.end[c - 1]);
        tokens = counter.count(chunkText);
        if (tokens <= maxTokens || c - i == 1) {
          break;
        }
        if (c > previousEnd + 1) {
          c--;
        } else {
          i++; // give up overlap rather than progress
        }
      }
      chunks.add(new Chunk(chunkText, part.page(), part.offset() + units.start[i], part.offset() + units.end[c - 1], tokens));
      if (c == n) {
        return chunks;
      }
      i = overlapStart(units, prefix, i, c);
      previousEnd = c;
    }
  }

  /**
   * Where to end a chunk of units from {@code i} that fits up to {@code j}: the strongest boundary
   * in {@code (from, j]} that keeps the chunk {@link #MIN_FILL} full, the last of equals; {@code j}
   * if none does.
   */
  private int cut(Units units, long[] prefix, int i, int from, int j) {
    long minTokens = (long) Math.ceil(MIN_FILL * maxTokens);
    int best = j;
    int bestStrength = -1;
    for (int c = j; c > from; c--) {
      if (prefix[c] - prefix[i] < minTokens) {
        break;
      }
      if (units.strength[c] > bestStrength) {
        best = c;
        bestStrength = units.strength[c];
      }
    }
    return best;
  }

  /** Where the chunk after one of units {@code [i, c)} starts, to repeat about the overlap. */
  private int overlapStart(Units units, long[] prefix, int i, int c) {
    if (overlapTokens == 0) {
      return c;
    }
    int k = c;
    while (k - 1 > i && prefix[c] - prefix[k - 1] <= overlapTokens) {
      k--;
    }
    // Leave room for the next unit, so that the next chunk goes further than this one.
    while (k < c && prefix[c + 1] - prefix[k] > maxTokens) {
      k++;
    }
    for (int s = k; s < c; s++) {
      if (units.strength[s] >= SENTENCE) {
        return 2 * (prefix[c] - prefix[s]) >= overlapTokens ? s : k;
      }
    }
    return k;
  }

  /** Units of text: their spans, the boundary before each, and their tokens. */
  private static final class Units {
    int size;
    int[] start = new int[64];
    int[] end = new int[64];
    byte[] strength = new byte[64];
    int[] tokens = new int[64];

    void add(int s, int e, byte b, int t) {
      if (size == start.length) {
        int capacity = size * 2;
        start = Arrays.copyOf(start, capacity);
        end = Arrays.copyOf(end, capacity);
        strength = Arrays.copyOf(strength, capacity);
        tokens = Arrays.copyOf(tokens, capacity);
      }
      start[size] = s;
      end[size] = e;
      strength[size] = b;
      tokens[size] = t;
      size++;
    }
  }

  /** The words of {@code text}, each with the boundary before it; tokens not counted yet. */
  private static Units words(String text) {
    Units units = new Units();
    BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
    sentences.setText(text);
    int previousEnd = -1;
    int sentenceStart = sentences.first();
    for (int sentenceEnd = sentences.next(); sentenceEnd != BreakIterator.DONE; sentenceStart = sentenceEnd, sentenceEnd = sentences.next()) {
      boolean firstInSentence = true;
      int p = sentenceStart;
      while (p < sentenceEnd) {
        while (p < sentenceEnd && Character.isWhitespace(text.codePointAt(p))) {
          p += Character.charCount(text.codePointAt(p));
        }
        if (p >= sentenceEnd) {
          break;
        }
        int s = p;
        while (p < sentenceEnd && !Character.isWhitespace(text.codePointAt(p))) {
          p += Character.charCount(text.codePointAt(p));
        }
        byte strength;
        if (previousEnd < 0) {
          strength = PARAGRAPH;
        } else {
          int breaks = lineBreaks(text, previousEnd, s);
          strength = breaks >= 2 ? PARAGRAPH : firstInSentence ? SENTENCE : breaks == 1 ? LINE : WORD;
        }
        units.add(s, p, strength, 0);
        previousEnd = p;
        firstInSentence = false;
      }
    }
    return units;
  }

  /** Line breaks in {@code text[from, to)}: CR LF counts one, a paragraph separator or form feed two. */
  private static int lineBreaks(String text, int from, int to) {
    int breaks = 0;
    for (int k = from; k < to; k++) {
      switch (text.charAt(k)) {
        case '\n', '\u000B', '\u0085', '\u2028' -> breaks++;
        case '\r' -> {
          if (k + 1 >= to || text.charAt(k + 1) != '\n') {
            breaks++;
          }
        }
        case '\f', '\u2029' -> breaks += 2;
        default -> {}
      }
    }
    return breaks;
  }

  /** Counts the words' tokens (each distinct word once) and splits those over the budget. */
  private Units split(Units words, String text) {
    Map<String, Integer> index = new HashMap<>();
    List<String> distinct = new ArrayList<>();
    int[] slot = new int[words.size];
    for (int u = 0; u < words.size; u++) {
      String w = text.substring(words.start[u], words.end[u]);
      Integer k = index.putIfAbsent(w, distinct.size());
      if (k == null) {
        k = distinct.size();
        distinct.add(w);
      }
      slot[u] = k;
    }
    int[] counts = counter.countEach(distinct);
    if (counts.length != distinct.size()) {
      throw new IllegalStateException("token counter returned " + counts.length + " counts for " + distinct.size() + " texts");
    }
    Units units = new Units();
    for (int u = 0; u < words.size; u++) {
      int tokens = counts[slot[u]];
      if (tokens <= maxTokens) {
        units.add(words.start[u], words.end[u], words.strength[u], tokens);
      } else {
        splitWord(text, words.start[u], words.end[u], words.strength[u], units);
      }
    }
    return units;
  }

  /** Splits an over-long word between grapheme clusters into the longest pieces within budget. */
  private void splitWord(String text, int start, int end, byte strength, Units units) {
    BreakIterator graphemes = BreakIterator.getCharacterInstance(Locale.ROOT);
    String word = text.substring(start, end);
    graphemes.setText(word);
    List<Integer> bounds = new ArrayList<>();
    for (int b = graphemes.first(); b != BreakIterator.DONE; b = graphemes.next()) {
      bounds.add(b);
    }
    int from = 0; // index into bounds
    byte before = strength;
    while (from < bounds.size() - 1) {
      // The longest piece within budget; counts grow with length, so a binary search finds it.
      int lo = from + 1, hi = bounds.size() - 1, best = from + 1;
      int bestTokens = -1;
      while (lo <= hi) {
        int mid = (lo + hi) >>> 1;
        int tokens = counter.count(word.substring(bounds.get(from), bounds.get(mid)));
        if (tokens <= maxTokens) {
          best = mid;
          bestTokens = tokens;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      if (bestTokens < 0) {
        bestTokens = counter.count(word.substring(bounds.get(from), bounds.get(best)));
      }
      units.add(start + bounds.get(from), start + bounds.get(best), before, bestTokens);
      before = INSIDE_WORD;
      from = best;
    }
  }
}
