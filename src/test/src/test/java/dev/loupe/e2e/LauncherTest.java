package dev.loupe.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ./loupe} bash launcher, run as a user without a JDK 25 would run it. */
class LauncherTest {

  private static final Set<String> JAVA_TOOLS = Set.of("java", "javac");

  private final Path root = RepoRoot.find();

  @TempDir Path temp;

  @Test
  void without_a_jdk_25_the_launcher_says_so_and_exits_1() throws Exception {
    Path script = root.resolve("loupe");
    assumeTrue(Files.isRegularFile(script), "no ./loupe launcher in " + root);
    Optional<Path> bash = onPath("bash");
    assumeTrue(bash.isPresent(), "bash is not installed");
    Path noJvms = Files.createDirectories(temp.resolve("no-jvms"));
    Path bin = Files.createDirectories(temp.resolve("bin"));
    String output;
    int code;
    try {
      ProcessBuilder pb =
          new ProcessBuilder(bash.get().toString(), script.toString(), "version")
              .directory(temp.toFile())
              .redirectErrorStream(true);
      pb.environment().put("JAVA_HOME", "/nonexistent");
      pb.environment().put("LOUPE_JVM_DIRS", noJvms.toString());
      pb.environment().put("PATH", pathWithoutJava(bin));
      Process process = pb.start();
      process.getOutputStream().close();
      output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      code = process.waitFor();
    } finally {
      removeLinks(bin); // ourselves, so @TempDir does not warn about each outside link
    }

    assertEquals(1, code, output);
    assertTrue(output.contains("JDK 25"), output);
  }

  /**
   * The current {@code PATH} minus every {@code java} and {@code javac}. Folders without them
   * are kept as they are; the other programs of folders with them (on most systems {@code
   * /usr/bin} holds {@code java} next to {@code dirname} and {@code awk}) are linked into
   * {@code bin}.
   */
  private static String pathWithoutJava(Path bin) throws IOException {
    List<String> entries = new ArrayList<>();
    entries.add(bin.toString());
    for (String entry : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path dir = Path.of(entry);
      if (!Files.isDirectory(dir)) {
        continue;
      }
      if (JAVA_TOOLS.stream().noneMatch(tool -> Files.exists(dir.resolve(tool)))) {
        entries.add(entry);
        continue;
      }
      try (Stream<Path> programs = Files.list(dir)) {
        for (Path program : programs.toList()) {
          Path link = bin.resolve(program.getFileName());
          if (!JAVA_TOOLS.contains(program.getFileName().toString()) && !Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(link, program);
          }
        }
      }
    }
    return String.join(File.pathSeparator, entries);
  }

  private static void removeLinks(Path bin) throws IOException {
    try (Stream<Path> links = Files.list(bin)) {
      for (Path link : links.toList()) {
        Files.delete(link); // deletes the link, never its target
      }
    }
  }

  private static Optional<Path> onPath(String program) {
    for (String entry : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!entry.isBlank() && Files.isExecutable(Path.of(entry, program))) {
        return Optional.of(Path.of(entry, program));
      }
    }
    return Optional.empty();
  }
}
