package dev.loupe.llm.generate;

import java.util.function.Consumer;

/**
 * Sees every token the {@link Generator} samples and says what happens next: go on, stop, or inject tokens into
 * the context. Injection is how retrieval during generation and function calls work: the injected tokens (for
 * example a retrieved passage, or a tool's answer) are prefilled, together with the sampled token, before the
 * next decode; nothing said before is read again, and they are context, not output (they are not in the
 * result's tokens or text and do not advance a {@link TokenConstraint}).
 *
 * <p>An end-of-generation token ends the generation unless its hook injects: then the loop goes on after it
 * (a tool-call turn ended, the tool's answer is injected, the model continues).
 *
 * <p>Called on the generating thread, one call per sampled token, in order.
 */
@FunctionalInterface
public interface GenerationHook {

  /** What the generation does after a token. */
  sealed interface Action permits Continue, Stop, Inject {}

  /** Go on generating. */
  record Continue() implements Action {}

  /** Stop now; the result's finish reason is {@link GenerationResult.FinishReason#HOOK}. */
  record Stop() implements Action {}

  /** Prefill {@code tokens} after the sampled token, then go on. */
  record Inject(int[] tokens) implements Action {
    public Inject {
      if (tokens.length == 0) {
        throw new IllegalArgumentException("an injection needs at least one token");
      }
      tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
      return tokens.clone();
    }
  }

  Action CONTINUE = new Continue();
  Action STOP = new Stop();

  static Action inject(int... tokens) {
    return new Inject(tokens);
  }

  /**
   * Called after each sampled token.
   *
   * @param token the sampled token id
   * @param piece the text this token releases to the output: empty while a UTF-8 character is incomplete or
   *     while text is held back because it may begin a stop string (it comes out with a later token)
   * @param text all the output text released so far, {@code piece} included
   */
  Action onToken(int token, String piece, String text);

  /**
   * Called once when generation ends, with the text released at the end (held-back text that turned out not to
   * begin a stop string, an unfinished UTF-8 character as U+FFFD); often empty.
   */
  default void onEnd(String piece) {}

  /** A hook that never intervenes. */
  static GenerationHook none() {
    return (token, piece, text) -> CONTINUE;
  }

  /** A hook that passes each non-empty piece to {@code sink} (streaming) and never intervenes. */
  static GenerationHook streaming(Consumer<String> sink) {
    return new GenerationHook() {
      @Override
      public Action onToken(int token, String piece, String text) {
        onEnd(piece);
        return CONTINUE;
      }

      @Override
      public void onEnd(String piece) {
        if (!piece.isEmpty()) {
          sink.accept(piece);
        }
      }
    };
  }
}
