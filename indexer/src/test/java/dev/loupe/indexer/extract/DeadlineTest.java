package dev.loupe.indexer.extract;

import static dev.loupe.indexer.extract.Extraction.limits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.RgbImage;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeadlineTest {

  @TempDir Path dir;
  private final Path file = Path.of("some/file.pdf");
  private static final Extracted PIECE = new Extracted.Text("x", 0, 0);

  @Test
  void a_task_still_running_at_the_deadline_fails_and_can_hand_on_nothing_afterwards() throws Exception {
    CountDownLatch release = new CountDownLatch(1), done = new CountDownLatch(1);
    AtomicReference<RuntimeException> late = new AtomicReference<>();
    List<Extracted> pieces = new ArrayList<>();

    ExtractionException e = assertThrows(ExtractionException.class,
        () -> Deadline.run(file, limits().maxTimePerFile(Duration.ofMillis(20)).build(), pieces::add, (deadline, out) -> {
          // A parser that notices neither the deadline nor the interrupt the runner sends.
          boolean released = false;
          while (!released) {
            try {
              release.await();
              released = true;
            } catch (InterruptedException ignored) {
              // carries on regardless, as a stuck parser would
            }
          }
          try {
            out.accept(PIECE);
          } catch (RuntimeException refused) {
            late.set(refused);
          } finally {
            done.countDown();
          }
        }));
    release.countDown();
    done.await();

    assertEquals(ExtractionException.Reason.OVER_LIMIT, e.reason());
    assertEquals(file + " took longer than the limit of 20 ms per file (maxTimePerFile)", e.getMessage());
    assertEquals(List.of(), pieces, "nothing reaches the sink after the runner gave up");
    assertInstanceOf(CancellationException.class, late.get());
  }

  @Test
  void check_fails_once_the_budget_is_spent() throws Exception {
    AtomicReference<ExtractionException> thrown = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);

    ExtractionException e = assertThrows(ExtractionException.class,
        () -> Deadline.run(file, limits().maxTimePerFile(Duration.ofNanos(1)).build(), p -> {}, (deadline, out) -> {
          try {
            while (!deadline.expired()) {
              Thread.onSpinWait();
            }
            deadline.check();
          } catch (ExtractionException x) {
            thrown.set(x);
            throw x;
          } finally {
            done.countDown();
          }
        }));
    done.await();

    assertEquals(e.getMessage(), thrown.get().getMessage(), "the worker's check and the runner say the same");
    assertEquals(ExtractionException.Reason.OVER_LIMIT, thrown.get().reason());
  }

  @Test
  void time_spent_in_the_sink_does_not_count() {
    long[] now = {1_000};
    Deadline deadline = new Deadline(file, Duration.ofNanos(100), () -> now[0]);
    Consumer<Extracted> sink = deadline.guard(piece -> {
      now[0] += 5_000; // the consumer applies back-pressure for a long while
      assertFalse(deadline.expired(), "the clock is stopped inside the sink");
    });

    now[0] = 1_060; // 60 of the 100 spent
    sink.accept(PIECE);

    assertEquals(6_060, now[0]);
    assertFalse(deadline.expired(), "still 40 to go");
    now[0] = 6_099;
    assertFalse(deadline.expired());
    now[0] = 6_100;
    assertTrue(deadline.expired());
  }

  @Test
  void pieces_reach_the_sink_and_the_task_s_failures_come_back_as_they_are() throws Exception {
    List<Extracted> pieces = new ArrayList<>();
    Deadline.run(file, ExtractionLimits.defaults(), pieces::add, (deadline, out) -> {
      out.accept(PIECE);
      out.accept(new Extracted.Visual(Extracted.Kind.IMAGE, new RgbImage(1, 1, new byte[3]), 0, -1, Map.of()));
    });
    assertEquals(2, pieces.size());

    ExtractionException corrupt = new ExtractionException(ExtractionException.Reason.CORRUPT, "bad");
    assertSame(corrupt, assertThrows(ExtractionException.class,
        () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {}, (d, out) -> { throw corrupt; })));
    IOException io = new IOException("disk");
    assertSame(io, assertThrows(IOException.class, () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {}, (d, out) -> { throw io; })));
    IllegalStateException bug = new IllegalStateException("bug");
    assertSame(bug, assertThrows(IllegalStateException.class,
        () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {}, (d, out) -> { throw bug; })));
  }

  @Test
  void a_sink_failure_comes_back_even_when_the_parser_wraps_or_swallows_it() {
    IllegalStateException full = new IllegalStateException("queue closed");
    // A parser that turns everything into its own exception...
    assertSame(full, assertThrows(IllegalStateException.class, () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {
      throw full;
    }, (d, out) -> {
      try {
        out.accept(PIECE);
      } catch (RuntimeException e) {
        throw new ExtractionException(ExtractionException.Reason.CORRUPT, "parser: " + e.getMessage(), e);
      }
    })));
    // ...and one that swallows it.
    assertSame(full, assertThrows(IllegalStateException.class, () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {
      throw full;
    }, (d, out) -> {
      try {
        out.accept(PIECE);
      } catch (RuntimeException ignored) {
        // swallowed
      }
    })));
  }

  @Test
  void an_interrupted_caller_abandons_the_work_and_keeps_its_interrupt() {
    Thread.currentThread().interrupt();
    try {
      assertThrows(InterruptedIOException.class, () -> Deadline.run(file, ExtractionLimits.defaults(), p -> {}, (d, out) -> {
        try {
          Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void the_size_check_names_the_file_its_size_and_the_limit() throws Exception {
    Path f = dir.resolve("ten.bin");
    Files.write(f, new byte[10]);

    Deadline.checkSize(f, limits().maxFileBytes(10).build());
    ExtractionException e = assertThrows(ExtractionException.class, () -> Deadline.checkSize(f, limits().maxFileBytes(9).build()));

    assertEquals(ExtractionException.Reason.OVER_LIMIT, e.reason());
    assertEquals(f + " is 10 bytes, over the limit of 9 bytes per file (maxFileBytes)", e.getMessage());
    assertThrows(java.nio.file.NoSuchFileException.class, () -> Deadline.checkSize(dir.resolve("absent"), ExtractionLimits.defaults()));
  }

  @Test
  void durations_read_as_people_write_them() {
    assertEquals("10 min", Deadline.describe(Duration.ofMinutes(10)));
    assertEquals("90 s", Deadline.describe(Duration.ofSeconds(90)));
    assertEquals("1.5 s", Deadline.describe(Duration.ofMillis(1500)));
    assertEquals("200 ms", Deadline.describe(Duration.ofMillis(200)));
    assertEquals("1 ns", Deadline.describe(Duration.ofNanos(1)));
    assertFalse(Deadline.describe(Duration.ofHours(2)).isEmpty());
  }
}
