package dev.loupe.rag;

/**
 * Finds the evidence for a question: searches the collection and returns numbered {@link Source}s
 * that fit a token budget. {@link SearchRetriever} is the implementation over the search engine;
 * tests put fixed sources in its place.
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface Retriever {

  /** The sources for {@code query}, within {@code options}' budget. */
  Retrieval retrieve(String query, RetrievalOptions options);

  /** A retriever that never finds anything: answers then say they have no sources. */
  static Retriever none() {
    return (query, options) -> Retrieval.empty(query, "retrieval is off");
  }
}
