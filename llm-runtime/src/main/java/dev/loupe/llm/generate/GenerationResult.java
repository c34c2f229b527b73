package dev.loupe.llm.generate;

/**
 * What one {@link Generator#generate} call produced.
 *
 * @param finishReason why generation ended
 * @param tokens the sampled tokens, in order (an end-of-generation token that ended it included; injected tokens
 *     not)
 * @param text the output text (no stop string, no end-of-generation token text)
 * @param promptTokens tokens of the prompt prefilled at the start
 * @param prefillTokens tokens appended in batches: the prompt and injections (with the sampled token they follow)
 * @param prefillNanos time spent appending those and computing the logits after them
 * @param decodeTokens sampled tokens appended alone, one decode step each
 * @param decodeNanos time spent in those steps
 * @param message a sentence on why it ended, with the numbers where there are some
 */
public record GenerationResult(FinishReason finishReason, int[] tokens, String text, int promptTokens,
    int prefillTokens, long prefillNanos, int decodeTokens, long decodeNanos, String message) {

  /** Why a generation ended. */
  public enum FinishReason {
    /** The model sampled an end-of-generation token. */
    END_OF_GENERATION,
    /** The output reached a stop string. */
    STOP_STRING,
    /** The maximum number of tokens was generated. */
    MAX_TOKENS,
    /** The context has no room for the next token or injection. */
    CONTEXT_FULL,
    /** The {@link GenerationHook} said stop. */
    HOOK,
    /** The {@link TokenConstraint} is complete and allows no further token, and the vocabulary has no
     *  end-of-generation token to end with. */
    CONSTRAINT_COMPLETE
  }

  public GenerationResult {
    tokens = tokens.clone();
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  /** Decode speed in tokens per second (0 when nothing was decoded). */
  public double decodeTokensPerSecond() {
    return decodeNanos == 0 ? 0 : decodeTokens * 1e9 / decodeNanos;
  }

  /** Prefill speed in tokens per second (0 when nothing was prefilled). */
  public double prefillTokensPerSecond() {
    return prefillNanos == 0 ? 0 : prefillTokens * 1e9 / prefillNanos;
  }
}
