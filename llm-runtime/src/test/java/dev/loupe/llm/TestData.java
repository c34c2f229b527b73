package dev.loupe.llm;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real small files in {@code ../shared/testdata} (the stories260K llama2.c model, tokenizers),
 * beside the repository root. Tests that need them are skipped, with the reason, where that folder is absent.
 */
public final class TestData {
  private TestData() {}

  /** The repository root: the {@code loupe.repo.root} property Maven sets, else the working directory's parents. */
  public static Path repoRoot() {
    String property = System.getProperty("loupe.repo.root");
    if (property != null && !property.isBlank()) {
      return Path.of(property).toAbsolutePath().normalize();
    }
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("loupe")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    return dir;
  }

  /** {@code ../shared/testdata/<relative>}, or the test is skipped with a message saying what is missing. */
  public static Path shared(String relative) {
    Path testdata = repoRoot().resolveSibling("shared").resolve("testdata");
    Path p = testdata.resolve(relative);
    assumeTrue(Files.exists(p), "skipped: " + p + " is absent (the shared test data lives beside the repository, in ../shared/testdata)");
    return p;
  }

  /** The stories260K llama2.c checkpoint. */
  public static Path stories260K() {
    return shared("models/stories260K/stories260K.bin");
  }

  /** The stories260K tokenizer in llama2.c's format. */
  public static Path tok512() {
    return shared("models/stories260K/tok512.bin");
  }
}
