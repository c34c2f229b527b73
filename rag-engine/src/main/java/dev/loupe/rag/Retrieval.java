package dev.loupe.rag;

import java.util.List;

/**
 * What a {@link Retriever} found for one query: the sources that fit the budget, numbered from 1
 * in rank order, and what it cost.
 *
 * @param query the query searched
 * @param sources the sources kept, best first
 * @param tokens the tokens the kept sources take together
 * @param dropped hits left out because the budget or the per-document limit had no room for them
 * @param tookNanos the whole retrieval, embedding the query included
 * @param notes what the search spaces said when they ran degraded or not at all (a model missing)
 */
public record Retrieval(String query, List<Source> sources, int tokens, int dropped, long tookNanos, List<String> notes) {
  public Retrieval {
    sources = List.copyOf(sources);
    notes = List.copyOf(notes);
  }

  /** Nothing found (or nothing searched), with why. */
  public static Retrieval empty(String query, String note) {
    return new Retrieval(query, List.of(), 0, 0, 0, note == null ? List.of() : List.of(note));
  }

  /** Milliseconds, for people and JSON. */
  public double tookMillis() {
    return tookNanos / 1e6;
  }
}
