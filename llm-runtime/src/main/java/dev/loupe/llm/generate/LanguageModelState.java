package dev.loupe.llm.generate;

/**
 * The state of a language model over one token sequence, as the {@link Generator} drives it: tokens are appended
 * (prefilled, several at a time), the logits after the last appended token are read, and the sequence can be
 * rolled back. The model package's {@code Session} implements it over its KV cache; tests implement it over a
 * small n-gram model.
 *
 * <p>Contract: {@link #logits()} after {@code append(a); append(b)} equals {@link #logits()} after
 * {@code append(a ++ b)} and after {@code truncate(0); append(a ++ b)}: the logits depend only on the token
 * sequence, never on how it was fed. The generation loop and its hooks rely on this.
 *
 * <p>Not thread-safe: one state is driven by one thread at a time.
 */
public interface LanguageModelState {

  /** Number of tokens in the sequence: the position the next appended token takes. */
  int position();

  /** The tokens of the sequence, in order (a copy of {@link #position()} tokens). */
  int[] tokens();

  /** The most tokens the sequence can hold. */
  int contextLength();

  /**
   * The checks of {@link #append}, for implementations: {@code tokens} fit after {@code position} in
   * {@code contextLength} positions and each is in {@code [0, vocabSize)}.
   *
   * @throws IllegalArgumentException naming the numbers
   */
  static void checkAppend(int[] tokens, int position, int contextLength, int vocabSize) {
    if (tokens.length > contextLength - position) {
      throw new IllegalArgumentException("appending " + tokens.length + " tokens at position " + position
          + " exceeds the session's context length " + contextLength);
    }
    for (int t : tokens) {
      if (t < 0 || t >= vocabSize) {
        throw new IllegalArgumentException("token " + t + " is outside the vocabulary 0.." + (vocabSize - 1));
      }
    }
  }

  /**
   * Appends {@code tokens} to the sequence (a batched prefill).
   *
   * @throws IllegalArgumentException when a token is outside the vocabulary or {@code position() + tokens.length}
   *     exceeds {@link #contextLength()}, naming the numbers
   */
  void append(int[] tokens);

  /**
   * Appends {@code tokens} and returns the logits after each of them: {@code result[i]} predicts the token after
   * {@code tokens[i]} and equals what {@link #logits()} would return had the tokens been appended one at a time.
   * Speculative decoding verifies its draft with it in one pass; this default appends one token at a time, and a
   * model that prefills in batches overrides it to compute every position in one batch.
   *
   * @throws IllegalArgumentException as {@link #append}
   */
  default float[][] appendWithLogits(int[] tokens) {
    if (position() + tokens.length > contextLength()) {
      throw new IllegalArgumentException("appending " + tokens.length + " tokens at position " + position()
          + " exceeds the context length " + contextLength());
    }
    float[][] all = new float[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      append(new int[] {tokens[i]});
      all[i] = logits().clone();
    }
    return all;
  }

  /**
   * The logits (one per vocabulary token) predicting the token after the last appended one. The array belongs to
   * the state: callers must not modify it, and it is valid until the next {@link #append} or {@link #truncate}.
   *
   * @throws IllegalStateException when the sequence is empty
   */
  float[] logits();

  /**
   * Drops every token at {@code position} and after, so that the sequence is its first {@code position} tokens.
   *
   * @throws IllegalArgumentException when {@code position} is negative or beyond {@link #position()}
   */
  void truncate(int position);
}
