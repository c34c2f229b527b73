package dev.loupe.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checks a Loupe source tree against the module dependency rules: which module's packages each
 * source file and each module pom may reference, that only {@code Panama*} files use the Vector
 * API, and that only {@code gpu-kernels} names CUDA driver symbols.
 *
 * <p>It reads source text rather than class files so that it sees test sources and reports the
 * exact line. Comments are ignored (prose may name any package); string literals count for the
 * {@code dev.loupe} and CUDA rules, because {@code Class.forName("dev.loupe.http.Main")} and
 * {@code lookup.find("cuInit")} are real dependencies, but not for the Vector API rule, which is
 * about imports and type names.
 */
public final class ImportGraph {

  /** One broken rule at one place. {@code line} is 1-based. */
  public record Violation(Path file, int line, String message) {
    @Override
    public String toString() {
      return file.toString().replace('\\', '/') + ":" + line + ": " + message;
    }
  }

  /** A Loupe module: its folder relative to the repository root and its package root. */
  record Module(String folder, String artifactId, String packageRoot) {}

  static final List<Module> MODULES =
      List.of(
          new Module("gpu-kernels", "loupe-gpu-kernels", "dev.loupe.gpu"),
          new Module("vector-store", "loupe-vector-store", "dev.loupe.vectorstore"),
          new Module("embeddings", "loupe-embeddings", "dev.loupe.embeddings"),
          new Module("llm-runtime", "loupe-llm-runtime", "dev.loupe.llm"),
          new Module("indexer", "loupe-indexer", "dev.loupe.indexer"),
          new Module("rag-engine", "loupe-rag-engine", "dev.loupe.rag"),
          new Module("ui", "loupe-ui", "dev.loupe.ui"),
          new Module("http", "loupe-http", "dev.loupe.http"),
          new Module("src/test", "loupe-e2e-tests", "dev.loupe.e2e"));

  /** The arrows of the design card; everything reachable along them is allowed too. */
  static final Map<String, Set<String>> DIRECT_ARROWS =
      Map.of(
          "gpu-kernels", Set.of(),
          "embeddings", Set.of(),
          "ui", Set.of(),
          "vector-store", Set.of("gpu-kernels"),
          "llm-runtime", Set.of("gpu-kernels"),
          "indexer", Set.of("embeddings", "vector-store"),
          "rag-engine", Set.of("llm-runtime", "vector-store", "embeddings"),
          "http", Set.of("rag-engine", "indexer", "ui"),
          "src/test", Set.of("http"));

  private static final List<String> SOURCE_ROOTS = List.of("src/main/java", "src/test/java");

  private static final Pattern MODULE_LINE = Pattern.compile("<module>\\s*([^<\\s]+)\\s*</module>");
  private static final Pattern IMPORT =
      Pattern.compile("^\\s*import\\s+(static\\s+)?([\\w.]+(?:\\s*\\.\\s*\\*)?)\\s*;");
  private static final Pattern PACKAGE = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;");
  private static final Pattern LOUPE_REFERENCE =
      Pattern.compile("\\bdev\\.loupe\\.([A-Za-z_]\\w*)((?:\\.\\w+)*)");
  private static final Pattern VECTOR_API = Pattern.compile("\\bjdk\\.incubator\\.vector\\b");

  // The CUDA driver library and entry points. The character classes keep this file from
  // matching its own pattern.
  private static final Pattern CUDA_SYMBOL =
      Pattern.compile(
          "\\b(?:libcud[a]|libnvrt[c]|nvcuda\\.dl[l]|cu(?:Init|DriverGetVersion|Device\\w+|Ctx\\w+"
              + "|Mem\\w+|Memcpy\\w*|Memset\\w+|Module\\w+|LaunchKernel\\w*|Stream\\w+|Event\\w+"
              + "|GetErrorString|GetErrorName|FuncGetAttribute|FuncSetAttribute))\\b");

  private static final Pattern DEPENDENCY =
      Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL);
  private static final Pattern GROUP_ID = Pattern.compile("<groupId>\\s*([^<\\s]+)\\s*</groupId>");
  private static final Pattern ARTIFACT_ID =
      Pattern.compile("<artifactId>\\s*([^<\\s]+)\\s*</artifactId>");

  private final Path root;
  private final Map<String, Module> byFolder = new LinkedHashMap<>();
  private final Map<String, Set<String>> allowed = new LinkedHashMap<>();
  private final Map<String, Integer> filesPerModule = new LinkedHashMap<>();

  private ImportGraph(Path root) {
    this.root = root;
    for (Module m : MODULES) {
      byFolder.put(m.folder(), m);
    }
    for (String folder : DIRECT_ARROWS.keySet()) {
      allowed.put(folder, reachable(folder));
    }
  }

  /** The result of one check: what was scanned and what broke the rules. */
  public record Report(Map<String, Integer> javaFilesPerModule, List<Violation> violations) {
    public Report {
      javaFilesPerModule = Map.copyOf(javaFilesPerModule);
      violations = List.copyOf(violations);
    }

    /** The violations one per line, for an assertion message. */
    public String describe() {
      StringBuilder sb = new StringBuilder();
      sb.append(violations.size()).append(" architecture violation(s):");
      for (Violation v : violations) {
        sb.append("\n  ").append(v);
      }
      return sb.toString();
    }
  }

  /** Checks the source tree and module poms under {@code root}, the repository root. */
  public static Report check(Path root) throws IOException {
    return new ImportGraph(root).run();
  }

  private Report run() throws IOException {
    List<Violation> violations = new ArrayList<>();
    for (String folder : declaredModules()) {
      Module module = byFolder.get(folder);
      Path pom = root.resolve(folder).resolve("pom.xml");
      if (module == null || !allowed.containsKey(folder)) {
        violations.add(
            new Violation(
                root.relativize(root.resolve("pom.xml")),
                1,
                "module " + folder + " has no entry in the architecture rules of ImportGraph"));
        continue;
      }
      filesPerModule.put(folder, 0);
      if (Files.isRegularFile(pom)) {
        checkPom(module, pom, violations);
      }
      for (String sourceRoot : SOURCE_ROOTS) {
        Path dir = root.resolve(folder).resolve(sourceRoot);
        if (!Files.isDirectory(dir)) {
          continue;
        }
        for (Path file : javaFiles(dir)) {
          filesPerModule.merge(folder, 1, Integer::sum);
          checkSource(module, file, violations);
        }
      }
    }
    violations.sort(
        Comparator.comparing((Violation v) -> v.file().toString())
            .thenComparingInt(Violation::line));
    return new Report(filesPerModule, violations);
  }

  private List<String> declaredModules() throws IOException {
    String pom = Files.readString(root.resolve("pom.xml"), StandardCharsets.UTF_8);
    List<String> folders = new ArrayList<>();
    Matcher m = MODULE_LINE.matcher(stripXmlComments(pom));
    while (m.find()) {
      folders.add(m.group(1).replaceAll("/+$", ""));
    }
    return folders;
  }

  private static List<Path> javaFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(".java") && Files.isRegularFile(p))
          .sorted()
          .toList();
    }
  }

  private void checkSource(Module module, Path file, List<Violation> out) throws IOException {
    Path shown = root.relativize(file);
    String text = Files.readString(file, StandardCharsets.UTF_8);
    Views views = Views.of(text);
    String fileName = file.getFileName().toString();
    boolean panama = fileName.startsWith("Panama");
    boolean gpu = module.folder().equals("gpu-kernels");

    for (int i = 0; i < views.code().size(); i++) {
      int lineNo = i + 1;
      String code = views.code().get(i);
      String codeAndStrings = views.codeAndStrings().get(i);

      Matcher pkg = PACKAGE.matcher(code);
      if (pkg.find()) {
        if (!inPackageRoot(pkg.group(1), module.packageRoot())) {
          out.add(
              new Violation(
                  shown,
                  lineNo,
                  "package " + pkg.group(1) + " is outside " + module.packageRoot()
                      + ".*, the package root of module " + module.folder()));
        }
        continue; // the declaration names the file's own package, not a dependency
      }

      Matcher ref = LOUPE_REFERENCE.matcher(codeAndStrings);
      while (ref.find()) {
        String segment = ref.group(1);
        String target = moduleOfSegment(segment);
        String what = "dev.loupe." + segment + ref.group(2);
        if (target == null) {
          out.add(
              new Violation(
                  shown, lineNo, "reference to " + what + ", a package that belongs to no module"));
        } else if (!target.equals(module.folder())
            && !allowed.get(module.folder()).contains(target)) {
          out.add(
              new Violation(
                  shown,
                  lineNo,
                  module.folder() + " -> " + target + " is not an allowed arrow (" + what + ")"));
        }
      }

      Matcher imp = IMPORT.matcher(code);
      boolean vectorImport = imp.find() && VECTOR_API.matcher(imp.group(2)).find();
      if (!panama && (vectorImport || VECTOR_API.matcher(code).find())) {
        out.add(
            new Violation(
                shown,
                lineNo,
                "uses jdk.incubator.vector but only Panama* files may (" + fileName + ")"));
      }

      if (!gpu) {
        Matcher cuda = CUDA_SYMBOL.matcher(codeAndStrings);
        if (cuda.find()) {
          out.add(
              new Violation(
                  shown,
                  lineNo,
                  "names CUDA driver symbol " + cuda.group() + " but only gpu-kernels may"));
        }
      }
    }
  }

  private void checkPom(Module module, Path pom, List<Violation> out) throws IOException {
    Path shown = root.relativize(pom);
    String text = stripXmlComments(Files.readString(pom, StandardCharsets.UTF_8));
    Matcher dep = DEPENDENCY.matcher(text);
    while (dep.find()) {
      String body = dep.group(1);
      Matcher group = GROUP_ID.matcher(body);
      Matcher artifact = ARTIFACT_ID.matcher(body);
      if (!group.find() || !group.group(1).equals("dev.loupe") || !artifact.find()) {
        continue;
      }
      int lineNo = lineOf(text, dep.start());
      String artifactId = artifact.group(1);
      Module target =
          MODULES.stream().filter(m -> m.artifactId().equals(artifactId)).findFirst().orElse(null);
      if (target == null) {
        out.add(new Violation(shown, lineNo, "dependency on unknown Loupe artifact " + artifactId));
      } else if (!target.folder().equals(module.folder())
          && !allowed.get(module.folder()).contains(target.folder())) {
        out.add(
            new Violation(
                shown,
                lineNo,
                module.folder() + " -> " + target.folder()
                    + " is not an allowed arrow (dependency on " + artifactId + ")"));
      }
    }
  }

  private Set<String> reachable(String from) {
    Set<String> seen = new LinkedHashSet<>();
    ArrayDeque<String> todo = new ArrayDeque<>(DIRECT_ARROWS.getOrDefault(from, Set.of()));
    while (!todo.isEmpty()) {
      String next = todo.pop();
      if (seen.add(next)) {
        todo.addAll(DIRECT_ARROWS.getOrDefault(next, Set.of()));
      }
    }
    return Set.copyOf(seen);
  }

  private static String moduleOfSegment(String segment) {
    for (Module m : MODULES) {
      if (m.packageRoot().equals("dev.loupe." + segment)) {
        return m.folder();
      }
    }
    return null;
  }

  private static boolean inPackageRoot(String pkg, String packageRoot) {
    return pkg.equals(packageRoot) || pkg.startsWith(packageRoot + ".");
  }

  private static int lineOf(String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) {
      if (text.charAt(i) == '\n') {
        line++;
      }
    }
    return line;
  }

  private static String stripXmlComments(String xml) {
    // Blank comments but keep their newlines so line numbers stay right.
    Matcher m = Pattern.compile("<!--.*?-->", Pattern.DOTALL).matcher(xml);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(sb, Matcher.quoteReplacement(m.group().replaceAll("[^\n]", " ")));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /**
   * A Java file split into lines twice: once with comments and literals blanked ({@code code})
   * and once with only comments blanked ({@code codeAndStrings}). Both keep every line, so
   * indexes are line numbers minus one.
   */
  record Views(List<String> code, List<String> codeAndStrings) {

    static Views of(String text) {
      StringBuilder code = new StringBuilder(text.length());
      StringBuilder withStrings = new StringBuilder(text.length());
      int i = 0;
      int n = text.length();
      while (i < n) {
        char c = text.charAt(i);
        if (c == '/' && i + 1 < n && text.charAt(i + 1) == '/') {
          int end = text.indexOf('\n', i);
          end = end < 0 ? n : end;
          blank(text, i, end, code, withStrings);
          i = end;
        } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '*') {
          int end = text.indexOf("*/", i + 2);
          end = end < 0 ? n : end + 2;
          blank(text, i, end, code, withStrings);
          i = end;
        } else if (text.startsWith("\"\"\"", i)) {
          int end = literalEnd(text, i + 3, "\"\"\"");
          blankLiteral(text, i, end, code, withStrings);
          i = end;
        } else if (c == '"' || c == '\'') {
          int end = literalEnd(text, i + 1, String.valueOf(c));
          blankLiteral(text, i, end, code, withStrings);
          i = end;
        } else {
          code.append(c);
          withStrings.append(c);
          i++;
        }
      }
      return new Views(lines(code), lines(withStrings));
    }

    /** Index just past the closing delimiter, honouring backslash escapes. */
    private static int literalEnd(String text, int from, String close) {
      int i = from;
      while (i < text.length()) {
        char c = text.charAt(i);
        if (c == '\\') {
          i += 2;
        } else if (text.startsWith(close, i)) {
          return i + close.length();
        } else if (c == '\n' && close.length() == 1) {
          return i; // an unterminated literal; the compiler will complain, not us
        } else {
          i++;
        }
      }
      return text.length();
    }

    private static void blank(
        String text, int from, int to, StringBuilder code, StringBuilder withStrings) {
      for (int i = from; i < to; i++) {
        char c = text.charAt(i) == '\n' ? '\n' : ' ';
        code.append(c);
        withStrings.append(c);
      }
    }

    private static void blankLiteral(
        String text, int from, int to, StringBuilder code, StringBuilder withStrings) {
      for (int i = from; i < to; i++) {
        char c = text.charAt(i);
        code.append(c == '\n' ? '\n' : ' ');
        withStrings.append(c);
      }
    }

    private static List<String> lines(CharSequence s) {
      return List.of(s.toString().split("\n", -1));
    }
  }
}
