package dev.loupe.http;

import dev.loupe.vectorstore.VectorIndex;

/**
 * The vector index the server answers from, with the name the API reports for its
 * implementation ({@code "lucene"}, {@code "flat"}, …). The server owns the index once started
 * and closes it, which commits, when it stops.
 */
public record Store(String kind, VectorIndex index) {
  public Store {
    if (kind == null || kind.isBlank()) {
      throw new IllegalArgumentException("store kind '" + kind + "' must not be blank");
    }
    if (index == null) {
      throw new IllegalArgumentException("store index must not be null");
    }
  }
}
