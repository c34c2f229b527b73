package dev.loupe.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the repository root that end-to-end tests check and launch from. */
final class RepoRoot {
  private RepoRoot() {}

  /**
   * The folder holding the parent pom: the {@code loupe.repo.root} system property that
   * Surefire sets, or, when a test runs outside Maven, the nearest ancestor of the working
   * directory that holds both {@code pom.xml} and {@code http/pom.xml}.
   */
  static Path find() {
    String property = System.getProperty("loupe.repo.root");
    Path start =
        Path.of(property != null && !property.isBlank() ? property : System.getProperty("user.dir"))
            .toAbsolutePath()
            .normalize();
    for (Path p = start; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isRegularFile(p.resolve("http/pom.xml"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "no Loupe repository root at or above " + start + "; run the tests from the repository with mvn");
  }
}
