package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe serve -Dloupe.ingest.isolated=true} extracts in a child process, with the generated
 * CLIP and passage models installed (a JVM-spawned child died of a stack overflow in ONNX
 * Runtime's set-up on a 1 MB thread stack before OnnxEmbedder.open moved to a 64 MB one): the files dropped into the watch folder are
 * processed by a child JVM at background priority and written by the server; killing the child with {@code -9}
 * costs a retry in a new one, not the file and not the server.
 */
class IsolatedIngestionTest {
  @TempDir Path tmp;

  private static Optional<ProcessHandle> worker() {
    return child(IngestWorker.COMMAND);
  }

  private static Optional<ProcessHandle> child(String subcommand) {
    return ProcessHandle.current().children()
        .filter(p -> commandLine(p).contains(" " + subcommand + " --data "))
        .findFirst();
  }

  /** Checks that {@code child} runs at nice 19 in the idle scheduling class, where /proc and chrt say so. */
  private static void assertBackground(ProcessHandle child) throws java.io.IOException {
    Path nice = Path.of("/proc", Long.toString(child.pid()), "stat");
    if (Files.isReadable(nice)) {
      String stat = Files.readString(nice);
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      assertEquals("19", fields[16], "the child runs at nice 19: " + stat);
      if (Files.isExecutable(Path.of("/usr/bin/chrt")) || Files.isExecutable(Path.of("/bin/chrt"))) {
        assertEquals("5", fields[38], "the child runs in the idle scheduling class (SCHED_IDLE = 5): " + stat);
      }
    }
  }

  /** The whole command line (ProcessHandle.Info cuts it at 4 kB, before a long class path ends). */
  private static String commandLine(ProcessHandle p) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline"))).replace('\0', ' ');
    } catch (java.io.IOException e) {
      return p.info().commandLine().orElse("");
    }
  }

  /** A data folder with the generated CLIP and passage models and a short settle time. */
  private Path dataFolder() throws java.io.IOException {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("loupe.properties"), "ingest.settle-time=100ms\n");
    GeneratedModels.installClip(data);
    GeneratedModels.installTextOnly(data);
    return data;
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    // No time limit: the surefire fork's own timeout ends a hang; this only polls.
    while (!condition.getAsBoolean()) {
      Thread.sleep(50);
    }
  }

  @Test
  void the_server_ingests_through_a_child_process_that_may_die_without_losing_a_file() throws Exception {
    Path data = dataFolder(), watch = tmp.resolve("watch");
    System.setProperty("loupe.ingest.isolated", "true");
    try (LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, watch))) {
      var ingester = server.pipeline().ingester();
      Files.writeString(watch.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
      Files.write(watch.resolve("red.png"), Fixtures.png(java.awt.Color.RED, 64));
      await("the first files", () -> ingester.status().done() == 2);
      assertEquals(0, ingester.status().failed(), ingester.failures().toString());
      assertEquals(1, server.pipeline().visualIndex().size(), "the picture's vector came from the child");
      assertTrue(ingester.processesElsewhere(), "the child started (the server did not fall back to processing files itself)");

      ProcessHandle child = worker().orElseThrow(() -> new AssertionError("no ingest-worker child of this JVM: "
          + ProcessHandle.current().children().map(p -> p.pid() + " " + p.info()).toList()));
      assertNotEquals(ProcessHandle.current().pid(), child.pid());
      assertTrue(commandLine(child).contains(Main.class.getName()), commandLine(child));
      assertBackground(child);

      child.destroyForcibly();
      child.onExit().get();
      Files.writeString(watch.resolve("lighthouse.txt"), "The lighthouse keeper trims the wick before the storm.");
      await("the next file", () -> ingester.status().done() == 3);
      assertEquals(0, ingester.status().failed(), ingester.failures().toString());
      assertTrue(worker().isPresent(), "a new child took over");
      assertNotEquals(child.pid(), worker().orElseThrow().pid());
      assertEquals(2, server.pipeline().textIndex().size(), "both passages are in the index");
    } finally {
      System.clearProperty("loupe.ingest.isolated");
    }
    assertTrue(worker().isEmpty(), "closing the server ends its child");
  }

  @Test
  void the_server_s_indexes_are_written_by_a_child_process_that_may_die_without_losing_an_item() throws Exception {
    Path data = dataFolder(), watch = tmp.resolve("watch");
    System.setProperty("loupe.ingest.isolated", "true");
    dev.loupe.vectorstore.IndexSpec textSpec;
    try (LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, watch))) {
      var ingester = server.pipeline().ingester();
      var text = server.pipeline().textIndex();
      textSpec = text.spec();
      Files.writeString(watch.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
      Files.write(watch.resolve("red.png"), Fixtures.png(java.awt.Color.RED, 64));
      await("the first files", () -> ingester.status().done() == 2);
      assertEquals(0, ingester.status().failed(), ingester.failures().toString());
      ProcessHandle writer = child(IndexWriterWorker.COMMAND).orElseThrow(() -> new AssertionError("no index-writer child of this JVM: "
          + ProcessHandle.current().children().map(p -> p.pid() + " " + commandLine(p)).toList()));
      assertBackground(writer);
      assertTrue(text.toString().startsWith("RemoteIndexes"), "the server searches a read-only view: " + text);
      assertEquals(1, text.keywordSearch("harbour", 5, dev.loupe.vectorstore.Filter.ALL).size(), "a file counted done is searchable");
      assertEquals(1, server.pipeline().visualIndex().size());

      writer.destroyForcibly(); // kill -9, between commits
      writer.onExit().get();
      Files.writeString(watch.resolve("lighthouse.txt"), "The lighthouse keeper trims the wick before the storm.");
      Files.write(watch.resolve("blue.png"), Fixtures.png(java.awt.Color.BLUE, 64));
      await("the next files", () -> ingester.status().done() == 4);
      assertEquals(0, ingester.status().failed(), ingester.failures().toString());
      ProcessHandle next = child(IndexWriterWorker.COMMAND).orElseThrow();
      assertNotEquals(writer.pid(), next.pid(), "a new writer took over");
      assertEquals(2, text.size());
      assertEquals(1, text.keywordSearch("lighthouse", 5, dev.loupe.vectorstore.Filter.ALL).size());
      assertEquals(2, server.pipeline().visualIndex().size());
    } finally {
      System.clearProperty("loupe.ingest.isolated");
    }
    assertTrue(child(IndexWriterWorker.COMMAND).isEmpty(), "closing the server ends its writer");
    // What the server said was done is durable in the directories the writer wrote.
    try (var reopened = dev.loupe.vectorstore.lucene.LuceneVectorIndex.open(data.resolve("index").resolve("text"),
        textSpec, dev.loupe.vectorstore.lucene.LuceneVectorIndex.Options.defaults())) {
      assertEquals(2, reopened.size());
    }
  }
}
