package dev.loupe.llm.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads a forward pass computes on: {@code threads − 1} pooled workers plus the calling
 * thread, which always takes part (so one thread means no pool and no hand-off at all).
 *
 * <p>{@link #forRange} splits {@code [0, n)} into about four chunks per thread, handed out from a
 * shared counter so a thread slowed by another process does not hold up the rest. The caller
 * decides the thread count (a model server shares the machine). Thread-safe; close it to stop the
 * workers.
 */
public final class ComputePool implements AutoCloseable {
  /** Work on {@code [start, end)} of a range. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int start, int end);
  }

  private final int threads;
  private final ForkJoinPool workers;

  private ComputePool(int threads) {
    this.threads = threads;
    this.workers = threads > 1 ? new ForkJoinPool(threads - 1) : null;
  }

  /** A pool computing on {@code threads} threads (≥ 1), the caller's included. */
  public static ComputePool create(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("thread count " + threads + " must be at least 1");
    }
    return new ComputePool(threads);
  }

  /** A single-threaded pool: everything runs on the caller. */
  public static ComputePool singleThreaded() {
    return new ComputePool(1);
  }

  /** The number of threads, the caller's included. */
  public int threads() {
    return threads;
  }

  /** Runs {@code body} over {@code [0, n)} split into chunks, returning when all are done. */
  public void forRange(int n, RangeBody body) {
    if (n <= 0) {
      return;
    }
    int chunks = Math.min(n, threads == 1 ? 1 : threads * 4);
    if (chunks == 1) {
      body.run(0, n);
      return;
    }
    AtomicInteger next = new AtomicInteger();
    Runnable drain = () -> {
      for (int c; (c = next.getAndIncrement()) < chunks; ) {
        body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
      }
    };
    int helpers = Math.min(threads - 1, chunks - 1);
    ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[helpers];
    for (int i = 0; i < helpers; i++) {
      tasks[i] = workers.submit(drain);
    }
    drain.run();
    for (ForkJoinTask<?> t : tasks) {
      t.join();
    }
  }

  @Override
  public void close() {
    if (workers != null) {
      workers.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "ComputePool[" + threads + " threads]";
  }
}
