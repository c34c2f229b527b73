package dev.loupe.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ImportGraph} finds each kind of violation in a small fake repository, and only those. */
class ImportGraphTest {

  @TempDir Path root;

  // Split so that this file does not itself trip the CUDA rule it tests.
  private static final String CUDA_LAUNCH = "cu" + "LaunchKernel";

  private void write(String path, String text) throws IOException {
    Path file = root.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  private void rootPom(String... modules) throws IOException {
    StringBuilder sb = new StringBuilder("<project>\n  <modules>\n");
    for (String m : modules) {
      sb.append("    <module>").append(m).append("</module>\n");
    }
    sb.append("  </modules>\n</project>\n");
    write("pom.xml", sb.toString());
  }

  private static String pom(String... loupeArtifacts) {
    StringBuilder sb = new StringBuilder("<project>\n  <dependencies>\n");
    for (String a : loupeArtifacts) {
      sb.append("    <dependency>\n      <groupId>dev.loupe</groupId>\n")
          .append("      <artifactId>").append(a).append("</artifactId>\n    </dependency>\n");
    }
    sb.append("  </dependencies>\n</project>\n");
    return sb.toString();
  }

  private List<String> violations() throws IOException {
    return ImportGraph.check(root).violations().stream().map(Object::toString).toList();
  }

  @Test
  void a_clean_tree_has_no_violations() throws IOException {
    rootPom("gpu-kernels", "vector-store", "rag-engine", "http");
    write("vector-store/pom.xml", pom("loupe-gpu-kernels"));
    write("http/pom.xml", pom("loupe-rag-engine", "loupe-vector-store"));
    write(
        "rag-engine/src/main/java/dev/loupe/rag/Answer.java",
        """
        package dev.loupe.rag;

        import dev.loupe.gpu.Device; // transitively allowed: rag-engine -> vector-store -> gpu-kernels
        import static dev.loupe.vectorstore.VectorIndex.checkK;

        /** Mentions dev.loupe.http.Main in prose only, which is fine. */
        class Answer {}
        """);
    write(
        "http/src/test/java/dev/loupe/http/StoreTest.java",
        """
        package dev.loupe.http;

        class StoreTest { dev.loupe.vectorstore.VectorIndex index; }
        """);
    write(
        "vector-store/src/main/java/dev/loupe/vectorstore/internal/PanamaDot.java",
        """
        package dev.loupe.vectorstore.internal;

        import jdk.incubator.vector.FloatVector;

        final class PanamaDot {}
        """);
    write(
        "gpu-kernels/src/main/java/dev/loupe/gpu/Driver.java",
        "package dev.loupe.gpu;\nclass Driver { String f = \"" + CUDA_LAUNCH + "\"; }\n");

    assertEquals(List.of(), violations());
  }

  @Test
  void reports_an_import_of_a_module_above() throws IOException {
    rootPom("vector-store", "http");
    write(
        "vector-store/src/main/java/dev/loupe/vectorstore/Bad.java",
        """
        package dev.loupe.vectorstore;

        import dev.loupe.http.Main;

        class Bad {}
        """);

    assertEquals(
        List.of(
            "vector-store/src/main/java/dev/loupe/vectorstore/Bad.java:3: vector-store -> http is"
                + " not an allowed arrow (dev.loupe.http.Main)"),
        violations());
  }

  @Test
  void reports_static_imports_qualified_names_and_reflection_by_name() throws IOException {
    rootPom("embeddings", "indexer", "ui");
    write(
        "indexer/src/test/java/dev/loupe/indexer/BadTest.java",
        """
        package dev.loupe.indexer;

        import static dev.loupe.rag.Prompts.system;

        class BadTest {}
        """);
    write(
        "embeddings/src/main/java/dev/loupe/embeddings/Bad.java",
        """
        package dev.loupe.embeddings;

        class Bad {
          dev.loupe.llm.Model model;
        }
        """);
    write(
        "ui/src/main/java/dev/loupe/ui/Bad.java",
        """
        package dev.loupe.ui;

        class Bad {
          Object x = Class.forName("dev.loupe.http.Main");
        }
        """);

    assertEquals(
        List.of(
            "embeddings/src/main/java/dev/loupe/embeddings/Bad.java:4: embeddings -> llm-runtime"
                + " is not an allowed arrow (dev.loupe.llm.Model)",
            "indexer/src/test/java/dev/loupe/indexer/BadTest.java:3: indexer -> rag-engine is"
                + " not an allowed arrow (dev.loupe.rag.Prompts.system)",
            "ui/src/main/java/dev/loupe/ui/Bad.java:4: ui -> http is not an allowed arrow"
                + " (dev.loupe.http.Main)"),
        violations());
  }

  @Test
  void reports_the_vector_api_outside_panama_files() throws IOException {
    rootPom("vector-store");
    write(
        "vector-store/src/main/java/dev/loupe/vectorstore/flat/ScalarDot.java",
        """
        package dev.loupe.vectorstore.flat;

        import jdk.incubator.vector.FloatVector;

        final class ScalarDot {
          Object species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        }
        """);

    assertEquals(
        List.of(
            "vector-store/src/main/java/dev/loupe/vectorstore/flat/ScalarDot.java:3: uses"
                + " jdk.incubator.vector but only Panama* files may (ScalarDot.java)",
            "vector-store/src/main/java/dev/loupe/vectorstore/flat/ScalarDot.java:6: uses"
                + " jdk.incubator.vector but only Panama* files may (ScalarDot.java)"),
        violations());
  }

  @Test
  void reports_cuda_driver_symbols_outside_gpu_kernels() throws IOException {
    rootPom("llm-runtime");
    write(
        "llm-runtime/src/main/java/dev/loupe/llm/Sneaky.java",
        "package dev.loupe.llm;\n\nclass Sneaky {\n  String f = \"" + CUDA_LAUNCH + "\";\n"
            + "  // a comment may say " + CUDA_LAUNCH + "\n}\n");

    assertEquals(
        List.of(
            "llm-runtime/src/main/java/dev/loupe/llm/Sneaky.java:4: names CUDA driver symbol "
                + CUDA_LAUNCH + " but only gpu-kernels may"),
        violations());
  }

  @Test
  void reports_pom_dependencies_that_break_the_arrows() throws IOException {
    rootPom("vector-store", "http");
    write("vector-store/pom.xml", pom("loupe-gpu-kernels", "loupe-http", "loupe-nonsense"));
    write("http/pom.xml", pom("loupe-vector-store"));

    assertEquals(
        List.of(
            "vector-store/pom.xml:7: vector-store -> http is not an allowed arrow (dependency on"
                + " loupe-http)",
            "vector-store/pom.xml:11: dependency on unknown Loupe artifact loupe-nonsense"),
        violations());
  }

  @Test
  void reports_a_package_declared_in_the_wrong_module_and_a_module_without_rules()
      throws IOException {
    rootPom("indexer", "plugins");
    write(
        "indexer/src/main/java/dev/loupe/http/Smuggled.java",
        "package dev.loupe.http;\n\nclass Smuggled {}\n");

    assertEquals(
        List.of(
            "indexer/src/main/java/dev/loupe/http/Smuggled.java:1: package dev.loupe.http is"
                + " outside dev.loupe.indexer.*, the package root of module indexer",
            "pom.xml:1: module plugins has no entry in the architecture rules of ImportGraph"),
        violations());
  }
}
