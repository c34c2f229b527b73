package dev.loupe.llm.tensor;

import java.util.Locale;

/**
 * Chooses the {@link KernelOps} once per JVM, after Lucene's {@code VectorizationProvider} (and
 * the vector store's {@code VectorOpsProvider}): the Vector API kernels when {@code
 * jdk.incubator.vector} is present and the CPU has 256-bit or wider vectors, else the scalar
 * reference. The system property {@code loupe.llm.kernels} forces a choice ({@code panama} or
 * {@code scalar}); a forced choice that cannot load fails with the fix, auto-detection falls back
 * with a warning.
 */
final class KernelOpsProvider {
  // LOG first: static initializers run in order and choose() logs.
  private static final System.Logger LOG = System.getLogger(KernelOpsProvider.class.getName());

  static final KernelOps INSTANCE = choose(System.getProperty("loupe.llm.kernels", "auto"));

  private KernelOpsProvider() {}

  static KernelOps choose(String wanted) {
    return switch (wanted.toLowerCase(Locale.ROOT)) {
      case "scalar" -> log(new ScalarKernelOps(), "forced by -Dloupe.llm.kernels=scalar");
      case "panama" -> {
        try {
          yield log(new PanamaKernelOps(), "forced by -Dloupe.llm.kernels=panama");
        } catch (LinkageError | UnsupportedOperationException e) {
          throw new IllegalStateException(
              "-Dloupe.llm.kernels=panama but the Vector API cannot be used (" + e
                  + "); run the JVM with --add-modules jdk.incubator.vector on a JDK 25+ (./loupe does this)", e);
        }
      }
      case "auto" -> {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
          LOG.log(System.Logger.Level.WARNING,
              "Vector API not enabled; using scalar LLM kernels. Add --add-modules jdk.incubator.vector"
                  + " to the JVM flags (./loupe does this) for the fast path.");
          yield new ScalarKernelOps();
        }
        try {
          yield log(new PanamaKernelOps(), "auto-detected");
        } catch (LinkageError | UnsupportedOperationException e) {
          LOG.log(System.Logger.Level.WARNING, "Vector API unusable (" + e + "); using scalar LLM kernels");
          yield new ScalarKernelOps();
        }
      }
      default -> throw new IllegalArgumentException(
          "loupe.llm.kernels '" + wanted + "' must be auto, panama or scalar");
    };
  }

  private static KernelOps log(KernelOps ops, String why) {
    LOG.log(System.Logger.Level.INFO, "LLM kernels: " + ops + " (" + why + ")");
    return ops;
  }
}
