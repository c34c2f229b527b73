package dev.loupe.llm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Throughput probe, not a test: one thread, Q8_0 and Q4_0 matvecs and batched matmuls in both
 * activation modes, printed as GB of weights (times vectors for batches) per CPU-second of the
 * calling thread, so time other processes take from a shared machine does not count. A small
 * matrix (cache-resident) and a large one (streamed from memory) show compute and bandwidth apart.
 *
 * <p>Run after {@code mvn -pl gpu-kernels,llm-runtime test-compile}:
 * <pre>java --add-modules jdk.incubator.vector -cp llm-runtime/target/classes:llm-runtime/target/test-classes \
 *     dev.loupe.llm.tensor.QuantKernelProbe [small-MB] [large-MB] [cols] [Q4_0|Q8_0]</pre>
 * With {@code -Dprobe.duel=true}, each type runs only the file-layout integer kernel against the
 * interleaved one ({@link WeightMatrix#forMode}), alternating, and prints their ratio.
 */
public final class QuantKernelProbe {
  private QuantKernelProbe() {}

  public static void main(String[] args) {
    double small = args.length > 0 ? Double.parseDouble(args[0]) : 4;
    double large = args.length > 1 ? Double.parseDouble(args[1]) : 300;
    int cols = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
    System.out.println("kernels: " + WeightMatrix.kernelsName() + ", cols " + cols);
    try (ComputePool pool = ComputePool.create(1)) {
      String only = args.length > 3 ? args[3] : "";
      for (WeightType type : new WeightType[] {WeightType.Q4_0, WeightType.Q8_0}) {
        if (!only.isEmpty() && !type.toString().equals(only)) {
          continue;
        }
        for (double mb : new double[] {small, large}) {
          run(type, mb, cols, pool);
        }
      }
    }
  }

  private static void run(WeightType type, double megabytes, int cols, ComputePool pool) {
    long rowBytes = type.bytesFor(cols);
    int rows = (int) Math.max(1, megabytes * 1e6 / rowBytes);
    try (Arena arena = Arena.ofShared()) {
      MemorySegment seg = arena.allocate(rowBytes * rows, 64);
      fill(seg, type);
      WeightMatrix m = new WeightMatrix(seg, type, rows, cols);
      float[] xs = randomVector(8 * cols);
      float[] out = new float[8 * rows];
      String size = String.format(Locale.ROOT, "%s %5.0f MB", type, megabytes);
      if (Boolean.getBoolean("probe.duel")) {
        duel(size, m, xs, out, pool);
        return;
      }
      for (ActivationMode mode : ActivationMode.values()) {
        report(size + " matvec  " + mode, m.byteSize(), () -> m.matmul(xs, 0, out, 0, pool, mode));
        for (int n : new int[] {4, 8}) {
          report(size + " batch-" + n + " " + mode, n * m.byteSize(), () -> m.matmulBatch(xs, 0, n, out, 0, pool, mode));
        }
      }
    }
  }

  /**
   * The file-layout integer kernel against the interleaved one ({@link WeightMatrix#forMode}) on
   * the same matrix, alternating round by round so a shared machine's load falls on both alike:
   * each one's median GB/s per CPU-second and the median of the per-round ratios.
   */
  private static void duel(String size, WeightMatrix m, float[] xs, float[] out, ComputePool pool) {
    long t0 = System.nanoTime();
    WeightMatrix mi = m.forMode(ActivationMode.Q8);
    System.out.printf(Locale.ROOT, "%s interleaving took %.0f ms%n", size, (System.nanoTime() - t0) / 1e6);
    for (int n : new int[] {1, 4, 8}) {
      Runnable old = n == 1
          ? () -> m.matmul(xs, 0, out, 0, pool, ActivationMode.Q8)
          : () -> m.matmulBatch(xs, 0, n, out, 0, pool, ActivationMode.Q8);
      Runnable neu = n == 1
          ? () -> mi.matmul(xs, 0, out, 0, pool, ActivationMode.Q8)
          : () -> mi.matmulBatch(xs, 0, n, out, 0, pool, ActivationMode.Q8);
      long bytes = n * m.byteSize();
      int reps = (int) Math.max(1, 400_000_000L / bytes);
      for (int i = 0; i < 2 * reps; i++) {
        old.run();
        neu.run();
      }
      double[] a = new double[9], b = new double[9], ratio = new double[9];
      for (int i = 0; i < a.length; i++) {
        a[i] = rate(old, reps, bytes);
        b[i] = rate(neu, reps, bytes);
        ratio[i] = b[i] / a[i];
      }
      Arrays.sort(a);
      Arrays.sort(b);
      Arrays.sort(ratio);
      System.out.printf(Locale.ROOT, "%s x%d Q8: file layout %6.2f, interleaved %6.2f GB/s per CPU-second, ratio %.2f%n",
          size, n, a[4], b[4], ratio[4]);
    }
  }

  private static double rate(Runnable run, int reps, long bytes) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long c0 = mx.getCurrentThreadCpuTime();
    for (int k = 0; k < reps; k++) {
      run.run();
    }
    return bytes * (double) reps / (mx.getCurrentThreadCpuTime() - c0);
  }

  private static float[] randomVector(int n) {
    SplittableRandom r = new SplittableRandom(42);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) r.nextDouble(-1, 1);
    }
    return x;
  }

  private static void fill(MemorySegment seg, WeightType type) {
    SplittableRandom r = new SplittableRandom(7);
    for (long i = 0; i < seg.byteSize() / 8; i++) {
      seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
    }
    short d = Float.floatToFloat16(0.01f);
    for (long p = 0; p + type.typeSize() <= seg.byteSize(); p += type.typeSize()) {
      seg.set(BlockCodec.I16, p, d);
    }
  }

  private static void report(String what, long bytes, Runnable run) {
    int reps = (int) Math.max(1, 400_000_000L / bytes);
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    for (int i = 0; i < 2 * reps; i++) {
      run.run();
    }
    double[] cpu = new double[7];
    for (int i = 0; i < cpu.length; i++) {
      long c0 = mx.getCurrentThreadCpuTime();
      for (int k = 0; k < reps; k++) {
        run.run();
      }
      cpu[i] = bytes * (double) reps / (mx.getCurrentThreadCpuTime() - c0);
    }
    Arrays.sort(cpu);
    System.out.printf(Locale.ROOT, "%-32s %6.2f GB/s per CPU-second (best %6.2f)%n", what, cpu[cpu.length / 2], cpu[cpu.length - 1]);
  }
}
