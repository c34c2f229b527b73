package dev.loupe.llm.generate;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A tiny real language model for tests: a trigram/bigram model trained on a token corpus, plus seeded hashed
 * noise that depends on the whole prefix and on the position, so that its logits are a deterministic function of
 * the full token sequence (as a transformer's are) and greedy decoding follows the corpus where it can.
 */
final class NGramModel implements LanguageModelState {
  private final int vocabularySize;
  private final int contextLength;
  private final long seed;
  private final Map<Long, Map<Integer, Integer>> trigrams = new HashMap<>();
  private final Map<Integer, Map<Integer, Integer>> bigrams = new HashMap<>();
  private int[] tokens;
  private long[] prefixHash; // prefixHash[i]: hash of the first i tokens
  private int length;
  private float[] logits;
  private boolean fresh;
  int appendCalls;
  int appendedTokens;

  NGramModel(int vocabularySize, int contextLength, long seed, int[] corpus) {
    this.vocabularySize = vocabularySize;
    this.contextLength = contextLength;
    this.seed = seed;
    this.tokens = new int[contextLength];
    this.prefixHash = new long[contextLength + 1];
    this.logits = new float[vocabularySize];
    for (int i = 0; i < corpus.length; i++) {
      if (i >= 1) {
        bigrams.computeIfAbsent(corpus[i - 1], k -> new HashMap<>()).merge(corpus[i], 1, Integer::sum);
      }
      if (i >= 2) {
        trigrams.computeIfAbsent(pair(corpus[i - 2], corpus[i - 1]), k -> new HashMap<>())
            .merge(corpus[i], 1, Integer::sum);
      }
    }
  }

  @Override
  public int position() {
    return length;
  }

  @Override
  public int[] tokens() {
    return Arrays.copyOf(tokens, length);
  }

  @Override
  public int contextLength() {
    return contextLength;
  }

  @Override
  public void append(int[] newTokens) {
    appendCalls++;
    appendedTokens += newTokens.length;
    if (length + newTokens.length > contextLength) {
      throw new IllegalArgumentException(newTokens.length + " tokens at position " + length
          + " exceed the context of " + contextLength);
    }
    for (int t : newTokens) {
      if (t < 0 || t >= vocabularySize) {
        throw new IllegalArgumentException("token " + t + " is outside the vocabulary of " + vocabularySize);
      }
      tokens[length] = t;
      prefixHash[length + 1] = mix(prefixHash[length] * 31 + t + 1);
      length++;
    }
    fresh = false;
  }

  @Override
  public float[] logits() {
    if (length == 0) {
      throw new IllegalStateException("no tokens yet");
    }
    if (!fresh) {
      compute();
      fresh = true;
    }
    return logits;
  }

  @Override
  public void truncate(int position) {
    if (position < 0 || position > length) {
      throw new IllegalArgumentException("position " + position + " is outside 0.." + length);
    }
    length = position;
    fresh = false;
  }

  private void compute() {
    long prefix = mix(prefixHash[length] ^ seed);
    long pos = mix(seed * 0x9E3779B97F4A7C15L + length);
    for (int v = 0; v < vocabularySize; v++) {
      logits[v] = 0.5f * unit(mix(prefix + v)) + 0.25f * unit(mix(pos ^ v * 0xC2B2AE3D27D4EB4FL));
    }
    int p1 = tokens[length - 1];
    Map<Integer, Integer> bi = bigrams.get(p1);
    if (bi != null) {
      bi.forEach((next, count) -> logits[next] += 2f * (float) Math.log1p(count));
    }
    if (length >= 2) {
      Map<Integer, Integer> tri = trigrams.get(pair(tokens[length - 2], p1));
      if (tri != null) {
        tri.forEach((next, count) -> logits[next] += 5f * (float) Math.log1p(count));
      }
    }
  }

  private static long pair(int a, int b) {
    return ((long) a << 32) | (b & 0xFFFFFFFFL);
  }

  /** In [-1, 1). */
  private static float unit(long h) {
    return ((h >>> 40) / (float) (1L << 24)) * 2 - 1;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
