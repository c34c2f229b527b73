package dev.loupe.rag.search;

import dev.loupe.vectorstore.VectorIndex;
import java.util.Optional;

/**
 * The stored vector of an indexed item, for "more like this". Its shape is that of a {@code
 * VectorIndex::vector} method reference. Empty when the item has no vector (a keyword-only
 * passage) or is unknown.
 */
@FunctionalInterface
public interface VectorLookup {

  /** Answers empty for every item: similar-item search then falls back as {@link Searcher} says. */
  VectorLookup NONE = (index, id) -> Optional.empty();

  Optional<float[]> vector(VectorIndex index, String id);
}
