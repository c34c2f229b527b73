package dev.loupe.indexer;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Lowers the scheduling priority of the calling thread, so ingestion takes the cores only when
 * searches leave them idle.
 *
 * <p>On Linux each Java platform thread is a kernel task with its own nice value, set with
 * {@code setpriority(PRIO_PROCESS, gettid(), nice)}; threads the task starts later (Lucene's
 * merge threads, extraction threads, native pools) inherit it. Raising one's own nice value needs
 * no privilege. Under the kernel's fair scheduler a task at nice 10 weighs about a tenth of one
 * at nice 0: ingestion still gets every cycle the server's request threads do not want, but a
 * search never waits behind it. Elsewhere (no {@code gettid}/{@code setpriority}) this does
 * nothing.
 *
 * <p>Thread-safe; stateless apart from the looked-up functions.
 */
public final class BackgroundPriority {
  /** The nice value of ingestion threads. */
  static final int NICE = 19;

  private static final int PRIO_PROCESS = 0;
  private static final Optional<Functions> FUNCTIONS = lookup();

  private record Functions(MethodHandle gettid, MethodHandle setpriority, MethodHandle getpriority) {}

  private BackgroundPriority() {}

  /**
   * Sets the calling thread's nice value to {@link #NICE} (never lowering a higher one).
   *
   * @return whether the thread now runs at that priority or lower
   */
  static boolean lowerCurrentThread() {
    if (FUNCTIONS.isEmpty() || Thread.currentThread().isVirtual()) return false;
    Functions f = FUNCTIONS.get();
    try {
      int tid = (int) f.gettid().invokeExact();
      int now = current(f, tid);
      if (now >= NICE) return true;
      return (int) f.setpriority().invokeExact(PRIO_PROCESS, tid, NICE) == 0;
    } catch (Throwable t) {
      return false;
    }
  }

  /**
   * Runs {@code body} on a new platform thread at background priority and returns its result, so
   * that the threads it starts inherit that priority. Open the ingestion's embedders with this:
   * ONNX Runtime starts its intra-op pool when a session is created, and a pool started by a
   * thread at normal priority computes ingestion's embeddings at normal priority, beside the
   * searches.
   *
   * @throws Exception what {@code body} threw (an {@link Error} too)
   */
  public static <T> T call(Callable<T> body) throws Exception {
    Object[] result = new Object[1];
    Throwable[] failure = new Throwable[1];
    Thread t = Thread.ofPlatform().name("loupe-background-start").start(() -> {
      lowerCurrentThread();
      try {
        result[0] = body.call();
      } catch (Throwable e) {
        failure[0] = e;
      }
    });
    t.join();
    switch (failure[0]) {
      case null -> {}
      case Exception e -> throw e;
      case Error e -> throw e;
      default -> throw new IllegalStateException(failure[0]);
    }
    @SuppressWarnings("unchecked")
    T value = (T) result[0];
    return value;
  }

  /** Whether a new thread of {@code builder} manages to lower itself (for tests). */
  static boolean lowerCurrentThreadIn(Thread.Builder.OfPlatform builder) throws InterruptedException {
    boolean[] lowered = new boolean[1];
    builder.start(() -> lowered[0] = lowerCurrentThread()).join();
    return lowered[0];
  }

  /** The calling thread's nice value, or empty where it cannot be read. */
  static Optional<Integer> currentNice() {
    if (FUNCTIONS.isEmpty() || Thread.currentThread().isVirtual()) return Optional.empty();
    Functions f = FUNCTIONS.get();
    try {
      return Optional.of(current(f, (int) f.gettid().invokeExact()));
    } catch (Throwable t) {
      return Optional.empty();
    }
  }

  // getpriority returns the nice value, and -1 both for nice -1 and for errors; errno is not
  // worth reading for a value we only compare against a positive one.
  private static int current(Functions f, int tid) throws Throwable {
    return (int) f.getpriority().invokeExact(PRIO_PROCESS, tid);
  }

  private static Optional<Functions> lookup() {
    if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) return Optional.empty();
    try {
      Linker linker = Linker.nativeLinker();
      SymbolLookup libc = linker.defaultLookup();
      var gettid = libc.find("gettid");
      var setpriority = libc.find("setpriority");
      var getpriority = libc.find("getpriority");
      if (gettid.isEmpty() || setpriority.isEmpty() || getpriority.isEmpty()) return Optional.empty();
      return Optional.of(new Functions(
          linker.downcallHandle(gettid.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT)),
          linker.downcallHandle(setpriority.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
              ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)),
          linker.downcallHandle(getpriority.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
              ValueLayout.JAVA_INT))));
    } catch (RuntimeException | LinkageError e) {
      // No native access (--enable-native-access not given) or no libc symbols: run unlowered.
      return Optional.empty();
    }
  }
}
