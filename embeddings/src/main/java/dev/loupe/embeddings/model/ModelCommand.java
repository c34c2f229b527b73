package dev.loupe.embeddings.model;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code loupe models}: list, pull, import, verify and remove embedding models. Progress and
 * errors go to {@code err}, results to {@code out}. Exit codes: 0 done, 1 failed (the message
 * says why and what to run), 2 bad command line (one line naming the problem, then the usage).
 */
public final class ModelCommand {

  /** The usage text. */
  public static final String USAGE =
      """
      Usage: loupe models <command> [--data DIR]

      Commands:
        list                       known and installed models: size and status
        pull NAME [--trust-on-first-use]
                                   download NAME from its source, resuming an earlier
                                   try; check every file's sha256; install it whole
        import DIR [--name NAME] [--trust-on-first-use]
                                   install files copied by hand into DIR (for machines
                                   without internet): DIR holds a model.json, or the
                                   files in the layout of a known model
        verify NAME                hash every file of an installed model again
        remove NAME                delete an installed model and any partial download
        help                       this text

      Options:
        --data DIR                 the data folder; models live in DIR/models
        --trust-on-first-use       for a model this release does not pin: accept the
                                   files, and record the sha256 they have now
      """;

  private ModelCommand() {}

  /** Runs {@code loupe models ARGS} and returns the exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Console console = System.console();
    boolean terminal = err == System.err && console != null && console.isTerminal();
    return run(args, out, err, ModelCatalog.builtIn(), ModelManager.Options.defaults(), terminal);
  }

  /** A parsed command line. */
  private record Line(String command, List<String> operands, Path data, String name, boolean trust) {}

  static int run(
      String[] args, PrintStream out, PrintStream err, ModelCatalog catalog,
      ModelManager.Options options, boolean terminal) {
    Line line;
    try {
      line = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe models: " + e.getMessage());
      err.println();
      err.print(USAGE);
      return 2;
    }
    if (line.command().equals("help")) {
      out.print(USAGE);
      return 0;
    }
    ModelManager manager = new ModelManager(ModelManager.modelsDir(line.data()), catalog, options);
    try {
      return switch (line.command()) {
        case "list" -> list(manager, out);
        case "pull" -> pull(manager, line, err, out, terminal);
        case "import" -> importDir(manager, line, err, out, terminal);
        case "verify" -> verify(manager, line.operands().getFirst(), out);
        case "remove" -> remove(manager, line.operands().getFirst(), out, err);
        default -> throw new AssertionError(line.command());
      };
    } catch (IllegalArgumentException | IOException e) {
      err.println("loupe models: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("loupe models: interrupted; a pull resumes where it stopped when run again");
      return 1;
    }
  }

  private static Line parse(String[] args) {
    List<String> operands = new ArrayList<>();
    Path data = null;
    String name = null;
    boolean trust = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (flag) {
        case "--help", "-h" -> {
          return new Line("help", List.of(), null, null, false);
        }
        case "--trust-on-first-use" -> {
          if (value != null) {
            throw new IllegalArgumentException("option --trust-on-first-use takes no value");
          }
          trust = true;
        }
        case "--data", "--name" -> {
          if (value == null) {
            if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
              throw new IllegalArgumentException("option " + flag + " needs a value");
            }
            value = args[++i];
          }
          if (value.isBlank()) {
            throw new IllegalArgumentException("option " + flag + " needs a value, got ''");
          }
          if (flag.equals("--data")) {
            data = Path.of(value);
          } else {
            name = value;
          }
        }
        default -> {
          if (arg.startsWith("-")) {
            throw new IllegalArgumentException("unknown option '" + arg + "'");
          }
          operands.add(arg);
        }
      }
    }
    if (operands.isEmpty()) {
      throw new IllegalArgumentException("no command given; expected list, pull, import, verify or remove");
    }
    String command = operands.removeFirst();
    int wanted =
        switch (command) {
          case "help", "list" -> 0;
          case "pull", "import", "verify", "remove" -> 1;
          default -> throw new IllegalArgumentException("unknown command '" + command + "'");
        };
    if (operands.size() < wanted) {
      throw new IllegalArgumentException(
          command + " needs " + (command.equals("import") ? "a folder: import DIR" : "a model name: " + command + " NAME"));
    }
    if (operands.size() > wanted) {
      throw new IllegalArgumentException("unexpected argument '" + operands.get(wanted) + "' for " + command);
    }
    if (name != null && !command.equals("import")) {
      throw new IllegalArgumentException("option --name is for import only");
    }
    if (trust && !command.equals("pull") && !command.equals("import")) {
      throw new IllegalArgumentException("option --trust-on-first-use is for pull and import only");
    }
    if (data == null && !command.equals("help")) {
      throw new IllegalArgumentException("models needs the data folder: --data DIR");
    }
    return new Line(command, List.copyOf(operands), data, name, trust);
  }

  private static int list(ModelManager manager, PrintStream out) throws IOException {
    List<ModelManager.Entry> entries = manager.list();
    String format = "%-20s %-10s %5s %10s  %s%n";
    out.printf(Locale.ROOT, format, "NAME", "FAMILY", "DIM", "SIZE", "STATUS");
    List<String> fixes = new ArrayList<>();
    for (ModelManager.Entry e : entries) {
      ModelManifest m = e.manifest();
      String status = e.status().describe();
      if (m != null && !m.pinned() && !(e.status() instanceof ModelManager.Status.Installed)) {
        status += " (not pinned)";
      }
      out.printf(Locale.ROOT, format, e.name(),
          m == null ? "?" : m.family().name().toLowerCase(Locale.ROOT),
          m == null ? "?" : String.valueOf(m.dimension()),
          m == null ? "?" : ModelManager.formatBytes(m.totalBytes()),
          status);
      if (e.status() instanceof ModelManager.Status.Corrupt || e.status() instanceof ModelManager.Status.Incomplete) {
        fixes.add(e.name() + ": " + manager.fixCommand(e.name()));
      }
    }
    out.println();
    out.println("models folder: " + manager.modelsDir());
    if (!fixes.isEmpty()) {
      out.println("to repair or resume:");
      fixes.forEach(f -> out.println("  " + f));
    }
    return 0;
  }

  private static int pull(ModelManager manager, Line line, PrintStream err, PrintStream out, boolean terminal)
      throws IOException, InterruptedException {
    String name = line.operands().getFirst();
    ProgressBar bar = new ProgressBar(err, terminal, name, System::nanoTime);
    InstalledModel model;
    try {
      model = manager.pull(name, line.trust(), bar);
    } finally {
      bar.finish();
    }
    out.println(installedLine(model));
    return 0;
  }

  private static int importDir(ModelManager manager, Line line, PrintStream err, PrintStream out, boolean terminal)
      throws IOException {
    ProgressBar bar = new ProgressBar(err, terminal, "import", System::nanoTime);
    InstalledModel model;
    try {
      model = manager.importFrom(Path.of(line.operands().getFirst()), line.name(), line.trust(), bar);
    } finally {
      bar.finish();
    }
    out.println(installedLine(model));
    return 0;
  }

  private static int verify(ModelManager manager, String name, PrintStream out) throws IOException {
    InstalledModel model = manager.verify(name);
    out.println(name + ": " + model.manifest().files().size() + " files match their sha256 ("
        + ModelManager.formatBytes(model.manifest().totalBytes()) + " in " + model.dir() + ")");
    return 0;
  }

  private static int remove(ModelManager manager, String name, PrintStream out, PrintStream err) throws IOException {
    if (!manager.remove(name)) {
      err.println("loupe models: model " + name + " is not installed in " + manager.modelsDir());
      return 1;
    }
    out.println("removed " + name + " from " + manager.modelsDir());
    return 0;
  }

  private static String installedLine(InstalledModel model) {
    ModelManifest m = model.manifest();
    return "installed " + m.name() + " in " + model.dir() + " (" + m.files().size() + " files, "
        + ModelManager.formatBytes(m.totalBytes()) + ", sha256 verified)";
  }
}
