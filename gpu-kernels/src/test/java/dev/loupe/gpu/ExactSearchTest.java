package dev.loupe.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The exact-search kernels' launch plumbing (argument layout, grid, shared memory, query groups)
 * against a plain Java scan: on the fake driver, whose C reference implements the kernels'
 * contract, and on a real GPU when {@code libcuda.so.1} opens.
 */
class ExactSearchTest {
  private static final long SEED = 20261122L;

  @Test
  void fp16_search_matches_a_plain_scan_on_awkward_sizes_with_the_fake_driver() {
    Gpu.Available gpu = FakeCuda.gpu();
    for (int n : new int[] {1, 7, 13, 100, 207, 511, 1025}) {
      for (ExactSearch.Metric metric : ExactSearch.Metric.values()) {
        check(gpu, ExactSearch.Element.F16, metric, n, 24, 5, 10, false, true);
      }
    }
  }

  @Test
  void int8_search_with_filter_and_tombstones_matches_a_plain_scan_with_the_fake_driver() {
    Gpu.Available gpu = FakeCuda.gpu();
    check(gpu, ExactSearch.Element.I8, ExactSearch.Metric.DOT, 1000, 13, 9, 20, true, true);
    check(gpu, ExactSearch.Element.I8, ExactSearch.Metric.L2, 300, 32, 3, 256, true, false);
  }

  @Test
  void batches_on_the_tensor_cores_match_a_plain_scan_with_fp16_queries_on_the_fake_driver() {
    Gpu.Available gpu = FakeCuda.gpu();
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.DOT, 1000, 32, 70, 10, true, true, ExactSearch.Precision.TENSOR_CORES);
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.L2, 129, 16, 33, 32, false, false, ExactSearch.Precision.TENSOR_CORES);
  }

  @Test
  void searches_the_tensor_cores_cannot_take_run_exactly() {
    Gpu.Available gpu = FakeCuda.gpu();
    try (GpuContext ctx = GpuContext.open(gpu); DeviceBuffer data = ctx.allocate(2L * 100 * 16); DeviceBuffer padded =
        ctx.allocate(2L * 128 * 16); DeviceBuffer norms = ctx.allocate(4L * 100)) {
      ExactSearch.Rows unpadded = new ExactSearch.Rows(ExactSearch.Element.F16, data, null, norms, null, 100, 16);
      ExactSearch.Rows rows = new ExactSearch.Rows(ExactSearch.Element.F16, padded, null, norms, null, 100, 16);
      assertEquals(false, ExactSearch.usesTensorCores(unpadded, 64, 10, ExactSearch.Precision.TENSOR_CORES));
      assertEquals(false, ExactSearch.usesTensorCores(rows, 31, 10, ExactSearch.Precision.TENSOR_CORES));
      assertEquals(false, ExactSearch.usesTensorCores(rows, 64, 33, ExactSearch.Precision.TENSOR_CORES));
      assertEquals(false, ExactSearch.usesTensorCores(rows, 64, 10, ExactSearch.Precision.EXACT));
      assertEquals(true, ExactSearch.usesTensorCores(rows, 64, 10, ExactSearch.Precision.TENSOR_CORES));
    }
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.COSINE, 300, 24, 40, 10, false, false, ExactSearch.Precision.TENSOR_CORES);
  }

  @Test
  void large_dimensions_are_searched_a_query_group_at_a_time() {
    check(FakeCuda.gpu(), ExactSearch.Element.F16, ExactSearch.Metric.COSINE, 50, 4096, 6, 5, false, false);
  }

  @Test
  void asks_for_k_beyond_the_kernels_limit_are_refused() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); ExactSearch search = new ExactSearch(ctx)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> search.search(null, new float[1][4], ExactSearch.Metric.DOT, null, 257));
      assertEquals("k 257 is outside [1, 256] for the GPU search", e.getMessage());
    }
  }

  @Test
  void search_on_a_real_gpu_matches_a_plain_scan() {
    Gpu.Detection d = Gpu.probe(CudaDriver.DEFAULT_LIBRARY);
    Assumptions.assumeTrue(d instanceof Gpu.Available, () -> "needs a real GPU (" + d.describe() + ")");
    Gpu.Available gpu = (Gpu.Available) d;
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.DOT, 100_003, 768, 5, 10, true, true);
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.L2, 20_000, 100, 9, 256, false, true);
    check(gpu, ExactSearch.Element.I8, ExactSearch.Metric.COSINE, 50_000, 384, 4, 32, true, false);
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.DOT, 100_003, 768, 200, 10, true, true, ExactSearch.Precision.TENSOR_CORES);
    check(gpu, ExactSearch.Element.F16, ExactSearch.Metric.L2, 5_000, 64, 64, 32, false, false, ExactSearch.Precision.TENSOR_CORES);
  }

  /** Searches random rows on {@code gpu} and compares rows exactly and scores within fp32 summation order. */
  static void check(Gpu.Available gpu, ExactSearch.Element element, ExactSearch.Metric metric, int n, int dim, int nq, int k,
      boolean filtered, boolean tombstoned) {
    check(gpu, element, metric, n, dim, nq, k, filtered, tombstoned, ExactSearch.Precision.EXACT);
  }

  /** Where the tensor cores search, the plain scan multiplies the queries rounded to fp16, as they do. */
  static void check(Gpu.Available gpu, ExactSearch.Element element, ExactSearch.Metric metric, int n, int dim, int nq, int k,
      boolean filtered, boolean tombstoned, ExactSearch.Precision precision) {
    Random random = new Random(SEED + n * 31L + dim);
    float[][] decoded = new float[n][dim];
    float[] scales = new float[n], norms2 = new float[n];
    int words = (n + 31) / 32;
    int[] filter = new int[words], tombs = new int[words];
    try (Arena arena = Arena.ofConfined(); GpuContext ctx = GpuContext.open(gpu); ExactSearch search = new ExactSearch(ctx)) {
      MemorySegment data = arena.allocate(ExactSearch.paddedRows(n) * dim * element.bytes, 16);
      for (int r = 0; r < n; r++) {
        float max = 0;
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
          v[i] = (float) random.nextGaussian();
          max = Math.max(max, Math.abs(v[i]));
        }
        scales[r] = element == ExactSearch.Element.I8 ? max / 127f : 1f;
        for (int i = 0; i < dim; i++) {
          long at = (long) r * dim + i;
          if (element == ExactSearch.Element.F16) {
            short h = Float.floatToFloat16(v[i]);
            data.setAtIndex(ValueLayout.JAVA_SHORT, at, h);
            decoded[r][i] = Float.float16ToFloat(h);
          } else {
            byte b = (byte) Math.clamp(Math.round(v[i] / scales[r]), -127, 127);
            data.set(ValueLayout.JAVA_BYTE, at, b);
            decoded[r][i] = b;
          }
        }
        double n2 = 0;
        for (float x : decoded[r]) {
          n2 += (double) x * scales[r] * x * scales[r];
        }
        norms2[r] = (float) n2;
        if (!filtered || random.nextInt(3) > 0) filter[r >> 5] |= 1 << (r & 31);
        if (tombstoned && random.nextInt(10) == 0) tombs[r >> 5] |= 1 << (r & 31);
      }
      float[][] queries = new float[nq][dim];
      for (float[] q : queries) {
        double n2 = 0;
        for (int i = 0; i < dim; i++) {
          q[i] = (float) random.nextGaussian();
          n2 += q[i] * q[i];
        }
        if (metric == ExactSearch.Metric.COSINE) {
          for (int i = 0; i < dim; i++) q[i] /= (float) Math.sqrt(n2);
        }
      }
      boolean mma = precision == ExactSearch.Precision.TENSOR_CORES && element == ExactSearch.Element.F16 && dim % 16 == 0
          && nq >= ExactSearch.MMA_MIN_BATCH && k <= 32;
      float[][] multiplied = new float[nq][];
      for (int q = 0; q < nq; q++) {
        multiplied[q] = queries[q].clone();
        if (mma) {
          for (int i = 0; i < dim; i++) multiplied[q][i] = Float.float16ToFloat(Float.floatToFloat16(multiplied[q][i]));
        }
      }
      try (DeviceBuffer dData = upload(ctx, data); DeviceBuffer dScales = upload(ctx, MemorySegment.ofArray(scales));
          DeviceBuffer dNorms = upload(ctx, MemorySegment.ofArray(norms2));
          DeviceBuffer dTombs = tombstoned ? upload(ctx, MemorySegment.ofArray(tombs)) : null;
          DeviceBuffer dFilter = filtered ? upload(ctx, MemorySegment.ofArray(filter)) : null) {
        ExactSearch.Rows rows = new ExactSearch.Rows(element, dData, element == ExactSearch.Element.I8 ? dScales : null, dNorms,
            dTombs, n, dim);
        assertEquals(mma, ExactSearch.usesTensorCores(rows, nq, k, precision), "whether the tensor cores search");
        ExactSearch.Result result = search.search(rows, queries, metric, dFilter, k, precision);
        for (int qi = 0; qi < nq; qi++) {
          final int q = qi;
          List<float[]> expected = new ArrayList<>(); // {score, row}
          float qn2 = 0;
          for (float x : multiplied[q]) qn2 = Math.fma(x, x, qn2);
          for (int r = 0; r < n; r++) {
            if ((filter[r >> 5] & (1 << (r & 31))) == 0 || (tombs[r >> 5] & (1 << (r & 31))) != 0) continue;
            float dot = 0;
            for (int i = 0; i < dim; i++) dot = Math.fma(multiplied[q][i], decoded[r][i], dot);
            dot *= scales[r];
            float s = metric == ExactSearch.Metric.L2 ? 1f / (1f + Math.max(0f, (qn2 + norms2[r]) - 2f * dot)) : dot;
            expected.add(new float[] {s, r});
          }
          expected.sort(Comparator.<float[]>comparingDouble(e -> -e[0]).thenComparingDouble(e -> e[1]));
          int[] wantRows = new int[k];
          java.util.Arrays.fill(wantRows, -1);
          for (int i = 0; i < Math.min(k, expected.size()); i++) {
            wantRows[i] = (int) expected.get(i)[1];
            float tolerance = 1e-4f * Math.max(1f, Math.abs(expected.get(i)[0]));
            assertEquals(expected.get(i)[0], result.scores()[q][i], tolerance,
                () -> "seed " + SEED + ", " + element + " " + metric + " n=" + n + " query " + q);
          }
          assertArrayEquals(wantRows, result.rows()[q], "seed " + SEED + ", " + element + " " + metric + " n=" + n + " query " + q);
        }
      }
    }
  }

  private static DeviceBuffer upload(GpuContext ctx, MemorySegment host) {
    DeviceBuffer b = ctx.allocate(host.byteSize());
    b.copyFrom(host, 0);
    return b;
  }
}
