package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bit-for-bit check the interleaved layouts' tests share. */
final class InterleavedChecks {
  private InterleavedChecks() {}

  /**
   * {@code m}'s interleaved form in {@code mode}, on 1 and 2 threads, batched and one vector at a
   * time over {@code count} vectors of {@code xs} (from offset 3): every row gives {@link
   * ScalarKernelOps}' bits, and nothing is written before the output range.
   */
  static void matmulsGiveScalarBits(WeightMatrix m, ActivationMode mode, float[] xs, int count, String why) {
    int rows = m.rows(), cols = m.cols();
    WeightMatrix mi = m.forMode(mode);
    assertTrue(mi.interleaved(), "forMode(" + mode + ") interleaves " + m.type());
    Activations a = Activations.prepare(m.type(), mode, xs, 3, cols, count);
    KernelOps scalar = new ScalarKernelOps();
    for (int threads = 1; threads <= 2; threads++) {
      try (ComputePool pool = ComputePool.create(threads)) {
        float[] batched = new float[count * rows + 1];
        mi.matmulBatch(xs, 3, count, batched, 1, pool, mode);
        for (int v = 0; v < count; v++) {
          float[] single = new float[rows];
          mi.matmul(xs, 3 + v * cols, single, 0, pool, mode);
          for (int r = 0; r < rows; r++) {
            float want = scalar.dot(m.type(), m.data(), r * m.rowBytes(), cols, a, v);
            String at = rows + "×" + cols + " " + mode + " vector " + v + " of " + count + " row " + r + " threads " + threads
                + " (" + why + ")";
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(batched[1 + v * rows + r]), at + ", batched");
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(single[r]), at + ", one vector");
          }
        }
        assertEquals(0f, batched[0], "nothing written before the output range");
      }
    }
  }
}
