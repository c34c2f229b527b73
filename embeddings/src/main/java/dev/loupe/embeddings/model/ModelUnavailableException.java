package dev.loupe.embeddings.model;

import java.io.IOException;

/**
 * A model cannot be used: it is not installed, its download is incomplete, or a file is missing
 * or fails its checksum. The message names the model, the file where one is at fault, and the
 * exact command that fixes it; {@link #fix()} is that command alone, for a UI or a health check.
 */
public final class ModelUnavailableException extends IOException {
  private final String model;
  private final String problem;
  private final String fix;

  ModelUnavailableException(String model, String problem, String fix, String fixSentence) {
    super(problem + "; " + fixSentence);
    this.model = model;
    this.problem = problem;
    this.fix = fix;
  }

  /** The model's name. */
  public String model() {
    return model;
  }

  /** What is wrong, without the fix. */
  public String problem() {
    return problem;
  }

  /** The command that installs or repairs the model, e.g. {@code ./loupe models pull clip-vit-b32}. */
  public String fix() {
    return fix;
  }
}
