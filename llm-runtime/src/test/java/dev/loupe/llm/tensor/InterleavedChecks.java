package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The bit-for-bit check the interleaved layouts' tests share. */
final class InterleavedChecks {
  private InterleavedChecks() {}

  /**
   * The shapes both layouts' tests run: row counts around a group of 32 (one row, a partial group,
   * exactly one, one more, several with a partial last), widths of 1, 3 and 64 blocks, both
   * integer modes, and a down projection's 256 blocks.
   */
  static Stream<Arguments> shapes() {
    List<Arguments> cases = new ArrayList<>();
    for (int rows : new int[] {1, 7, 31, 32, 33, 65, 100, 207}) {
      for (int cols : new int[] {32, 96, 2048}) {
        for (ActivationMode mode : new ActivationMode[] {ActivationMode.GGML, ActivationMode.Q8}) {
          cases.add(Arguments.of(rows, cols, mode));
        }
      }
    }
    cases.add(Arguments.of(65, 8192, ActivationMode.Q8)); // a down projection's width: 256 blocks
    return cases.stream();
  }

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
