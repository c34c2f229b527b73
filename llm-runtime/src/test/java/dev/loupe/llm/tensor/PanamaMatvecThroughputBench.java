package dev.loupe.llm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Throughput probe, not a test: streams a ~1 GB Q8_0 and Q4_0 weight matrix through {@link
 * WeightMatrix#matmul} on 1 and 2 threads (also interleaved, {@link WeightMatrix#forMode})
 * and prints the weight bytes per second, next to a plain streaming read of the same memory (the
 * bandwidth bound a memory-bound matvec can reach), and the batched matmul of 8 vectors (prefill),
 * counted as weight bytes × vectors per second.
 *
 * <p>Run after {@code mvn -pl gpu-kernels,llm-runtime test-compile}:
 * <pre>java --add-modules jdk.incubator.vector -cp llm-runtime/target/classes:llm-runtime/target/test-classes \
 *     dev.loupe.llm.tensor.PanamaMatvecThroughputBench [megabytes] [cols]</pre>
 */
public final class PanamaMatvecThroughputBench {
  private PanamaMatvecThroughputBench() {}

  public static void main(String[] args) {
    double megabytes = args.length > 0 ? Double.parseDouble(args[0]) : 1024;
    int cols = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
    System.out.println("kernels: " + WeightMatrix.kernelsName() + ", cols " + cols + ", ~" + megabytes + " MB per matrix");
    for (WeightType type : new WeightType[] {WeightType.Q8_0, WeightType.Q4_0}) {
      long rowBytes = type.bytesFor(cols);
      int rows = (int) Math.max(1, megabytes * 1e6 / rowBytes);
      try (Arena arena = Arena.ofShared()) {
        MemorySegment allocated = arena.allocate(rowBytes * rows, 64);
        MemorySegment seg = Boolean.getBoolean("bench.global")
            ? MemorySegment.ofAddress(allocated.address()).reinterpret(allocated.byteSize()) // no liveness checks
            : allocated;
        fill(seg, type);
        WeightMatrix m = new WeightMatrix(seg, type, rows, cols);
        WeightMatrix interleaved = m.forMode(ActivationMode.Q8); // m itself without 512-bit vectors
        float[] x = randomVector(cols);
        float[] out = new float[rows];
        for (int threads = 1; threads <= 2; threads++) {
          try (ComputePool pool = ComputePool.create(threads)) {
            report(type + " matvec fp32-act", threads, m.byteSize(), () -> m.matmul(x, out, pool));
            report(type + " matvec ggml-act", threads, m.byteSize(),
                () -> m.matmul(x, 0, out, 0, pool, ActivationMode.GGML));
            if (interleaved != m) {
              report(type + " matvec q8-act interleaved", threads, m.byteSize(),
                  () -> interleaved.matmul(x, 0, out, 0, pool, ActivationMode.Q8));
            }
            report("stream read (bound)", threads, seg.byteSize(), () -> streamSum(seg, pool));
            // prefill: 8 vectors per pass over the weights; GB/s counts weight bytes × vectors
            float[] xs = randomVector(8 * cols);
            float[] outs = new float[8 * rows];
            report(type + " batch-8 fp32-act", threads, 8 * m.byteSize(),
                () -> m.matmulBatch(xs, 0, 8, outs, 0, pool, ActivationMode.FP32));
            if (interleaved != m) {
              report(type + " batch-8 q8-act interleaved", threads, 8 * m.byteSize(),
                  () -> interleaved.matmulBatch(xs, 0, 8, outs, 0, pool, ActivationMode.Q8));
            }
          }
        }
      }
    }
  }

  private static float[] randomVector(int n) {
    SplittableRandom r = new SplittableRandom(42);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) r.nextDouble(-1, 1);
    }
    return x;
  }

  /** Random levels, and every block's fp16 scale set to a finite value. */
  private static void fill(MemorySegment seg, WeightType type) {
    SplittableRandom r = new SplittableRandom(7);
    long n = seg.byteSize() / 8;
    for (long i = 0; i < n; i++) {
      seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
    }
    short d = Float.floatToFloat16(0.01f);
    for (long p = 0; p + type.typeSize() <= seg.byteSize(); p += type.typeSize()) {
      seg.set(BlockCodec.I16, p, d);
    }
  }

  private static volatile float sink;
  private static final jdk.incubator.vector.VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

  private static void streamSum(MemorySegment seg, ComputePool pool) {
    long floats = seg.byteSize() / 4;
    int chunks = 1024;
    float[] part = new float[chunks];
    pool.forRange(chunks, (s, e) -> {
      for (int c = s; c < e; c++) {
        long from = floats * c / chunks, to = floats * (c + 1) / chunks;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long i = from;
        for (; i + 2L * F.length() <= to; i += 2L * F.length()) {
          a0 = a0.add(FloatVector.fromMemorySegment(F, seg, 4 * i, java.nio.ByteOrder.LITTLE_ENDIAN));
          a1 = a1.add(FloatVector.fromMemorySegment(F, seg, 4 * (i + F.length()), java.nio.ByteOrder.LITTLE_ENDIAN));
        }
        part[c] = a0.add(a1).reduceLanes(VectorOperators.ADD);
      }
    });
    float s = 0;
    for (float p : part) {
      s += p;
    }
    sink = s;
  }

  private static void report(String what, int threads, long bytes, Runnable run) {
    // small (cache-resident) matrices are run several times per sample to time something measurable
    int reps = (int) Math.max(1, 256_000_000L / bytes);
    for (int i = 0; i < 3 * reps; i++) {
      run.run();
    }
    double[] gbps = new double[8];
    double[] cpuGbps = new double[8];
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    for (int i = 0; i < gbps.length; i++) {
      long c0 = mx.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      for (int k = 0; k < reps; k++) {
        run.run();
      }
      gbps[i] = bytes * (double) reps / (System.nanoTime() - t0);
      cpuGbps[i] = bytes * (double) reps / (mx.getCurrentThreadCpuTime() - c0);
    }
    Arrays.sort(gbps);
    Arrays.sort(cpuGbps);
    // With one thread the caller does all the work, so bytes per CPU-second of the calling thread
    // shows the kernel's speed with the time other processes took from it removed.
    String cpu = threads == 1
        ? String.format(Locale.ROOT, "  per CPU-second %6.2f GB/s", cpuGbps[cpuGbps.length / 2]) : "";
    System.out.printf(Locale.ROOT, "%-26s threads=%d  median %6.2f GB/s  best %6.2f GB/s%s%n",
        what, threads, gbps[gbps.length / 2], gbps[gbps.length - 1], cpu);
  }
}
