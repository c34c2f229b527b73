package dev.loupe.http;

import dev.loupe.indexer.ContentProcessor;
import dev.loupe.indexer.IngestConfig;
import dev.loupe.indexer.IngestSettings;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.isolate.ChildServer;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The ingestion child of {@code loupe serve}: {@code loupe ingest-worker --data DIR} (not for
 * people to run) opens the data folder's models, extractors and chunking as the server does and
 * answers the server's contents over standard input and output ({@link ChildServer}); it writes
 * thumbnails into the data folder and nothing else (the server holds the journal and indexes).
 * Its messages go to standard error, which is the server's.
 */
final class IngestWorker {
  static final String COMMAND = "ingest-worker";

  private IngestWorker() {}

  /**
   * The command line that starts a worker for {@code dataDir}: this JVM with its flags and class
   * path (debugging and profiling agents left out), in Linux's idle scheduling class ({@code chrt
   * --idle 0}) and at {@code nice -n 19} where those tools exist, so that the child's collector
   * and compiler threads are background work too.
   *
   * <p>Nice 19 alone is not enough: a server thread that wakes (a request, a collector worker, a
   * thread leaving a safepoint) may still wait for a nice-19 task to finish its time slice, and a
   * young collection wakes threads several times. An idle-class task is preempted at once; with it
   * the load run's p99 was 11.9–15.3 ms in five runs, against 15.6 and 22.4–22.9 ms at nice 19
   * alone (BENCHMARKS.md, fifth round; a noisy machine, so a tendency rather than a proof).
   */
  static List<String> command(Path dataDir) {
    return command(COMMAND, List.of("--data", dataDir.toAbsolutePath().toString()));
  }

  /** The same for any of loupe's background children: {@code loupe SUBCOMMAND ARGS...} in the idle class at nice 19. */
  static List<String> command(String subcommand, List<String> args) {
    List<String> cmd = new ArrayList<>();
    for (String chrt : List.of("/usr/bin/chrt", "/bin/chrt")) {
      if (Files.isExecutable(Path.of(chrt))) {
        cmd.addAll(List.of(chrt, "--idle", "0"));
        break;
      }
    }
    for (String nice : List.of("/usr/bin/nice", "/bin/nice")) {
      if (Files.isExecutable(Path.of(nice))) {
        cmd.addAll(List.of(nice, "-n", "19"));
        break;
      }
    }
    cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-agentlib") || a.startsWith("-javaagent") || a.startsWith("-Xlog") || a.startsWith("-XX:StartFlightRecording")
          || a.startsWith("-Xrunjdwp") || a.startsWith("-Xdebug")) {
        continue;
      }
      cmd.add(a);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.add(subcommand);
    cmd.addAll(args);
    return cmd;
  }

  /** Runs the worker: {@code args} are {@code ingest-worker --data DIR}. Returns the exit code. */
  static int run(String[] args, PrintStream err) throws Exception {
    if (args.length != 3 || !args[1].equals("--data")) {
      err.println("loupe: usage: loupe " + COMMAND + " --data DIR (started by loupe serve, not by hand)");
      return 2;
    }
    Path dataDir = Path.of(args[2]);
    // Standard output carries the answers: nothing else may write to it.
    OutputStream answers = new FileOutputStream(FileDescriptor.out);
    System.setOut(System.err);
    IngestSettings settings = Settings.load(dataDir).ingest();
    List<AutoCloseable> open = new ArrayList<>();
    try {
      Pipeline.Processing processing = Pipeline.openProcessing(dataDir, settings, open, err);
      ContentProcessor processor = Ingester.processor(settings.apply(IngestConfig.defaults(dataDir)), Extractors.standard(),
          processing.chunker(), processing.text(), processing.visual());
      open.add(processor);
      ChildServer.serve(System.in, answers, processor);
      return 0;
    } finally {
      Pipeline.closeAll(open, err);
    }
  }
}
