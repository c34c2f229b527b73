package dev.loupe.embeddings;

/** The kinds of input an embedder may accept. */
public enum Modality {
  TEXT,
  IMAGE;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
