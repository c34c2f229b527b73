package dev.loupe.rag;

import java.util.Set;

/**
 * How much evidence a {@link Retriever} gathers and from where.
 *
 * @param maxSources the most sources kept, at least 1
 * @param maxPerDocument the most sources from one document (one content hash), at least 1
 * @param tokenBudget the most tokens the sources may take in the prompt together, at least 1
 * @param types item types to search (the search API's names); empty for every type
 * @param pathPrefix keep only items in files under this prefix; null for any
 * @param from keep only items whose timestamp (frame position or EXIF date, epoch ms) is at least
 *     this, as the search API's {@code from}; null for no lower bound (a date range keeps only
 *     visuals that have a date: passages have none)
 * @param to as {@code from}, the inclusive upper bound
 */
public record RetrievalOptions(int maxSources, int maxPerDocument, int tokenBudget, Set<String> types, String pathPrefix,
    Long from, Long to) {
  /** The most sources any request may ask for. */
  public static final int MAX_SOURCES = 50;

  public RetrievalOptions {
    if (maxSources < 1 || maxSources > MAX_SOURCES) {
      throw new IllegalArgumentException("max sources " + maxSources + " is outside [1, " + MAX_SOURCES + "]");
    }
    if (maxPerDocument < 1) {
      throw new IllegalArgumentException("max sources per document " + maxPerDocument + " must be at least 1");
    }
    if (tokenBudget < 1) {
      throw new IllegalArgumentException("source token budget " + tokenBudget + " must be at least 1");
    }
    types = types == null ? Set.of() : Set.copyOf(types);
    if (from != null && to != null && from > to) {
      throw new IllegalArgumentException("from " + from + " is after to " + to);
    }
  }

  /** Without a date range. */
  public RetrievalOptions(int maxSources, int maxPerDocument, int tokenBudget, Set<String> types, String pathPrefix) {
    this(maxSources, maxPerDocument, tokenBudget, types, pathPrefix, null, null);
  }

  /** Eight sources, at most three per document, within {@code tokenBudget} tokens, every type. */
  public static RetrievalOptions defaults(int tokenBudget) {
    return new RetrievalOptions(8, 3, tokenBudget, Set.of(), null);
  }

  public RetrievalOptions withMaxSources(int n) {
    return new RetrievalOptions(n, maxPerDocument, tokenBudget, types, pathPrefix, from, to);
  }

  public RetrievalOptions withTokenBudget(int budget) {
    return new RetrievalOptions(maxSources, maxPerDocument, budget, types, pathPrefix, from, to);
  }
}
