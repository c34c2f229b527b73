package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BackgroundPriorityTest {

  @Test
  void an_ingestion_thread_runs_at_the_background_nice_value_and_the_others_keep_theirs() throws Exception {
    Optional<Integer> before = BackgroundPriority.currentNice();
    assumeTrue(before.isPresent(), "skipped: thread priorities are not readable here (not Linux, or no native access)");
    assumeTrue(before.get() < BackgroundPriority.NICE, "skipped: the test JVM already runs at nice " + before.get());

    AtomicReference<Optional<Integer>> inside = new AtomicReference<>();
    AtomicReference<Optional<Integer>> child = new AtomicReference<>();
    Thread t = Thread.ofPlatform().start(Ingester.background(() -> {
      inside.set(BackgroundPriority.currentNice());
      // A thread started from a lowered one (a Lucene merge, an extraction) inherits its priority.
      Thread c = Thread.ofPlatform().start(() -> child.set(BackgroundPriority.currentNice()));
      try {
        c.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    t.join();

    assertEquals(Optional.of(BackgroundPriority.NICE), inside.get());
    assertEquals(Optional.of(BackgroundPriority.NICE), child.get());
    assertEquals(before, BackgroundPriority.currentNice(), "the calling thread is untouched");
    assertTrue(BackgroundPriority.lowerCurrentThreadIn(Thread.ofPlatform()), "lowering is allowed without privileges");
  }

  @Test
  void a_body_called_at_background_priority_returns_its_value_and_the_threads_it_starts_inherit_the_priority() throws Exception {
    Optional<Integer> before = BackgroundPriority.currentNice();
    assumeTrue(before.isPresent(), "skipped: thread priorities are not readable here (not Linux, or no native access)");
    assumeTrue(before.get() < BackgroundPriority.NICE, "skipped: the test JVM already runs at nice " + before.get());

    AtomicReference<Optional<Integer>> pool = new AtomicReference<>();
    // As a session's native pool: started inside, running on after the call returns.
    Thread started = BackgroundPriority.call(() -> Thread.ofPlatform().unstarted(() -> pool.set(BackgroundPriority.currentNice())));
    started.start(); // a thread inherits from its creator when it starts; this one starts here, at normal priority
    started.join();
    assertEquals(before, pool.get(), "a thread started by the caller keeps the caller's priority");

    Thread worker = BackgroundPriority.call(() -> Thread.ofPlatform().start(() -> pool.set(BackgroundPriority.currentNice())));
    worker.join();
    assertEquals(Optional.of(BackgroundPriority.NICE), pool.get());
    assertEquals(before, BackgroundPriority.currentNice(), "the calling thread is untouched");

    IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> BackgroundPriority.call(() -> { throw new IllegalStateException("model folder x is damaged"); }));
    assertEquals("model folder x is damaged", e.getMessage());
  }
}
