package dev.loupe.vectorstore.vectorization;

import java.util.Locale;

/**
 * Chooses the {@link VectorOps} implementation once per JVM, after Lucene's
 * {@code VectorizationProvider}: the Vector API version when the {@code jdk.incubator.vector}
 * module is present and the CPU has 256-bit or wider vectors, else the scalar reference. The
 * system property {@code loupe.vectorization} forces a choice ({@code panama} or {@code scalar}); a
 * forced choice that cannot load fails with the fix, auto-detection falls back with a warning.
 */
final class VectorOpsProvider {
  // LOG first: static initializers run in order and choose() logs.
  private static final System.Logger LOG = System.getLogger(VectorOpsProvider.class.getName());

  static final VectorOps INSTANCE = choose(System.getProperty("loupe.vectorization", "auto"));

  private VectorOpsProvider() {}

  static VectorOps choose(String wanted) {
    return switch (wanted.toLowerCase(Locale.ROOT)) {
      case "scalar" -> log(new ScalarVectorOps(), "forced by -Dloupe.vectorization=scalar");
      case "panama" -> {
        try {
          yield log(panama(), "forced by -Dloupe.vectorization=panama");
        } catch (LinkageError | UnsupportedOperationException e) {
          throw new IllegalStateException(
              "-Dloupe.vectorization=panama but the Vector API cannot be used (" + e
                  + "); run the JVM with --add-modules jdk.incubator.vector on a JDK 25+"
                  + " (./loupe does this)", e);
        }
      }
      case "auto" -> {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
          LOG.log(System.Logger.Level.WARNING,
              "Vector API not enabled; using scalar vector operations. Add --add-modules"
                  + " jdk.incubator.vector to the JVM flags (./loupe does this) for the fast path.");
          yield new ScalarVectorOps();
        }
        try {
          yield log(panama(), "auto-detected");
        } catch (LinkageError | UnsupportedOperationException e) {
          LOG.log(System.Logger.Level.WARNING, "Vector API unusable (" + e + "); using scalar vector operations");
          yield new ScalarVectorOps();
        }
      }
      default -> throw new IllegalArgumentException(
          "loupe.vectorization '" + wanted + "' must be auto, panama or scalar");
    };
  }

  private static VectorOps panama() {
    return new PanamaVectorOps();
  }

  private static VectorOps log(VectorOps ops, String why) {
    LOG.log(System.Logger.Level.INFO, "vector operations: " + ops + " (" + why + ")");
    return ops;
  }
}
