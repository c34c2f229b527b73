package dev.loupe.llm.generate;

import dev.loupe.llm.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * The bytes of every token of a vocabulary ({@link Tokenizer#tokenBytes(int, boolean)} without control text),
 * arranged as a trie so that a byte-level automaton can find all the tokens that continue its state in one walk,
 * pruning a whole subtree at the first byte it refuses. Tokens with no bytes (control, unknown, unused) and
 * end-of-generation tokens are not in the trie; {@link #endOfGeneration()} lists the latter. Built once per
 * vocabulary (32k tokens take a few milliseconds).
 *
 * <p>Immutable and safe to share between threads.
 */
public final class TokenTrie {
  private final int vocabularySize;
  private final int[] endOfGeneration;
  private final byte[][] tokenBytes;
  // Node 0 is the root. Children of a node are contiguous, sorted by byte: childStart..childStart+childCount.
  private final int[] childStart;
  private final int[] childCount;
  private final byte[] label;
  private final int[] firstToken; // a token whose bytes end at the node, -1 for none
  private final int[] nextToken; // per token: another token with the same bytes, -1 for none

  private TokenTrie(Tokenizer tokenizer) {
    int n = tokenizer.vocabulary().size();
    vocabularySize = n;
    tokenBytes = new byte[n][];
    int eogCount = 0;
    int[] eog = new int[n];
    Integer[] order = new Integer[n];
    int kept = 0;
    for (int t = 0; t < n; t++) {
      tokenBytes[t] = tokenizer.tokenBytes(t, false);
      if (tokenizer.isEndOfGeneration(t)) {
        eog[eogCount++] = t;
      } else if (tokenBytes[t].length > 0) {
        order[kept++] = t;
      }
    }
    endOfGeneration = Arrays.copyOf(eog, eogCount);
    Integer[] sorted = Arrays.copyOf(order, kept);
    Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(tokenBytes[a], tokenBytes[b]));

    // Build breadth-first from the sorted list: a node is a range of sorted tokens sharing a prefix.
    int capacity = 1;
    for (int i = 0; i < kept; i++) {
      capacity += tokenBytes[sorted[i]].length;
    }
    int[] start = new int[capacity];
    int[] count = new int[capacity];
    byte[] labels = new byte[capacity];
    int[] first = new int[capacity];
    Arrays.fill(first, -1);
    nextToken = new int[n];
    Arrays.fill(nextToken, -1);
    int[] rangeFrom = new int[capacity];
    int[] rangeTo = new int[capacity];
    int[] depth = new int[capacity];
    rangeTo[0] = kept;
    int nodes = 1;
    for (int node = 0; node < nodes; node++) {
      int from = rangeFrom[node];
      int to = rangeTo[node];
      int d = depth[node];
      // tokens that end here come first in sorted order
      while (from < to && tokenBytes[sorted[from]].length == d) {
        int t = sorted[from++];
        nextToken[t] = first[node];
        first[node] = t;
      }
      start[node] = nodes;
      while (from < to) {
        byte b = tokenBytes[sorted[from]][d];
        int end = from;
        while (end < to && tokenBytes[sorted[end]][d] == b) {
          end++;
        }
        labels[nodes] = b;
        rangeFrom[nodes] = from;
        rangeTo[nodes] = end;
        depth[nodes] = d + 1;
        nodes++;
        count[node]++;
        from = end;
      }
    }
    childStart = Arrays.copyOf(start, nodes);
    childCount = Arrays.copyOf(count, nodes);
    label = Arrays.copyOf(labels, nodes);
    firstToken = Arrays.copyOf(first, nodes);
  }

  /** The trie of {@code tokenizer}'s vocabulary. */
  public static TokenTrie of(Tokenizer tokenizer) {
    return new TokenTrie(tokenizer);
  }

  public int vocabularySize() {
    return vocabularySize;
  }

  /** The end-of-generation tokens, ascending. */
  public int[] endOfGeneration() {
    return endOfGeneration.clone();
  }

  boolean isEndOfGeneration(int token) {
    return Arrays.binarySearch(endOfGeneration, token) >= 0;
  }

  /** The bytes of {@code token} (empty for control tokens); the array is shared, do not modify it. */
  byte[] bytes(int token) {
    return tokenBytes[token];
  }

  int childStart(int node) {
    return childStart[node];
  }

  int childCount(int node) {
    return childCount[node];
  }

  /** The byte on the edge into {@code node}, 0..255. */
  int label(int node) {
    return label[node] & 0xFF;
  }

  int firstToken(int node) {
    return firstToken[node];
  }

  int nextToken(int token) {
    return nextToken[token];
  }
}
