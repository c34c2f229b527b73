package dev.loupe.llm.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The threads a forward pass computes on: {@code threads − 1} workers of its own plus the calling
 * thread, which always takes part (so one thread means no workers and no hand-off at all).
 *
 * <p>A decode step calls {@link #forRange} about eight times per layer, each for well under a
 * millisecond of work, so the hand-off is built to cost microseconds: the workers are platform
 * threads that spin for a while ({@link Thread#onSpinWait}) after each range before they park, a
 * range is published with one volatile write, and nothing is allocated per call. {@code [0, n)} is
 * handed out in contiguous chunks from a shared counter, guided: each chunk is a {@code 1/(2·threads)}
 * share of what is left, so the first chunks are long runs of rows a thread streams through and
 * the last are single indices, and the threads finish within about one index of each other (with
 * fixed thirds, a thread could wait most of a chunk, 5% of a decode step). A thread slowed by
 * another process takes fewer chunks and does not hold up the rest.
 *
 * <p>Thread-safe: one range runs on the pool at a time; a caller that finds the pool busy (another
 * session, or a {@code forRange} inside a range body) runs its range alone on its own thread. The
 * caller decides the thread count (a model server shares the machine). Close it to stop the workers.
 */
public final class ComputePool implements AutoCloseable {
  /** Work on {@code [start, end)} of a range. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int start, int end);
  }

  /** How long an idle worker spins before it parks: long enough to span the gaps between a layer's matmuls. */
  private static final long SPIN_NANOS = 200_000;

  private final int threads;
  private final Thread[] workers;
  private final ReentrantLock busy = new ReentrantLock();

  // The range being run; written by the caller before the volatile generation bump that publishes it.
  private RangeBody body;
  private int n;
  private final AtomicInteger nextStart = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  private volatile long generation;
  private volatile boolean closed;
  private volatile Throwable failure;
  // 1 while worker i is parked or about to park; volatile on both sides, so a range is never missed.
  private final AtomicIntegerArray parked;

  private ComputePool(int threads) {
    this.threads = threads;
    this.workers = new Thread[threads - 1];
    this.parked = new AtomicIntegerArray(Math.max(0, threads - 1));
    for (int i = 0; i < workers.length; i++) {
      int id = i;
      workers[i] = Thread.ofPlatform().daemon().name("loupe-compute-" + (i + 1)).unstarted(() -> work(id));
      workers[i].start();
    }
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
    if (threads == 1 || n == 1 || closed || !busy.tryLock()) {
      body.run(0, n);
      return;
    }
    try {
      this.body = body;
      this.n = n;
      this.failure = null;
      nextStart.set(0);
      running.set(workers.length);
      generation = generation + 1; // publishes the fields above
      for (int i = 0; i < workers.length; i++) {
        if (parked.get(i) != 0) {
          LockSupport.unpark(workers[i]);
        }
      }
      RuntimeException mine = null;
      Error mineError = null;
      try {
        drain();
      } catch (RuntimeException e) {
        mine = e;
      } catch (Error e) {
        mineError = e;
      }
      // Spin for the workers' last chunks; yield once that takes long (a worker was descheduled on a busy machine).
      for (int spins = 0; running.get() != 0; spins++) {
        if (spins < 20_000) {
          Thread.onSpinWait();
        } else {
          Thread.yield();
        }
      }
      this.body = null;
      Throwable theirs = failure;
      if (mineError != null) throw mineError;
      if (mine != null) throw mine;
      if (theirs instanceof RuntimeException e) throw e;
      if (theirs instanceof Error e) throw e;
      if (theirs != null) throw new IllegalStateException("a compute worker failed: " + theirs, theirs);
    } finally {
      busy.unlock();
    }
  }

  private void drain() {
    RangeBody b = body;
    int total = n, share = 2 * threads;
    for (int start; (start = nextStart.get()) < total; ) {
      int end = start + Math.max(1, (total - start) / share);
      if (nextStart.compareAndSet(start, end)) {
        b.run(start, end);
      }
    }
  }

  private void work(int id) {
    long seen = 0;
    while (true) {
      long spinUntil = System.nanoTime() + SPIN_NANOS;
      long g;
      while ((g = generation) == seen && !closed) {
        if (System.nanoTime() < spinUntil) {
          Thread.onSpinWait();
        } else {
          parked.set(id, 1);
          // Re-read after announcing: a range published before the flag was seen is not missed.
          if (generation == seen && !closed) {
            LockSupport.park(this);
          }
          parked.set(id, 0);
          spinUntil = System.nanoTime() + SPIN_NANOS;
        }
      }
      if (closed) {
        return;
      }
      seen = g;
      try {
        drain();
      } catch (Throwable t) {
        failure = t;
        nextStart.set(n); // the others stop taking chunks
      } finally {
        running.decrementAndGet();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
  }

  @Override
  public String toString() {
    return "ComputePool[" + threads + " threads]";
  }
}
