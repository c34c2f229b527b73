package dev.loupe.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The real source tree obeys the module arrows of the design card; see {@link ImportGraph}. */
class ArchitectureTest {

  private final Path root = RepoRoot.find();

  @Test
  void every_module_references_only_modules_below_it() throws IOException {
    ImportGraph.Report report = ImportGraph.check(root);

    assertTrue(report.violations().isEmpty(), report::describe);
  }

  @Test
  void the_check_scans_every_module_it_has_rules_for() throws IOException {
    // Guards against a vacuous pass: a walker that found no files would report no violations.
    ImportGraph.Report report = ImportGraph.check(root);

    for (ImportGraph.Module module : ImportGraph.MODULES) {
      Integer files = report.javaFilesPerModule().get(module.folder());
      assertTrue(
          files != null && files > 0,
          "module " + module.folder() + " was not scanned (files: " + files + ") under " + root);
    }
  }
}
