package dev.loupe.llm.generate;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Keeps a generation inside a {@link JsonSchema}: before each draw only the tokens whose bytes continue the
 * output as a prefix of a compact document of the schema keep their logits, and end-of-generation tokens are
 * allowed only once the document is whole. Every output that ends with an end-of-generation token therefore
 * parses and validates (see {@link JsonSchema} for the compact form: no whitespace, properties in schema order).
 *
 * <p>The allowed set of an automaton state is found by walking the {@link TokenTrie} with the state and is cached
 * per state, so the walk happens once per distinct state (a free-text string's contents, for example, are one
 * state however long the string runs).
 *
 * <p>Not thread-safe: one constraint per generation; the schema and trie it reads are shared.
 */
public final class JsonConstraint implements TokenConstraint {
  private final JsonSchema schema;
  private final TokenTrie trie;
  private final Map<JsonAutomaton.State, long[]> allowed = new HashMap<>();
  private JsonAutomaton.State state;

  public JsonConstraint(JsonSchema schema, TokenTrie trie) {
    this.schema = schema;
    this.trie = trie;
    this.state = JsonAutomaton.initial(schema);
  }

  public JsonSchema schema() {
    return schema;
  }

  @Override
  public void mask(float[] logits) {
    if (logits.length != trie.vocabularySize()) {
      throw new IllegalArgumentException(logits.length + " logits do not match the vocabulary of "
          + trie.vocabularySize() + " tokens the constraint was built for");
    }
    long[] bits = allowed.computeIfAbsent(state, this::walk);
    for (int t = 0; t < logits.length; t++) {
      if ((bits[t >>> 6] & (1L << t)) == 0) {
        logits[t] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  @Override
  public void accept(int token) {
    if (trie.isEndOfGeneration(token)) {
      if (!isComplete()) {
        throw new IllegalArgumentException("end-of-generation token " + token + " before the JSON document is whole");
      }
      return;
    }
    byte[] bytes = trie.bytes(token);
    if (bytes.length == 0) {
      throw new IllegalArgumentException("token " + token + " has no text and cannot continue a JSON document");
    }
    JsonAutomaton.State s = state;
    for (byte b : bytes) {
      s = JsonAutomaton.step(s, b & 0xFF);
      if (s == null) {
        throw new IllegalArgumentException("token " + token + " ('" + new String(bytes, StandardCharsets.UTF_8)
            + "') does not continue a JSON document of the schema");
      }
    }
    state = s;
  }

  @Override
  public boolean isComplete() {
    return JsonAutomaton.isComplete(state);
  }

  /** The allowed tokens of {@code s}: the trie's tokens the automaton accepts, and end of generation if whole. */
  private long[] walk(JsonAutomaton.State s) {
    long[] bits = new long[(trie.vocabularySize() + 63) >>> 6];
    walk(0, s, bits);
    if (JsonAutomaton.isComplete(s)) {
      for (int t : trie.endOfGeneration()) {
        bits[t >>> 6] |= 1L << t;
      }
    }
    return bits;
  }

  private void walk(int node, JsonAutomaton.State s, long[] bits) {
    int from = trie.childStart(node);
    int to = from + trie.childCount(node);
    for (int child = from; child < to; child++) {
      JsonAutomaton.State next = JsonAutomaton.step(s, trie.label(child));
      if (next == null) {
        continue;
      }
      for (int t = trie.firstToken(child); t >= 0; t = trie.nextToken(t)) {
        bits[t >>> 6] |= 1L << t;
      }
      walk(child, next, bits);
    }
  }
}
