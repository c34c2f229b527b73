package dev.loupe.http;

import dev.loupe.indexer.IngestStatus;
import dev.loupe.indexer.IngestSummary;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.watch.SkipRules;
import dev.loupe.indexer.journal.FileFailure;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.indexer.journal.JournalStatus;
import dev.loupe.vectorstore.durable.DirectoryLock;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code loupe ingest PATH...} and {@code loupe status}: the one-shot ingest over the data
 * folder's {@link Pipeline}, and the journal's counts (or, while {@code loupe serve} runs on the
 * folder, the server's).
 */
final class IngestCommand {
  private IngestCommand() {}

  static int ingest(Path dataDir, List<Path> paths, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    for (Path p : paths) {
      if (!Files.exists(p)) {
        err.println("loupe ingest: " + p + " does not exist");
        return 2;
      }
    }
    Files.createDirectories(dataDir);
    try (Pipeline pipeline = Pipeline.open(dataDir, err)) {
      Ingester ingester = pipeline.ingester();
      IngestSummary summary;
      ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("loupe-progress").unstarted(r));
      boolean terminal = System.console() != null;
      // The total is counted beside the ingest (a walk of the folders, skipping what the watcher skips).
      java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong(-1);
      Thread.ofVirtual().name("loupe-count").start(() -> total.set(countFiles(paths)));
      progress.scheduleAtFixedRate(() -> err.print(progressLine(ingester.progressOf(paths), total.get(), ingester.status(), terminal)),
          1, terminal ? 1 : 10, TimeUnit.SECONDS);
      try {
        summary = ingester.ingest(paths);
      } finally {
        progress.shutdownNow();
        if (terminal) err.println();
      }
      out.printf(Locale.ROOT, "%d files: %d done, %d failed; %d items%n", summary.files(), summary.done(), summary.failed(), summary.items());
      for (FileFailure f : summary.failures()) {
        out.printf(Locale.ROOT, "  failed %s: %s (%s)%n", f.path(), f.failure().message(), f.failure().reason());
      }
      return summary.failed() == 0 ? 0 : 1;
    }
  }

  /**
   * Prints the journal's counts and failures. While a {@code loupe serve} holds the journal, asks
   * that server instead ({@link LiveStatus}); the journal is tried first, so a {@code serve.json}
   * left by a killed server is never read while the folder is free.
   */
  static int status(Path dataDir, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    if (!Files.isDirectory(dataDir.resolve("journal"))) {
      out.println("nothing ingested yet under " + dataDir);
      return 0;
    }
    IngestJournal opened;
    try {
      opened = Pipeline.openJournal(dataDir);
    } catch (IOException e) {
      if (e instanceof DirectoryLock.HeldException || e.getCause() instanceof DirectoryLock.HeldException) {
        return LiveStatus.print(dataDir, e, out);
      }
      throw e;
    }
    try (IngestJournal journal = opened) {
      JournalStatus s = journal.status();
      out.printf(Locale.ROOT, "%d files: %d done, %d pending, %d failed; %d items from %d distinct contents%n",
          s.files(), s.done(), s.pending(), s.failed(), s.items(), s.contents());
      s.failedByReason().forEach((reason, n) -> out.printf(Locale.ROOT, "  %s: %d%n", reason, n));
      for (FileFailure f : journal.failures()) {
        out.printf(Locale.ROOT, "  failed %s: %s%n", f.path(), f.failure().message());
      }
      return 0;
    }
  }

  /**
   * One progress line: files finished of the total under the paths (once counted), failures,
   * items, the rate over the last half minute and the time left at that rate.
   *
   * @param total files under the paths, or -1 while they are being counted
   */
  static String progressLine(IngestSummary mine, long total, IngestStatus s, boolean terminal) {
    long finished = mine.done() + mine.failed();
    String of = total < 0 ? "" : " of " + Math.max(total, finished);
    String left = "";
    if (total >= 0 && s.filesPerSecond() > 0 && total > finished) {
      left = String.format(Locale.ROOT, ", about %d s left", (long) Math.ceil((total - finished) / s.filesPerSecond()));
    }
    String line = String.format(Locale.ROOT, "ingest: %d%s files done (%d failed); %d items; %.1f files/s%s%s",
        finished, of, mine.failed(), mine.items(), s.filesPerSecond(), left, s.state() == IngestStatus.State.PAUSED ? "; paused" : "");
    return terminal ? "\r" + line + "\u001b[K" : line + System.lineSeparator();
  }

  /** Regular files under {@code paths} that the watcher would take (hidden and temporary names skipped); links not followed. */
  static long countFiles(List<Path> paths) {
    SkipRules rules = SkipRules.defaults();
    long n = 0;
    for (Path root : paths) {
      if (Files.isRegularFile(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        n++;
        continue;
      }
      try (java.util.stream.Stream<Path> s = Files.walk(root)) {
        n += s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
            .filter(p -> {
              for (Path part : root.relativize(p)) {
                if (rules.skips(part.toString())) return false;
              }
              return true;
            })
            .count();
      } catch (IOException | java.io.UncheckedIOException e) {
        return -1; // unreadable somewhere: no total rather than a wrong one
      }
    }
    return n;
  }

}
