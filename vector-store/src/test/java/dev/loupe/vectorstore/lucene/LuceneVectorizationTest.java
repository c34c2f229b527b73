package dev.loupe.vectorstore.lucene;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lucene scores vectors with its Panama (Java Vector API) provider when the JVM runs with {@code
 * --add-modules jdk.incubator.vector}, and falls back to the scalar provider without it.
 */
class LuceneVectorizationTest {

  @TempDir Path dir;

  @Test
  void lucene_uses_the_panama_provider_in_the_test_jvm() {
    assertTrue(
        ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
        "the test JVM lacks --add-modules jdk.incubator.vector; surefire's argLine must pass"
            + " ${loupe.jvm.flags}");
    assertEquals(LuceneVectorization.PANAMA_PROVIDER, LuceneVectorIndex.vectorizationProvider());
  }

  @Test
  void a_jvm_with_the_vector_module_logs_lucenes_panama_start_up_line() throws Exception {
    ChildRun run = runProbe(true);
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.stdout().contains("provider=" + LuceneVectorization.PANAMA_PROVIDER), run.toString());
    // Lucene's own line, captured by the probe and also printed by JUL's console handler.
    assertTrue(run.stdout().contains("log=Java vector incubator API enabled; uses preferredBitSize="), run.toString());
    assertTrue(run.stderr().contains("Java vector incubator API enabled"), run.toString());
  }

  @Test
  void a_jvm_without_the_vector_module_falls_back_to_the_default_provider() throws Exception {
    ChildRun run = runProbe(false);
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.stdout().contains("provider=" + LuceneVectorization.DEFAULT_PROVIDER), run.toString());
    assertTrue(run.stdout().contains("log=Java vector incubator module is not readable"), run.toString());
  }

  private record ChildRun(int exitCode, String stdout, String stderr) {}

  private ChildRun runProbe(boolean vectorModule) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElseThrow());
    if (vectorModule) {
      command.addAll(List.of("--add-modules", "jdk.incubator.vector"));
    }
    command.addAll(
        List.of(
            "-cp", System.getProperty("java.class.path"), LuceneVectorizationProbe.class.getName()));
    Path out = dir.resolve("stdout.txt");
    Path err = dir.resolve("stderr.txt");
    // Output goes to files, so a chatty child can never block on a full pipe.
    Process child = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    int exit = child.waitFor();
    return new ChildRun(
        exit, Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }
}
