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
}
