package dev.loupe.vectorstore.bench;

/** {@code ./loupe bench vectors}: builds indexes over synthetic data and prints their figures. */
public final class VectorBench {
  private VectorBench() {}

  /** Runs the benchmark with command-line arguments; returns the process exit code. */
  public static int run(String[] args) throws Exception {
    throw new UnsupportedOperationException("not yet written");
  }
}
