package dev.loupe.indexer.extract;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The budget of one file's extraction: the size check made before a file is opened
 * ({@link ExtractionLimits#maxFileBytes()}) and the time limit
 * ({@link ExtractionLimits#maxTimePerFile()}).
 *
 * <p>The time limit counts the extractor's own work only: time spent inside the sink (the
 * consumer applying back-pressure, an embedder behind a full queue) extends the deadline, so a
 * long PDF is not failed because the pipeline behind it is slow.
 *
 * <p>Parsers (PDFBox, Tika) cannot be stopped from outside and a malicious file can keep one busy
 * for ever, so {@link #run} runs the work on a thread of its own and returns at the deadline with
 * {@link ExtractionException.Reason#OVER_LIMIT}, whatever the parser is doing. The abandoned
 * thread is interrupted and can no longer hand anything to the sink; it stops at its next
 * {@link #check()} (extractors call it between pages and in their content handlers), or, for a
 * parser stuck in a loop of its own, runs on as a daemon thread until it ends.
 *
 * <p>Thread-safe: {@link #check()} and {@link #expired()} may be called from any thread.
 */
public final class Deadline {

  /** How often the runner looks again while the worker is inside the sink. */
  private static final long SINK_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final Path file;
  private final Duration budget;
  private final LongSupplier clock;
  /** The deadline, moved later by the time spent in the sink. Written by the worker only. */
  private volatile long endNanos;
  /** Whether the worker is inside the sink now; the clock is stopped meanwhile. */
  private volatile boolean inSink;

  Deadline(Path file, Duration budget, LongSupplier clock) {
    this.file = file;
    this.budget = budget;
    this.clock = clock;
    this.endNanos = clock.getAsLong() + budget.toNanos();
  }

  /**
   * Fails with {@code OVER_LIMIT} when {@code file} is larger than
   * {@link ExtractionLimits#maxFileBytes()}; called before the file is opened.
   *
   * @throws IOException when the file's size cannot be read (missing, unreadable)
   */
  public static void checkSize(Path file, ExtractionLimits limits) throws IOException, ExtractionException {
    long size = Files.size(file);
    if (size > limits.maxFileBytes()) {
      throw new ExtractionException(ExtractionException.Reason.OVER_LIMIT, file + " is " + size
          + " bytes, over the limit of " + limits.maxFileBytes() + " bytes per file (maxFileBytes)");
    }
  }

  /** Whether the budget is spent (never while the sink is being called). */
  public boolean expired() {
    return !inSink && clock.getAsLong() - endNanos >= 0;
  }

  /** Fails with {@link #overLimit()} when the budget is spent. */
  public void check() throws ExtractionException {
    if (expired()) {
      throw overLimit();
    }
  }

  /** The exception that says the file ran out of time, naming the file and the limit. */
  public ExtractionException overLimit() {
    return new ExtractionException(ExtractionException.Reason.OVER_LIMIT,
        file + " took longer than the limit of " + describe(budget) + " per file (maxTimePerFile)");
  }

  /** The work of one extraction, given the deadline to check and the sink to hand pieces to. */
  @FunctionalInterface
  public interface Task {
    void run(Deadline deadline, Consumer<Extracted> sink) throws IOException, ExtractionException;
  }

  /**
   * Runs {@code task} on a thread of its own and waits for it until the deadline
   * ({@link ExtractionLimits#maxTimePerFile()} of the task's own time). Pieces reach {@code sink}
   * on that thread, one at a time, and never after this method has returned; what the task throws
   * is rethrown here, and an exception thrown by {@code sink} itself is rethrown as it is, whatever
   * the parser made of it on its way out.
   *
   * @throws ExtractionException {@code OVER_LIMIT} when the time is up, or what the task threw
   * @throws InterruptedIOException when the calling thread is interrupted while it waits (the
   *     work is abandoned and the interrupt flag kept)
   */
  public static void run(Path file, ExtractionLimits limits, Consumer<Extracted> sink, Task task)
      throws IOException, ExtractionException {
    Objects.requireNonNull(sink, "sink");
    Deadline deadline = new Deadline(file, limits.maxTimePerFile(), System::nanoTime);
    GuardedSink guarded = deadline.guard(sink);
    FutureTask<Void> work = new FutureTask<>(() -> {
      task.run(deadline, guarded);
      return null;
    });
    Thread worker = Thread.ofPlatform().daemon().name("loupe-extract " + file.getFileName()).unstarted(work);
    worker.start();
    try {
      while (true) {
        long wait = deadline.inSink ? SINK_POLL_NANOS : deadline.endNanos - System.nanoTime();
        try {
          work.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
          break;
        } catch (TimeoutException e) {
          if (deadline.expired()) {
            worker.interrupt(); // first, so that a sink blocked on a full queue lets go of the guard
            guarded.close();
            throw deadline.overLimit();
          }
        }
      }
    } catch (InterruptedException e) {
      worker.interrupt();
      guarded.close();
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted = new InterruptedIOException("extraction of " + file + " was interrupted");
      interrupted.initCause(e);
      throw interrupted;
    } catch (ExecutionException e) {
      RuntimeException fromSink = guarded.failure();
      if (fromSink != null) {
        throw fromSink;
      }
      switch (e.getCause()) {
        case ExtractionException x -> throw x;
        case IOException x -> throw x;
        case RuntimeException x -> throw x;
        case Error x -> throw x;
        default -> throw new IllegalStateException("extraction of " + file + " failed", e.getCause());
      }
    }
    RuntimeException fromSink = guarded.failure();
    if (fromSink != null) {
      throw fromSink; // a parser swallowed it: the sink's failure still ends the extraction
    }
  }

  /** {@code sink} wrapped so that the time spent in it does not count against this deadline. */
  GuardedSink guard(Consumer<Extracted> sink) {
    return new GuardedSink(sink);
  }

  /** "10 min", "1.5 s", "200 ms", "1 ns". */
  static String describe(Duration d) {
    if (d.compareTo(Duration.ofMillis(1)) < 0) {
      return d.toNanos() + " ns";
    }
    long ms = d.toMillis();
    if (ms >= 60_000 && ms % 60_000 == 0) {
      return ms / 60_000 + " min";
    }
    if (ms >= 1_000) {
      return (ms % 1_000 == 0 ? String.valueOf(ms / 1_000) : String.valueOf(ms / 1_000.0)) + " s";
    }
    return ms + " ms";
  }

  /**
   * Hands pieces on while the extraction is wanted, with the deadline's clock stopped; once closed
   * (the caller gave up), the worker's next piece fails instead. Remembers what the delegate
   * threw, so that a parser wrapping it cannot turn the sink's failure into a "corrupt file".
   */
  final class GuardedSink implements Consumer<Extracted> {
    private final Consumer<Extracted> delegate;
    private boolean closed;
    private RuntimeException failure;

    private GuardedSink(Consumer<Extracted> delegate) {
      this.delegate = delegate;
    }

    @Override
    public synchronized void accept(Extracted piece) {
      if (closed) {
        throw new CancellationException("the extraction was abandoned (time limit or interrupt)");
      }
      long start = clock.getAsLong();
      inSink = true;
      try {
        delegate.accept(piece);
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        }
        throw e;
      } finally {
        endNanos += clock.getAsLong() - start; // before inSink is cleared: readers see the later deadline
        inSink = false;
      }
    }

    /** After this returns, no piece is being handed on and none will be. */
    synchronized void close() {
      closed = true;
    }

    synchronized RuntimeException failure() {
      return failure;
    }
  }
}
