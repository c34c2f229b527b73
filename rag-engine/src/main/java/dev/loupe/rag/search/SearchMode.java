package dev.loupe.rag.search;

import java.util.Arrays;
import java.util.Locale;

/**
 * How a text query searches the passages: by their vectors, by BM25, or both fused. Visuals are
 * searched by CLIP vectors in every mode but {@link #KEYWORD}, where BM25 matches their file names.
 */
public enum SearchMode {
  VECTOR,
  KEYWORD,
  HYBRID;

  /** The mode named {@code name} (any case). @throws IllegalArgumentException naming it and the choices */
  public static SearchMode parse(String name) {
    for (SearchMode m : values()) {
      if (m.label().equalsIgnoreCase(name.strip())) {
        return m;
      }
    }
    throw new IllegalArgumentException("mode '" + name + "' is not one of "
        + Arrays.stream(values()).map(SearchMode::label).toList());
  }

  /** The lower-case name used on the wire. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
