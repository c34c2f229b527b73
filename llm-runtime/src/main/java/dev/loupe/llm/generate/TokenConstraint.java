package dev.loupe.llm.generate;

/**
 * Restricts which tokens the {@link Generator} may sample, such as a {@link JsonConstraint} that only lets
 * through tokens that keep the output a valid prefix of a JSON document of a schema. The generator calls
 * {@link #mask} before each draw and {@link #accept} with each sampled token (injected tokens are not shown).
 *
 * <p>Stateful and not thread-safe: one constraint per generation.
 */
public interface TokenConstraint {

  /**
   * Sets to {@code -inf} the logit of every token that may not come next; end-of-generation tokens are allowed
   * only when the output is {@linkplain #isComplete() complete}.
   */
  void mask(float[] logits);

  /**
   * Advances past the sampled {@code token}, which {@link #mask} allowed.
   *
   * @throws IllegalArgumentException when the token was not allowed
   */
  void accept(int token);

  /** Whether the output so far is complete (then end-of-generation tokens are allowed). */
  boolean isComplete();

  /** No constraint: every token is allowed and the output is always complete. */
  TokenConstraint NONE = new TokenConstraint() {
    @Override
    public void mask(float[] logits) {}

    @Override
    public void accept(int token) {}

    @Override
    public boolean isComplete() {
      return true;
    }
  };
}
