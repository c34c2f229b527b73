package dev.loupe.llm.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from logits with the {@link SamplerSettings}, in llama.cpp's default sampler order:
 * repetition penalty, top-k, top-p, min-p, temperature, then a draw from a {@link SplittableRandom} seeded
 * with {@link SamplerSettings#seed()}. Tokens whose logit is {@code -inf} (masked, as by a
 * {@link TokenConstraint}) or NaN are never chosen. Ties are broken towards the lowest token id.
 *
 * <p>Not thread-safe: holds the random generator and scratch buffers (allocated once per vocabulary size and
 * reused); use one sampler per generation.
 */
public final class Sampler {
  private final SamplerSettings settings;
  private final SplittableRandom random;
  private float[] work = new float[0];
  private long[] keys = new long[0];
  private int[] ids = new int[0];
  private float[] vals = new float[0];
  private double[] probs = new double[0];

  public Sampler(SamplerSettings settings) {
    this.settings = settings;
    this.random = new SplittableRandom(settings.seed());
  }

  public SamplerSettings settings() {
    return settings;
  }

  /**
   * The next token. {@code logits} is read, not modified.
   *
   * @param history the tokens so far (prompt and output), the most recent last; the repetition penalty looks at
   *     the last {@link SamplerSettings#repeatLastN()} of its first {@code historyLength}
   * @throws IllegalStateException when every logit is {@code -inf} or NaN
   */
  public int sample(float[] logits, int[] history, int historyLength) {
    int n = filter(logits, history, historyLength);
    if (n == 1) {
      return ids[0];
    }
    // temperature, then softmax and a draw; vals[0] is the largest when the candidates were sorted, and the
    // subtraction of any finite upper bound keeps exp() in range.
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, vals[i]);
    }
    double t = settings.temperature();
    double sum = 0;
    for (int i = 0; i < n; i++) {
      probs[i] = Math.exp((vals[i] - max) / t);
      sum += probs[i];
    }
    double r = random.nextDouble() * sum;
    for (int i = 0; i < n; i++) {
      r -= probs[i];
      if (r < 0) {
        return ids[i];
      }
    }
    return ids[n - 1];
  }

  /**
   * The tokens that survive the penalty and the top-k, top-p and min-p filters (all of the draw's candidates),
   * most likely first; for greedy settings the single most likely token. For tests and diagnostics.
   */
  int[] candidates(float[] logits, int[] history, int historyLength) {
    int n = filter(logits, history, historyLength); // may reallocate ids
    return Arrays.copyOf(ids, n);
  }

  /** Fills ids/vals with the candidates left after the filters and returns how many there are. */
  private int filter(float[] logits, int[] history, int historyLength) {
    int v = logits.length;
    if (work.length != v) {
      work = new float[v];
      keys = new long[v];
      ids = new int[v];
      vals = new float[v];
      probs = new double[v];
    }
    System.arraycopy(logits, 0, work, 0, v);
    penalize(history, historyLength);

    if (settings.isGreedy()) {
      int best = -1;
      for (int i = 0; i < v; i++) {
        if (work[i] > Float.NEGATIVE_INFINITY && (best < 0 || work[i] > work[best])) {
          best = i;
        }
      }
      if (best < 0) {
        throw noCandidates(v);
      }
      ids[0] = best;
      vals[0] = work[best];
      return 1;
    }

    boolean sort = settings.topK() > 0 || settings.topP() < 1 || settings.minP() > 0;
    int n = 0;
    if (sort) {
      int k = settings.topK();
      if (k > 0 && k < v / 16) {
        n = largestKeys(k); // the same keys as the full sort's top k (every key is distinct), in order
      } else {
        for (int i = 0; i < v; i++) {
          float x = work[i];
          if (x > Float.NEGATIVE_INFINITY) { // false for NaN too
            keys[n++] = sortKey(x, i);
          }
        }
        Arrays.sort(keys, 0, n);
      }
      for (int i = 0; i < n; i++) {
        int id = 0x7FFFFFFF - (int) keys[n - 1 - i]; // descending logit, ascending id among equals
        ids[i] = id;
        vals[i] = work[id];
      }
    } else {
      for (int i = 0; i < v; i++) {
        if (work[i] > Float.NEGATIVE_INFINITY) {
          ids[n] = i;
          vals[n++] = work[i];
        }
      }
    }
    if (n == 0) {
      throw noCandidates(v);
    }

    if (settings.topK() > 0) {
      n = Math.min(n, settings.topK());
    }
    if (settings.topP() < 1 && n > 1) {
      // llama.cpp: softmax over the candidates left, keep the shortest prefix whose mass reaches p.
      double max = vals[0];
      double sum = 0;
      for (int i = 0; i < n; i++) {
        probs[i] = Math.exp(vals[i] - max);
        sum += probs[i];
      }
      double cumulative = 0;
      for (int i = 0; i < n; i++) {
        cumulative += probs[i] / sum;
        if (cumulative >= settings.topP()) {
          n = i + 1;
          break;
        }
      }
    }
    if (settings.minP() > 0 && n > 1) {
      // llama.cpp compares logits: p_i >= minP * p_max  <=>  logit_i >= logit_max + ln(minP).
      double threshold = vals[0] + Math.log(settings.minP());
      int kept = 1;
      while (kept < n && vals[kept] >= threshold) {
        kept++;
      }
      n = kept;
    }
    return n;
  }

  /**
   * The {@code k} largest keys of the candidates of {@code work} (at most {@code k}), ascending in
   * {@code keys[0..n)} as after the full sort, through a min-heap of {@code k}: one comparison for
   * most of a 32,000-token vocabulary instead of sorting it (2.7% of a sampled decode step).
   */
  private int largestKeys(int k) {
    int n = 0;
    for (int i = 0; i < work.length; i++) {
      float x = work[i];
      if (!(x > Float.NEGATIVE_INFINITY)) {
        continue;
      }
      long key = sortKey(x, i);
      if (n < k) {
        int c = n++; // sift up
        while (c > 0 && keys[(c - 1) / 2] > key) {
          keys[c] = keys[(c - 1) / 2];
          c = (c - 1) / 2;
        }
        keys[c] = key;
      } else if (key > keys[0]) {
        int c = 0; // replace the smallest, sift down
        while (true) {
          int child = 2 * c + 1;
          if (child >= n) break;
          if (child + 1 < n && keys[child + 1] < keys[child]) child++;
          if (keys[child] >= key) break;
          keys[c] = keys[child];
          c = child;
        }
        keys[c] = key;
      }
    }
    Arrays.sort(keys, 0, n);
    return n;
  }

  /** llama.cpp's repetition penalty: each distinct recent token once, positive logits divided, others multiplied. */
  private void penalize(int[] history, int historyLength) {
    float penalty = settings.repeatPenalty();
    if (penalty == 1 || settings.repeatLastN() == 0 || historyLength == 0) {
      return;
    }
    int from = Math.max(0, historyLength - settings.repeatLastN());
    for (int i = from; i < historyLength; i++) {
      int token = history[i];
      if (token < 0 || token >= work.length) {
        throw new IllegalArgumentException("history token " + token + " is outside the vocabulary of "
            + work.length + " tokens");
      }
      boolean seen = false;
      for (int j = from; j < i && !seen; j++) {
        seen = history[j] == token;
      }
      if (!seen) {
        float x = work[token];
        work[token] = x <= 0 ? x * penalty : x / penalty;
      }
    }
  }

  /** Orders by logit, then by descending id, so that the largest key is the largest logit with the lowest id. */
  private static long sortKey(float x, int id) {
    int bits = Float.floatToIntBits(x + 0.0f); // -0 and +0 compare equal
    bits ^= (bits >> 31) & 0x7FFFFFFF; // IEEE order to two's-complement order
    return ((long) bits << 32) | (0x7FFFFFFFL - id);
  }

  private static IllegalStateException noCandidates(int vocabulary) {
    return new IllegalStateException("no token can be sampled: all " + vocabulary
        + " logits are -inf or NaN (a constraint that allows nothing?)");
  }
}
