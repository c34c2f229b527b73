package dev.loupe.llm.generate;

import dev.loupe.llm.generate.GenerationHook.Action;
import dev.loupe.llm.generate.GenerationHook.Inject;
import dev.loupe.llm.generate.GenerationHook.Stop;
import dev.loupe.llm.generate.GenerationResult.FinishReason;
import dev.loupe.llm.tokenizer.StreamingDecoder;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * The generation loop: prefills a prompt into a {@link LanguageModelState}, then samples a token, shows it to the
 * {@link GenerationHook}, appends it (with any injected tokens, in one batch) and decodes the next, until an
 * end-of-generation token ({@link Tokenizer#isEndOfGeneration}), a stop string, the token limit, a full context
 * or the hook ends it. Text is streamed through the tokenizer's {@link StreamingDecoder}, so no piece splits a
 * UTF-8 character; text that may begin a stop string is held back until it cannot, and a stop string is never
 * released.
 *
 * <p>The state keeps what it had before the call: the prompt continues it (a chat's follow-up prefills only the
 * new tokens). On return the state holds the prompt, the injections and every sampled token except the last
 * one, whose logits were never needed: a caller that goes on (the next chat turn) puts
 * {@code result.tokens()}' last token in front of its next prompt, so that it is prefilled in the same batch.
 *
 * <p>Not thread-safe: a generator drives its state from one thread at a time.
 */
public final class Generator {
  private final LanguageModelState state;
  private final Tokenizer tokenizer;

  public Generator(LanguageModelState state, Tokenizer tokenizer) {
    this.state = state;
    this.tokenizer = tokenizer;
  }

  public LanguageModelState state() {
    return state;
  }

  /** {@link #generate(int[], GenerationOptions, TokenConstraint, GenerationHook)} without constraint or hook. */
  public GenerationResult generate(int[] prompt, GenerationOptions options) {
    return generate(prompt, options, TokenConstraint.NONE, GenerationHook.none());
  }

  /**
   * Generates after {@code prompt}.
   *
   * @param prompt tokens to prefill first; may be empty when the state already holds tokens
   * @param constraint restricts the sampled tokens ({@link TokenConstraint#NONE} for none)
   * @param hook sees each sampled token and may stop or inject ({@link GenerationHook#none()} for none)
   * @throws IllegalArgumentException when there is nothing to predict from or the prompt does not fit the context
   */
  public GenerationResult generate(int[] prompt, GenerationOptions options, TokenConstraint constraint,
      GenerationHook hook) {
    int start = state.position();
    if (start + prompt.length == 0) {
      throw new IllegalArgumentException("the prompt is empty and so is the state: there is nothing to predict from");
    }
    if (start + prompt.length > state.contextLength()) {
      throw new IllegalArgumentException("prompt of " + prompt.length + " tokens after " + start
          + " tokens already in the context does not fit the context of " + state.contextLength() + " tokens");
    }
    Sampler sampler = new Sampler(options.sampler());
    StreamingDecoder decoder = tokenizer.streamingDecoder(false);
    StopStrings stops = new StopStrings(options.stopStrings());
    StringBuilder text = new StringBuilder();
    int[] history = Arrays.copyOf(prompt, prompt.length + 64);
    int historyLength = prompt.length;
    int[] generated = new int[64];
    int count = 0;
    int prefillTokens = prompt.length;
    long prefillNanos = 0;
    int decodeTokens = 0;
    long decodeNanos = 0;

    long t0 = System.nanoTime();
    if (prompt.length > 0) {
      state.append(prompt);
    }
    float[] logits = state.logits();
    prefillNanos += System.nanoTime() - t0;
    float[] masked = new float[logits.length];

    FinishReason reason;
    String message;
    while (true) {
      System.arraycopy(logits, 0, masked, 0, logits.length);
      constraint.mask(masked);
      if (!anyAllowed(masked)) {
        if (!constraint.isComplete()) {
          throw new IllegalStateException("the constraint allows no token of the " + masked.length
              + "-token vocabulary after " + count + " generated tokens although its output is incomplete");
        }
        reason = FinishReason.CONSTRAINT_COMPLETE;
        message = "the constrained output is complete and the vocabulary has no end-of-generation token";
        break;
      }
      int token = sampler.sample(masked, history, historyLength);
      constraint.accept(token);
      if (count == generated.length) {
        generated = Arrays.copyOf(generated, count * 2);
      }
      generated[count++] = token;
      boolean endOfGeneration = tokenizer.isEndOfGeneration(token);
      String piece = endOfGeneration ? "" : stops.push(decoder.append(token));
      text.append(piece);
      Action action = hook.onToken(token, piece, text.toString());

      if (stops.matched()) {
        reason = FinishReason.STOP_STRING;
        message = "the output reached the stop string '" + stops.matchedString() + "'";
        break;
      }
      if (action instanceof Stop) {
        reason = FinishReason.HOOK;
        message = "the generation hook stopped the generation after " + count + " tokens";
        break;
      }
      int[] injected = action instanceof Inject inject ? inject.tokens() : new int[0];
      if (endOfGeneration && injected.length == 0) {
        reason = FinishReason.END_OF_GENERATION;
        message = "the model ended its output with token " + token;
        break;
      }
      if (count >= options.maxTokens()) {
        reason = FinishReason.MAX_TOKENS;
        message = "the output reached the limit of " + options.maxTokens() + " tokens";
        break;
      }
      int[] next = new int[1 + injected.length];
      next[0] = token;
      System.arraycopy(injected, 0, next, 1, injected.length);
      if (state.position() + next.length > state.contextLength()) {
        reason = FinishReason.CONTEXT_FULL;
        message = "the context of " + state.contextLength() + " tokens is full: " + state.position()
            + " tokens are in it and the next step needs " + next.length + " more";
        break;
      }
      if (historyLength + next.length > history.length) {
        history = Arrays.copyOf(history, Math.max(history.length * 2, historyLength + next.length));
      }
      System.arraycopy(next, 0, history, historyLength, next.length);
      historyLength += next.length;

      long t = System.nanoTime();
      state.append(next);
      logits = state.logits();
      long elapsed = System.nanoTime() - t;
      if (injected.length == 0) {
        decodeTokens++;
        decodeNanos += elapsed;
      } else {
        prefillTokens += next.length;
        prefillNanos += elapsed;
      }
    }
    if (reason != FinishReason.STOP_STRING) {
      String rest = stops.push(decoder.finish()) + stops.flush();
      text.append(rest);
      hook.onEnd(rest);
    } else {
      hook.onEnd("");
    }
    return new GenerationResult(reason, Arrays.copyOf(generated, count), text.toString(), prompt.length,
        prefillTokens, prefillNanos, decodeTokens, decodeNanos, message);
  }

  private static boolean anyAllowed(float[] logits) {
    for (float x : logits) {
      if (x > Float.NEGATIVE_INFINITY) {
        return true;
      }
    }
    return false;
  }

  /** Finds stop strings in streamed text, holding back a tail that may begin one. Not thread-safe. */
  static final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private String matched;

    StopStrings(List<String> stops) {
      this.stops = stops;
    }

    /** Adds streamed text and returns what can be released: text before a stop string or a possible one. */
    String push(String text) {
      if (matched != null) {
        return "";
      }
      pending.append(text);
      if (stops.isEmpty()) {
        return flush();
      }
      int at = -1;
      for (String stop : stops) {
        int i = pending.indexOf(stop);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          matched = stop;
        }
      }
      if (at >= 0) {
        String released = pending.substring(0, at);
        pending.setLength(0);
        return released;
      }
      String held = pending.toString();
      int hold = 0;
      for (String stop : stops) {
        for (int k = Math.min(stop.length() - 1, held.length()); k > hold; k--) {
          if (held.regionMatches(held.length() - k, stop, 0, k)) {
            hold = k;
            break;
          }
        }
      }
      String released = pending.substring(0, pending.length() - hold);
      pending.delete(0, pending.length() - hold);
      return released;
    }

    /** Releases everything held. */
    String flush() {
      String rest = pending.toString();
      pending.setLength(0);
      return rest;
    }

    boolean matched() {
      return matched != null;
    }

    String matchedString() {
      return matched;
    }
  }
}
