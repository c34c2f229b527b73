package dev.loupe.indexer.isolate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.ContentProcessor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ChildProcessor} against a real child JVM running {@link ScriptedWorker}. */
class ChildProcessorTest {
  @TempDir Path dir;

  private static ChildProcessor child() {
    return new ChildProcessor(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp", System.getProperty("java.class.path"),
        ScriptedWorker.class.getName()));
  }

  @Test
  void items_failures_and_gone_files_cross_the_process_boundary_unchanged() throws Exception {
    try (ChildProcessor p = child()) {
      var items = assertInstanceOf(ContentProcessor.Items.class, p.process("abc", dir.resolve("ok-1.txt")));
      assertEquals("scripted+novisual", items.extractor());
      assertEquals(2, items.items().size());
      var passage = items.items().get(0);
      assertNull(passage.vector());
      assertEquals("passage of abc ünïcödé", passage.metadata().text());
      assertEquals(2, passage.metadata().page());
      assertEquals("12", passage.metadata().fields().get("end"));
      var visual = items.items().get(1);
      assertTrue(visual.visual());
      assertArrayEquals(new float[] {0.5f, -0.25f, Float.MIN_VALUE, 3e38f}, visual.vector());
      assertEquals("", visual.metadata().text(), "Metadata keeps no text as empty");
      assertEquals(1_700_000_000_000L, visual.metadata().timestamp());

      var failed = assertInstanceOf(ContentProcessor.Failed.class, p.process("def", dir.resolve("bad-1.pdf")));
      assertEquals("encrypted", failed.reason());
      assertEquals(dir.resolve("bad-1.pdf") + " is encrypted", failed.message());
      assertInstanceOf(ContentProcessor.Gone.class, p.process("ghi", dir.resolve("gone-1.txt")));
      IOException e = assertThrows(IOException.class, () -> p.process("jkl", dir.resolve("error-1.txt")));
      assertTrue(e.getMessage().contains("the scripted processor cannot read " + dir.resolve("error-1.txt")), e.getMessage());
      assertEquals(1, p.starts(), "one child served all of these");
    }
  }

  @Test
  void a_file_that_kills_the_child_fails_alone_after_three_attempts_and_the_next_file_gets_a_new_child() throws Exception {
    try (ChildProcessor p = child()) {
      IOException e = assertThrows(IOException.class, () -> p.process("abc", dir.resolve("crash-1.mp4")));
      assertTrue(e.getMessage().contains("died 3 times"), e.getMessage());
      assertTrue(e.getMessage().contains("exit code 139"), e.getMessage());
      assertEquals(3, p.starts());
      assertInstanceOf(ContentProcessor.Items.class, p.process("def", dir.resolve("ok-2.txt")));
      assertEquals(4, p.starts());
      // A crash that does not repeat costs a retry, not the file.
      assertInstanceOf(ContentProcessor.Items.class, p.process("ghi", dir.resolve("crash-once-3.txt")));
      assertEquals(5, p.starts());
    }
  }

  @Test
  void concurrent_callers_share_one_child_and_each_gets_its_own_answer() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (ChildProcessor p = child()) {
      List<Future<ContentProcessor.Processed>> answers = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String sha = "sha" + i;
        Path file = dir.resolve((i % 3 == 0 ? "bad-" : "ok-") + i + ".txt");
        answers.add(pool.submit(() -> p.process(sha, file)));
      }
      for (int i = 0; i < 40; i++) {
        ContentProcessor.Processed r = answers.get(i).get();
        if (i % 3 == 0) {
          assertEquals(dir.resolve("bad-" + i + ".txt") + " is encrypted", ((ContentProcessor.Failed) r).message());
        } else {
          assertEquals("passage of sha" + i + " ünïcödé", ((ContentProcessor.Items) r).items().get(0).metadata().text());
        }
      }
      assertEquals(1, p.starts());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void closing_ends_the_child_and_later_calls_are_refused() throws Exception {
    ChildProcessor p = child();
    p.process("abc", dir.resolve("ok-1.txt"));
    long pid = p.pid().orElseThrow();
    p.close();
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the child " + pid + " has exited");
    assertThrows(InterruptedException.class, () -> p.process("def", dir.resolve("ok-2.txt")));
  }

  @Test
  void a_command_that_is_not_a_worker_is_a_clear_error() {
    try (ChildProcessor p = new ChildProcessor(List.of(ProcessHandle.current().info().command().orElseThrow(), "-version"))) {
      IOException e = assertThrows(IOException.class, () -> p.process("abc", dir.resolve("ok-1.txt")));
      assertTrue(e.getMessage().contains("could not start"), e.getMessage());
    }
  }
}
