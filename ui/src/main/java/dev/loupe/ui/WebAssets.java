package dev.loupe.ui;

/**
 * Where the browser UI's files lie on the class path, for the server that hosts them at {@code /}.
 * A constant holder; nothing here has state.
 */
public final class WebAssets {
  /** The class-path folder holding {@code index.html}, its modules and its style sheet. */
  public static final String CLASSPATH_DIRECTORY = "/dev/loupe/ui/web";

  private WebAssets() {}
}
