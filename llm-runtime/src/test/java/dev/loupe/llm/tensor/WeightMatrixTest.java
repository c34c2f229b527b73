package dev.loupe.llm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WeightMatrixTest {
  private static final Map<String, KernelOps> KERNELS =
      Map.of("scalar", KernelOpsProvider.choose("scalar"), "panama", KernelOpsProvider.choose("panama"));

  static Stream<Arguments> batches() {
    List<Arguments> cases = new ArrayList<>();
    for (WeightType type : WeightType.values()) {
      for (ActivationMode mode : ActivationMode.values()) {
        for (String kernels : new String[] {"scalar", "panama"}) {
          cases.add(Arguments.of(type, mode, kernels));
        }
        if (type == WeightType.Q4_0 && mode != ActivationMode.FP32) {
          cases.add(Arguments.of(type, mode, "interleaved"));
        }
      }
    }
    return cases.stream();
  }

  /**
   * Batched prefill and speculative verification must give the very logits single-token decoding
   * gives (greedy equality depends on it), so the comparison is exact, on 1 and 2 threads.
   */
  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("batches")
  void batched_matmul_equals_per_vector_matmul_bit_for_bit(WeightType type, ActivationMode mode, String kernels) {
    int rows = 13, cols = type.blockSize() == 256 ? 512 : 96;
    long seed = 1000 + type.ordinal() * 10 + mode.ordinal();
    KernelDuelTest.Fixture f = KernelDuelTest.Fixture.random(type, rows, cols, seed);
    WeightMatrix m = prepared(f.matrix(), kernels, mode);
    for (int count : new int[] {1, 2, 3, 4, 5, 9}) {
      float[] xs = BlockCodecTest.gaussian(count * cols + 3, seed + count, 1f);
      for (int threads = 1; threads <= 2; threads++) {
        try (ComputePool pool = ComputePool.create(threads)) {
          float[] batched = new float[count * rows + 1];
          m.matmulBatch(xs, 3, count, batched, 1, pool, mode);
          for (int v = 0; v < count; v++) {
            float[] single = new float[rows];
            m.matmul(xs, 3 + v * cols, single, 0, pool, mode);
            for (int r = 0; r < rows; r++) {
              assertEquals(Float.floatToIntBits(single[r]), Float.floatToIntBits(batched[1 + v * rows + r]),
                  type + " " + mode + " " + kernels + " batch " + count + " vector " + v + " row " + r
                      + " threads " + threads + " (seed " + seed + ")");
            }
          }
        }
      }
    }
  }

  /** q/k/v and gate/up run as one fused pass; each result must be exactly its own batched matmul's. */
  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("batches")
  void fused_matmul_of_several_matrices_equals_their_separate_matmuls_bit_for_bit(
      WeightType type, ActivationMode mode, String kernels) {
    int cols = type.blockSize() == 256 ? 512 : 96;
    long seed = 3000 + type.ordinal() * 10 + mode.ordinal();
    int[] rows = {13, 5, 7};
    WeightMatrix[] ms = new WeightMatrix[rows.length];
    for (int i = 0; i < rows.length; i++) {
      ms[i] = prepared(KernelDuelTest.Fixture.random(type, rows[i], cols, seed + i).matrix(), kernels, mode);
    }
    int count = 9;
    float[] xs = BlockCodecTest.gaussian(count * cols + 3, seed, 1f);
    try (ComputePool pool = ComputePool.create(2)) {
      float[][] fused = new float[rows.length][];
      for (int i = 0; i < rows.length; i++) {
        fused[i] = new float[rows[i] * count];
      }
      WeightMatrix.matmulBatchAll(ms, xs, 3, count, fused, pool, mode);
      for (int i = 0; i < rows.length; i++) {
        float[] alone = new float[rows[i] * count];
        ms[i].matmulBatch(xs, 3, count, alone, 0, pool, mode);
        assertArrayEquals(alone, fused[i], type + " " + mode + " " + kernels + " matrix " + i + " (seed " + seed + ")");
      }
    }
  }

  /**
   * {@code m} on the named kernels, one instance per name (fused passes need one); "interleaved" is
   * the Vector API's with {@link WeightMatrix#forMode}.
   */
  private static WeightMatrix prepared(WeightMatrix m, String kernels, ActivationMode mode) {
    return kernels.equals("interleaved")
        ? m.withKernels(KERNELS.get("panama")).forMode(mode)
        : m.withKernels(KERNELS.get(kernels));
  }

  @Test
  void fused_matmul_rejects_matrices_of_different_widths_naming_them() {
    WeightMatrix a = KernelDuelTest.Fixture.random(WeightType.Q8_0, 4, 64, 1).matrix();
    WeightMatrix b = KernelDuelTest.Fixture.random(WeightType.Q8_0, 4, 96, 2).matrix();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightMatrix.matmulBatchAll(
        new WeightMatrix[] {a, b}, new float[96], 0, 1, new float[][] {new float[4], new float[4]},
        ComputePool.singleThreaded(), ActivationMode.FP32));
    assertTrue(e.getMessage().contains("4×96"), e.getMessage());
  }

  @Test
  void dot_of_one_row_equals_that_row_of_the_matmul() {
    KernelDuelTest.Fixture f = KernelDuelTest.Fixture.random(WeightType.Q4_K, 5, 256, 3);
    float[] out = new float[5];
    f.matrix().matmul(f.x(), out, ComputePool.singleThreaded());
    for (int r = 0; r < 5; r++) {
      assertEquals(out[r], f.matrix().dot(r, f.x(), 0), "row " + r);
    }
  }

  @Test
  void dequantize_row_returns_the_decoded_row() {
    KernelDuelTest.Fixture f = KernelDuelTest.Fixture.random(WeightType.Q6_K, 3, 512, 4);
    float[] row = new float[512];
    f.matrix().dequantizeRow(2, row, 0);
    float[] want = new float[512];
    System.arraycopy(f.decoded(), 2 * 512, want, 0, 512);
    assertArrayEquals(want, row);
  }

  @Test
  void rejects_columns_that_are_not_whole_blocks_naming_the_shape() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new WeightMatrix(MemorySegment.ofArray(new byte[34 * 10]), WeightType.Q8_0, 2, 100));
    assertTrue(e.getMessage().contains("100") && e.getMessage().contains("Q8_0") && e.getMessage().contains("32"),
        e.getMessage());
  }

  @Test
  void rejects_data_shorter_than_the_shape() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new WeightMatrix(MemorySegment.ofArray(new byte[144]), WeightType.Q4_K, 2, 256));
    assertTrue(e.getMessage().contains("144") && e.getMessage().contains("288"), e.getMessage());
  }

  @Test
  void rejects_rows_outside_the_matrix() {
    KernelDuelTest.Fixture f = KernelDuelTest.Fixture.random(WeightType.F32, 2, 8, 5);
    assertThrows(IndexOutOfBoundsException.class, () -> f.matrix().dot(2, f.x(), 0));
    assertThrows(IndexOutOfBoundsException.class,
        () -> f.matrix().matmul(f.x(), 0, new float[1], 0, ComputePool.singleThreaded(), ActivationMode.FP32));
  }

  @Test
  void compute_pool_runs_every_index_exactly_once() {
    for (int threads = 1; threads <= 3; threads++) {
      try (ComputePool pool = ComputePool.create(threads)) {
        for (int n : new int[] {1, 2, 7, 100, 1001}) {
          AtomicIntegerArray hits = new AtomicIntegerArray(n);
          pool.forRange(n, (s, e) -> {
            for (int i = s; i < e; i++) {
              hits.incrementAndGet(i);
            }
          });
          for (int i = 0; i < n; i++) {
            assertEquals(1, hits.get(i), "index " + i + " of " + n + " on " + threads + " threads");
          }
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> ComputePool.create(0));
  }
}
