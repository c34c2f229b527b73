package dev.loupe.llm.generate;

import java.util.Arrays;
import java.util.Locale;

/**
 * Speculative decoding as a {@link LanguageModelState}: a small draft model guesses the next tokens and the target
 * model checks all the guesses in one batched pass ({@link LanguageModelState#appendWithLogits}), which streams its
 * weights once for several tokens. A {@link Generator} drives it like any state and needs to know nothing of it:
 * its sampler, constraint, stop strings and hook all act on the target's logits.
 *
 * <p>How a step goes. When the generator appends the token it sampled, the state looks at its verified guesses:
 * if the token is the next guess, the target's logits after it are already known and nothing is computed.
 * Otherwise (a guess was rejected, the guesses ran out, or the generator appended several tokens such as an
 * injection) the state opens a round: it rolls both models back to the accepted sequence with {@code truncate},
 * lets the draft catch up with the new tokens and propose {@code k} tokens greedily, and appends the new tokens
 * and the {@code k} guesses to the target in one pass. Each round so yields between one and {@code k + 1} tokens
 * for one pass over the target's weights.
 *
 * <p>Exactness. Every token the generator emits is drawn from the target's logits over the accepted sequence, and
 * the target's logits do not depend on how the tokens were batched (the {@link LanguageModelState} contract), so
 * the output equals the output of the target alone, token for token, for greedy decoding and for seeded
 * sampling alike (the sampler sees the same logits and makes the same draws). In sampling mode this is the
 * standard speculative sampling rule for a draft whose proposal distribution is a point mass on its greedy
 * token {@code d}: the guess is accepted with probability {@code min(1, p(d)/q(d)) = p(d)}, and on rejection the
 * token comes from {@code p} without {@code d}, renormalised, so the output keeps the target's distribution.
 * (Sampling the guesses from the draft's own distribution would accept more often where the target is unsure,
 * but would lose the token-for-token equality with plain sampling.)
 *
 * <p>With {@link Options#adaptive()} the number of guesses per round grows by one after a round whose guesses were
 * all accepted and shrinks by one after a round that kept fewer than half, between 1 and {@link Options#draftTokens()};
 * after four rounds in a row in which a single guess was rejected the draft rests (the target decodes alone) for
 * 16 rounds, then 32, 64, up to 256, until a guess is accepted again: a draft that rarely agrees with the target
 * (as two random-weight models) then costs little.
 *
 * <p>Ownership: the state owns both wrapped states while in use. They may hold rejected guesses beyond
 * {@link #position()} until the next round; {@link #settle()} truncates them to the accepted sequence. Both must
 * be empty when wrapped and share a vocabulary (the target's logits and the draft's have the same length).
 * Not thread-safe.
 */
public final class SpeculativeState implements LanguageModelState {

  /**
   * How many tokens the draft proposes per round.
   *
   * @param draftTokens the guesses per round ({@code k}), at least 1; the most when adaptive
   * @param adaptive whether {@code k} follows the acceptance of the last round (between 1 and {@code draftTokens})
   */
  public record Options(int draftTokens, boolean adaptive) {
    public Options {
      if (draftTokens < 1 || draftTokens > 64) {
        throw new IllegalArgumentException("draft tokens " + draftTokens + " must be between 1 and 64");
      }
    }

    /** {@code k} guesses per round, fixed. */
    public static Options of(int draftTokens) {
      return new Options(draftTokens, false);
    }
  }

  /**
   * What the draft did so far.
   *
   * @param rounds target passes that verified guesses
   * @param drafted guesses the target verified
   * @param accepted guesses the generator took (each saved a target pass)
   */
  public record Stats(long rounds, long drafted, long accepted) {
    /** Accepted guesses per verified guess, 0 before any. */
    public double acceptanceRate() {
      return drafted == 0 ? 0 : (double) accepted / drafted;
    }

    /** Tokens per target pass during speculation: the accepted guesses plus the token each round decodes itself. */
    public double tokensPerRound() {
      return rounds == 0 ? 0 : (double) (accepted + rounds) / rounds;
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%d of %d draft tokens accepted (%.1f%%) in %d rounds, %.2f tokens per target pass",
          accepted, drafted, 100 * acceptanceRate(), rounds, tokensPerRound());
    }
  }

  private final LanguageModelState target;
  private final LanguageModelState draft;
  private final Options options;
  private int k;
  // The accepted sequence: what position() counts and what both models are rolled back to.
  private int[] tokens = new int[64];
  private int length;
  // How many leading tokens of the draft's sequence are accepted ones (the rest are its own rejected guesses).
  private int draftAgrees;
  // Verified guesses after the accepted sequence: guesses[i] with the target's logits after it, next to take at index `next`.
  private int[] guesses = new int[0];
  private float[][] guessLogits = new float[0][];
  private int next;
  // The target's logits after the accepted sequence; null after a truncate until read.
  private float[] logits;
  private long rounds, drafted, accepted;
  private boolean vocabularyChecked;
  // Adaptive mode: consecutive rounds whose single guess failed, rounds left to decode without the draft, and how
  // often the draft was rested since it last guessed right.
  private int misses, rest, restBackoff;

  /**
   * @throws IllegalArgumentException when either state already holds tokens or both are the same object
   */
  public SpeculativeState(LanguageModelState target, LanguageModelState draft, Options options) {
    if (target == draft) {
      throw new IllegalArgumentException("the draft must be a state of its own, not the target");
    }
    if (target.position() != 0 || draft.position() != 0) {
      throw new IllegalArgumentException("speculative decoding starts from empty states; the target holds "
          + target.position() + " tokens and the draft " + draft.position());
    }
    this.target = target;
    this.draft = draft;
    this.options = options;
    this.k = options.draftTokens();
  }

  public Options options() {
    return options;
  }

  /** The counts so far. */
  public Stats stats() {
    return new Stats(rounds, drafted, accepted);
  }

  @Override
  public int position() {
    return length;
  }

  /** The accepted sequence. */
  @Override
  public int[] tokens() {
    return java.util.Arrays.copyOf(tokens, length);
  }

  /** The smaller of the two models' context lengths. */
  @Override
  public int contextLength() {
    return Math.min(target.contextLength(), draft.contextLength());
  }

  @Override
  public void append(int[] newTokens) {
    if (newTokens.length == 0) {
      return;
    }
    if (length + newTokens.length > contextLength()) {
      throw new IllegalArgumentException("appending " + newTokens.length + " tokens at position " + length
          + " exceeds the context length " + contextLength());
    }
    if (newTokens.length == 1 && next < guesses.length && guesses[next] == newTokens[0]) {
      // The draft guessed right: the target's logits after this token are already known.
      if (draftAgrees == length && draft.position() > length) {
        draftAgrees++; // the draft holds this guess in its own sequence
      }
      logits = guessLogits[next];
      guessLogits[next++] = null;
      accepted++;
      push(newTokens);
      return;
    }
    push(newTokens);
    round(newTokens.length);
  }

  /**
   * Rolls both models back to the accepted sequence, catches the draft up with the last {@code fresh} tokens,
   * lets it guess and verifies the guesses with the target in one pass.
   */
  private void round(int fresh) {
    if (guesses.length > 0 && options.adaptive()) {
      if (next == 0 && k == 1) {
        if (++misses == 4) {
          misses = 0;
          rest = 16 << Math.min(restBackoff++, 4);
        }
      } else if (next > 0) {
        misses = 0;
        restBackoff = 0;
      }
      if (next == guesses.length) {
        k = Math.min(options.draftTokens(), k + 1);
      } else if (2 * next < guesses.length) {
        k = Math.max(1, k - 1);
      }
    }
    int before = length - fresh;
    target.truncate(before);
    // The target holds the accepted sequence and the draft's guesses of the last round; both are rolled back.
    int guessCount = Math.min(k, contextLength() - length);
    if (rest > 0) {
      rest--;
      guessCount = 0;
    }
    int[] verify;
    if (guessCount <= 0) {
      verify = new int[0];
    } else {
      draft.truncate(draftAgrees);
      draft.append(Arrays.copyOfRange(tokens, draftAgrees, length));
      draftAgrees = length;
      verify = new int[guessCount];
      float[] draftLogits = draft.logits();
      for (int i = 0; i < guessCount; i++) {
        verify[i] = argmax(draftLogits);
        if (i + 1 < guessCount) {
          draft.append(new int[] {verify[i]});
          draftLogits = draft.logits();
        }
      }
    }
    if (fresh > 1) {
      target.append(Arrays.copyOfRange(tokens, before, length - 1)); // no logits needed inside the new tokens
    }
    int[] pass = new int[1 + verify.length];
    pass[0] = tokens[length - 1];
    System.arraycopy(verify, 0, pass, 1, verify.length);
    float[][] all;
    if (verify.length == 0) {
      target.append(pass);
      all = new float[][] {target.logits()};
    } else {
      all = target.appendWithLogits(pass);
      if (!vocabularyChecked) {
        int draftVocabulary = draft.logits().length;
        if (draftVocabulary != all[0].length) {
          throw new IllegalArgumentException("the draft's vocabulary of " + draftVocabulary
              + " tokens differs from the target's " + all[0].length + "; speculative decoding needs the same vocabulary");
        }
        vocabularyChecked = true;
      }
      rounds++;
      drafted += verify.length;
    }
    logits = all[0];
    guesses = verify;
    guessLogits = Arrays.copyOfRange(all, 1, all.length);
    next = 0;
  }

  @Override
  public float[] logits() {
    if (length == 0) {
      throw new IllegalStateException("the sequence is empty; append tokens first");
    }
    if (logits == null) {
      logits = target.logits();
    }
    return logits;
  }

  @Override
  public void truncate(int position) {
    if (position < 0 || position > length) {
      throw new IllegalArgumentException("cannot truncate to position " + position + "; the sequence holds " + length + " tokens");
    }
    if (position == length) {
      return;
    }
    length = position;
    draftAgrees = Math.min(draftAgrees, position);
    guesses = new int[0];
    guessLogits = new float[0][];
    next = 0;
    target.truncate(position);
    logits = null;
  }

  /** Drops the rejected guesses both models may hold, so that each holds exactly the accepted sequence. */
  public void settle() {
    float[] kept = logits;
    if (target.position() > length) {
      target.truncate(length);
    }
    draft.truncate(draftAgrees);
    draft.append(Arrays.copyOfRange(tokens, draftAgrees, length));
    draftAgrees = length;
    guesses = new int[0];
    guessLogits = new float[0][];
    next = 0;
    logits = kept;
  }

  private void push(int[] newTokens) {
    if (length + newTokens.length > tokens.length) {
      tokens = Arrays.copyOf(tokens, Math.max(2 * tokens.length, length + newTokens.length));
    }
    System.arraycopy(newTokens, 0, tokens, length, newTokens.length);
    length += newTokens.length;
  }

  /** The most likely token, the lowest id among equals (as the greedy {@link Sampler}); masked and NaN logits never. */
  static int argmax(float[] logits) {
    int best = -1;
    for (int i = 0; i < logits.length; i++) {
      if (logits[i] > Float.NEGATIVE_INFINITY && (best < 0 || logits[i] > logits[best])) {
        best = i;
      }
    }
    if (best < 0) {
      throw new IllegalStateException("the draft's " + logits.length + " logits are all -inf or NaN");
    }
    return best;
  }

  @Override
  public String toString() {
    return "SpeculativeState[" + length + " tokens, k " + k + ", " + stats() + "]";
  }
}
