package dev.loupe.rag.tool;

import dev.loupe.llm.generate.JsonConstraint;
import dev.loupe.llm.generate.JsonSchema;
import dev.loupe.llm.generate.TokenConstraint;
import dev.loupe.llm.generate.TokenTrie;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;

/**
 * Lets the model write freely until it writes {@link ToolCall#MARKER}, then keeps it inside the
 * call's {@link JsonSchema} until the object is whole; the finished call waits in {@link
 * #takeCall} for the generation hook, which runs the tool and injects its answer, and the model
 * writes freely again. After {@code maxCalls} calls the marker is no longer watched for.
 *
 * <p>{@link #forcing} starts by forcing the marker's tokens: the first thing generated is a call
 * (tests make a random-weight model call a tool this way; a client may ask for it too).
 *
 * <p>Not thread-safe: one per generation.
 */
public final class ToolCallConstraint implements TokenConstraint {
  private enum Mode { FREE, MARKER, JSON }

  private final Tokenizer tokenizer;
  private final TokenTrie trie;
  private final JsonSchema schema;
  private final int maxCalls;
  private final int[] markerTokens;
  private final StringBuilder tail = new StringBuilder();
  private final java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
  private Mode mode;
  private int markerAt;
  private JsonConstraint inside;
  private int calls;
  private String ready;

  private ToolCallConstraint(Tokenizer tokenizer, TokenTrie trie, JsonSchema schema, int maxCalls, boolean force) {
    if (maxCalls < 0) {
      throw new IllegalArgumentException("max tool calls " + maxCalls + " must be >= 0");
    }
    this.tokenizer = tokenizer;
    this.trie = trie;
    this.schema = schema;
    this.maxCalls = maxCalls;
    this.markerTokens = tokenizer.encode(ToolCall.MARKER, false, true);
    this.mode = force && maxCalls > 0 ? Mode.MARKER : Mode.FREE;
  }

  /** Watches for calls to any of {@link ToolCall#TOOLS}, at most {@code maxCalls} of them. */
  public static ToolCallConstraint watching(Tokenizer tokenizer, TokenTrie trie, int maxCalls) {
    return new ToolCallConstraint(tokenizer, trie, ToolCall.SCHEMA, maxCalls, false);
  }

  /** Makes the first output a call of {@code tool} (its arguments left to the model), then watches as above. */
  public static ToolCallConstraint forcing(String tool, Tokenizer tokenizer, TokenTrie trie, int maxCalls) {
    if (!ToolCall.TOOLS.contains(tool)) {
      throw new IllegalArgumentException("tool '" + tool + "' is not one of " + ToolCall.TOOLS);
    }
    return new ToolCallConstraint(tokenizer, trie, ToolCall.schema(java.util.List.of(tool)), maxCalls, true);
  }

  @Override
  public void mask(float[] logits) {
    switch (mode) {
      case FREE -> {}
      case MARKER -> {
        int keep = markerTokens[markerAt];
        for (int t = 0; t < logits.length; t++) {
          if (t != keep) logits[t] = Float.NEGATIVE_INFINITY;
        }
        if (logits[keep] == Float.NEGATIVE_INFINITY) logits[keep] = 0;
      }
      case JSON -> inside.mask(logits);
    }
  }

  @Override
  public void accept(int token) {
    switch (mode) {
      case FREE -> {
        if (calls >= maxCalls) return;
        tail.append(new String(tokenizer.tokenBytes(token, false), StandardCharsets.UTF_8));
        if (tail.length() > 4 * ToolCall.MARKER.length()) {
          tail.delete(0, tail.length() - 2 * ToolCall.MARKER.length());
        }
        if (tail.toString().endsWith(ToolCall.MARKER)) {
          startJson();
        }
      }
      case MARKER -> {
        if (token != markerTokens[markerAt]) {
          throw new IllegalArgumentException("token " + token + " is not the forced marker token " + markerTokens[markerAt]);
        }
        if (++markerAt == markerTokens.length) startJson();
      }
      case JSON -> {
        inside.accept(token);
        json.writeBytes(tokenizer.tokenBytes(token, false));
        if (inside.isComplete()) {
          ready = json.toString(StandardCharsets.UTF_8);
          json.reset();
          calls++;
          mode = Mode.FREE;
        }
      }
    }
  }

  private void startJson() {
    tail.setLength(0);
    json.reset();
    inside = new JsonConstraint(schema, trie);
    mode = Mode.JSON;
  }

  @Override
  public boolean isComplete() {
    return mode == Mode.FREE;
  }

  /** Whether the model is inside a call (writing the marker's forced tokens or the JSON object). */
  public boolean inCall() {
    return mode != Mode.FREE;
  }

  /** The JSON of the call just finished, once; null when none is waiting. */
  public String takeCall() {
    String call = ready;
    ready = null;
    return call;
  }

  /** Calls finished so far. */
  public int calls() {
    return calls;
  }
}
