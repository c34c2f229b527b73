package dev.loupe.rag.search;

/**
 * A query that cannot run because what it needs is missing, most often a model that is not
 * installed ({@link #model()} names it then).
 */
public final class SearchUnavailableException extends RuntimeException {
  private final String model;

  /** @param model the model to install, or null when the missing piece is not a model */
  public SearchUnavailableException(String message, String model) {
    super(message);
    this.model = model;
  }

  /** The model whose installation would make the query run, or null. */
  public String model() {
    return model;
  }
}
