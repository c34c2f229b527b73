package dev.loupe.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The decode-step kernels against plain Java on the fake driver (launch plumbing and contracts) and,
 * when {@code libcuda.so.1} opens, on a real GPU (the kernels themselves).
 */
class LlmKernelsTest {
  private static final long SEED = 0x11A4L;

  @Test
  void kernels_match_plain_java_with_the_fake_driver() {
    checkAll(FakeCuda.gpu(), 1e-5f);
  }

  @Test
  void kernels_match_plain_java_on_a_real_gpu() {
    Gpu.Detection d = Gpu.probe(CudaDriver.DEFAULT_LIBRARY);
    Assumptions.assumeTrue(d instanceof Gpu.Available, () -> "needs a real GPU (" + d.describe() + ")");
    checkAll((Gpu.Available) d, 2e-3f); // other summation orders, fast exp/sincos
  }

  @Test
  void a_matrix_times_a_batch_gives_each_token_the_matrix_vector_products_bit_for_bit_with_the_fake_driver() {
    matmulEqualsMatvec(FakeCuda.gpu());
  }

  @Test
  void a_matrix_times_a_batch_gives_each_token_the_matrix_vector_products_bit_for_bit_on_a_real_gpu() {
    Gpu.Detection d = Gpu.probe(CudaDriver.DEFAULT_LIBRARY);
    Assumptions.assumeTrue(d instanceof Gpu.Available, () -> "needs a real GPU (" + d.describe() + ")");
    matmulEqualsMatvec((Gpu.Available) d);
  }

  /** Batches of 1, 8 (one tile) and 19 tokens (two full tiles and a partial one), every block format. */
  private static void matmulEqualsMatvec(Gpu.Available gpu) {
    Random random = new Random(SEED + 1);
    try (GpuContext ctx = GpuContext.open(gpu); LlmKernels k = new LlmKernels(ctx); CudaStream stream = ctx.createStream()) {
      for (LlmKernels.Quant quant : LlmKernels.Quant.values()) {
        int rows = 37, cols = quant == LlmKernels.Quant.Q4_K ? 2304 : 1120; // Q4_K: 72 sub-blocks, lanes with 2 and 3
        byte[] w = randomBlocks(random, quant, rows, cols);
        for (int n : new int[] {1, 8, 19}) {
          float[] x = gaussian(random, n * cols);
          try (DeviceBuffer dw = upload(ctx, w); DeviceBuffer dx = upload(ctx, x); DeviceBuffer batch = ctx.allocate(4L * rows * n);
              DeviceBuffer one = ctx.allocate(4L * rows)) {
            k.matmul(stream, quant, dw, dx, batch, rows, cols, n);
            stream.synchronize();
            float[] got = download(batch, rows * n);
            for (int t = 0; t < n; t++) {
              k.matvec(stream, quant, dw, dx.slice(4L * t * cols, 4L * cols), one, rows, cols);
              stream.synchronize();
              float[] want = download(one, rows);
              for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToRawIntBits(want[r]), Float.floatToRawIntBits(got[t * rows + r]),
                    quant + " " + rows + "x" + cols + " times " + n + " tokens: token " + t + " row " + r + ": " + got[t * rows + r]
                        + " vs " + want[r]);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void a_decode_step_captured_as_a_graph_replays_like_the_eager_launches() {
    Random random = new Random(SEED);
    int n = 64, rows = 96;
    float[] x = gaussian(random, n), norm = gaussian(random, n);
    byte[] w = randomBlocks(random, LlmKernels.Quant.Q8_0, rows, n);
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); LlmKernels k = new LlmKernels(ctx); CudaStream stream = ctx.createStream();
        DeviceBuffer dx = upload(ctx, x); DeviceBuffer dn = upload(ctx, norm); DeviceBuffer dw = upload(ctx, w);
        DeviceBuffer h = ctx.allocate(4L * n); DeviceBuffer y = ctx.allocate(4L * rows); DeviceBuffer out = ctx.allocate(4L * rows)) {
      Runnable step = () -> {
        k.rmsnorm(stream, dx, dn, h, 1, n, 1e-5f);
        k.matvec(stream, LlmKernels.Quant.Q8_0, dw, h, y, rows, n);
        k.swiglu(stream, y, y, out, rows);
      };
      step.run();
      stream.synchronize();
      float[] eager = download(out, rows);
      out.fill(0, 4L * rows, (byte) 0);

      stream.beginCapture();
      step.run();
      try (CudaGraph graph = stream.endCapture()) {
        graph.launch(stream);
        stream.synchronize();
      }
      assertEquals(java.util.Arrays.toString(eager), java.util.Arrays.toString(download(out, rows)));
    }
  }

  @Test
  void bad_shapes_are_named() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); LlmKernels k = new LlmKernels(ctx); CudaStream stream = ctx.createStream();
        DeviceBuffer b = ctx.allocate(64)) {
      IllegalArgumentException cols = assertThrows(IllegalArgumentException.class,
          () -> k.matvec(stream, LlmKernels.Quant.Q4_0, b, b, b, 1, 33));
      assertEquals("matrix 1 x 33 of Q4_0 needs rows >= 1 and columns a positive multiple of 32", cols.getMessage());
      IllegalArgumentException k256 = assertThrows(IllegalArgumentException.class,
          () -> k.matvec(stream, LlmKernels.Quant.Q4_K, b, b, b, 1, 96));
      assertEquals("matrix 1 x 96 of Q4_K needs rows >= 1 and columns a positive multiple of 256", k256.getMessage());
      IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
          () -> k.matvec(stream, LlmKernels.Quant.Q8_0, b, b, b, 4, 32));
      assertEquals("weights buffer of 64 bytes is smaller than the 136 bytes needed", small.getMessage());
      IllegalArgumentException tokens = assertThrows(IllegalArgumentException.class,
          () -> k.matmul(stream, LlmKernels.Quant.Q8_0, b, b, b, 1, 32, 0));
      assertEquals("matrix 1 x 32 of Q8_0 times 0 tokens needs rows and tokens >= 1 and columns a positive multiple of 32",
          tokens.getMessage());
      IllegalArgumentException input = assertThrows(IllegalArgumentException.class,
          () -> k.matmul(stream, LlmKernels.Quant.Q8_0, b, b, b, 1, 32, 2));
      assertEquals("input buffer of 64 bytes is smaller than the 256 bytes needed", input.getMessage());
      IllegalArgumentException positions = assertThrows(IllegalArgumentException.class,
          () -> k.attentionRows(stream, b, 0, 0, b, 1, 1, 8, LlmKernels.MAX_POSITIONS - 1, 2));
      assertEquals("attention of 2 tokens at position 11999 with 1 heads over 1 kv heads of 8 needs heads a multiple of kv heads and at most "
          + "12000 positions", positions.getMessage());
      IndexOutOfBoundsException slice = assertThrows(IndexOutOfBoundsException.class, () -> b.slice(60, 8));
      assertEquals("range [60, 68) is outside the device buffer of 64 bytes", slice.getMessage());
    }
  }

  private static void checkAll(Gpu.Available gpu, float tolerance) {
    Random random = new Random(SEED);
    try (GpuContext ctx = GpuContext.open(gpu); LlmKernels k = new LlmKernels(ctx); CudaStream stream = ctx.createStream()) {
      for (LlmKernels.Quant quant : LlmKernels.Quant.values()) {
        int[][] shapes = quant == LlmKernels.Quant.Q4_K ? new int[][] {{1, 256}, {7, 512}, {13, 1280}, {100, 4096}}
            : new int[][] {{1, 32}, {7, 64}, {13, 1056}, {100, 4096}};
        for (int[] shape : shapes) {
          int rows = shape[0], cols = shape[1];
          float[] x = gaussian(random, cols);
          byte[] w = randomBlocks(random, quant, rows, cols);
          try (DeviceBuffer dw = upload(ctx, w); DeviceBuffer dx = upload(ctx, x); DeviceBuffer dy = ctx.allocate(4L * rows)) {
            k.matvec(stream, quant, dw, dx, dy, rows, cols);
            stream.synchronize();
            float[] y = download(dy, rows);
            for (int r = 0; r < rows; r++) {
              float want = dot(quant, w, r, cols, x, false), magnitude = dot(quant, w, r, cols, x, true);
              // fp32 sums in another order: the error scales with the sum of the terms' magnitudes.
              assertEquals(want, y[r], tolerance * Math.max(1f, magnitude), "seed " + SEED + " " + quant + " " + rows + "x" + cols + " row " + r);
            }
          }
        }
      }
      // RMSNorm over 3 rows of 1000, SwiGLU over 777.
      float[] x = gaussian(random, 3000), weight = gaussian(random, 1000), gate = gaussian(random, 777), up = gaussian(random, 777);
      try (DeviceBuffer dx = upload(ctx, x); DeviceBuffer dw = upload(ctx, weight); DeviceBuffer dy = ctx.allocate(4L * 3000);
          DeviceBuffer dg = upload(ctx, gate); DeviceBuffer du = upload(ctx, up); DeviceBuffer ds = ctx.allocate(4L * 777)) {
        k.rmsnorm(stream, dx, dw, dy, 3, 1000, 1e-6f);
        k.swiglu(stream, dg, du, ds, 777);
        stream.synchronize();
        float[] y = download(dy, 3000), s = download(ds, 777);
        for (int row = 0; row < 3; row++) {
          double ss = 0;
          for (int i = 0; i < 1000; i++) ss += (double) x[row * 1000 + i] * x[row * 1000 + i];
          double scale = 1 / Math.sqrt(ss / 1000 + 1e-6);
          for (int i = 0; i < 1000; i++) {
            assertEquals(x[row * 1000 + i] * scale * weight[i], y[row * 1000 + i], tolerance * 10, "rmsnorm row " + row + " [" + i + "]");
          }
        }
        for (int i = 0; i < 777; i++) {
          assertEquals(gate[i] / (1 + Math.exp(-gate[i])) * up[i], s[i], tolerance * 10, "swiglu [" + i + "]");
        }
      }
      // RoPE, both pairings, with and without frequency factors.
      for (boolean neox : new boolean[] {false, true}) {
        int heads = 4, headDim = 64, ropeDim = 48, pos = 37;
        float[] q = gaussian(random, heads * headDim), factors = new float[ropeDim / 2];
        for (int p = 0; p < factors.length; p++) factors[p] = 1 + p % 3;
        try (DeviceBuffer dq = upload(ctx, q); DeviceBuffer df = upload(ctx, factors)) {
          k.rope(stream, dq, heads, headDim, ropeDim, pos, 10_000f, neox ? null : df, neox);
          stream.synchronize();
          float[] got = download(dq, heads * headDim);
          for (int h = 0; h < heads; h++) {
            for (int p = 0; p < ropeDim / 2; p++) {
              double angle = pos * Math.pow(10_000, -2.0 * p / ropeDim) / (neox ? 1 : factors[p]);
              int i = h * headDim + (neox ? p : 2 * p), j = h * headDim + (neox ? p + ropeDim / 2 : 2 * p + 1);
              assertEquals(q[i] * Math.cos(angle) - q[j] * Math.sin(angle), got[i], tolerance * 10, "rope neox=" + neox + " head " + h + " pair " + p);
              assertEquals(q[i] * Math.sin(angle) + q[j] * Math.cos(angle), got[j], tolerance * 10, "rope neox=" + neox + " head " + h + " pair " + p);
            }
            for (int i = ropeDim; i < headDim; i++) {
              assertEquals(q[h * headDim + i], got[h * headDim + i], "components past ropeDim stay");
            }
          }
        }
      }
      // Attention: 8 heads over 2 kv heads of 32, 45 positions.
      int heads = 8, kvHeads = 2, headDim = 32, positions = 45;
      float[] q = gaussian(random, heads * headDim);
      short[] keys = halves(random, positions * kvHeads * headDim), values = halves(random, positions * kvHeads * headDim);
      try (DeviceBuffer dq = upload(ctx, q); DeviceBuffer dk = upload(ctx, keys); DeviceBuffer dv = upload(ctx, values);
          DeviceBuffer dout = ctx.allocate(4L * heads * headDim)) {
        k.attention(stream, dq, dk, dv, dout, heads, kvHeads, headDim, positions);
        stream.synchronize();
        float[] got = download(dout, heads * headDim);
        for (int h = 0; h < heads; h++) {
          int kvh = h / (heads / kvHeads);
          double[] p = new double[positions];
          double max = Double.NEGATIVE_INFINITY, sum = 0;
          for (int t = 0; t < positions; t++) {
            for (int i = 0; i < headDim; i++) {
              p[t] += q[h * headDim + i] * Float.float16ToFloat(keys[(t * kvHeads + kvh) * headDim + i]);
            }
            p[t] /= Math.sqrt(headDim);
            max = Math.max(max, p[t]);
          }
          for (int t = 0; t < positions; t++) {
            p[t] = Math.exp(p[t] - max);
            sum += p[t];
          }
          for (int i = 0; i < headDim; i++) {
            double want = 0;
            for (int t = 0; t < positions; t++) want += p[t] * Float.float16ToFloat(values[(t * kvHeads + kvh) * headDim + i]);
            assertEquals(want / sum, got[h * headDim + i], tolerance * 10, "attention head " + h + " [" + i + "]");
          }
        }
      }
    }
  }

  /** The row's dot product with {@code x} in double precision, or with {@code abs} the sum of the terms' magnitudes. */
  private static float dot(LlmKernels.Quant quant, byte[] w, int row, int cols, float[] x, boolean abs) {
    if (quant == LlmKernels.Quant.Q4_K) {
      return dotQ4K(w, row, cols, x, abs);
    }
    double acc = 0;
    int blocks = cols / 32;
    for (int b = 0; b < blocks; b++) {
      int at = (row * blocks + b) * quant.blockBytes;
      float d = Float.float16ToFloat((short) ((w[at] & 0xFF) | (w[at + 1] << 8)));
      for (int j = 0; j < 32; j++) {
        int q = quant == LlmKernels.Quant.Q8_0 ? w[at + 2 + j]
            : (j < 16 ? (w[at + 2 + j] & 0x0F) : ((w[at + 2 + j - 16] >> 4) & 0x0F)) - 8;
        double term = (double) q * d * x[b * 32 + j];
        acc += abs ? Math.abs(term) : term;
      }
    }
    return (float) acc;
  }

  /** ggml's dequantize_row_q4_K, written out: super-blocks of 256, eight sub-blocks with 6-bit scales and mins. */
  private static float dotQ4K(byte[] w, int row, int cols, float[] x, boolean abs) {
    double acc = 0;
    int supers = cols / 256;
    for (int b = 0; b < supers; b++) {
      int at = (row * supers + b) * 144;
      double d = Float.float16ToFloat((short) ((w[at] & 0xFF) | (w[at + 1] << 8)));
      double dmin = Float.float16ToFloat((short) ((w[at + 2] & 0xFF) | (w[at + 3] << 8)));
      for (int j = 0; j < 8; j++) {
        int q = at + 4;
        int scale = j < 4 ? w[q + j] & 63 : (w[q + j + 4] & 0x0F) | (((w[q + j - 4] & 0xFF) >> 6) << 4);
        int min = j < 4 ? w[q + j + 4] & 63 : ((w[q + j + 4] & 0xFF) >> 4) | (((w[q + j] & 0xFF) >> 6) << 4);
        for (int l = 0; l < 32; l++) {
          int nibble = ((w[at + 16 + 32 * (j / 2) + l] & 0xFF) >> (4 * (j & 1))) & 0x0F;
          double term = (d * scale * nibble - dmin * min) * x[b * 256 + j * 32 + l];
          acc += abs ? Math.abs(term) : term;
        }
      }
    }
    return (float) acc;
  }

  private static byte[] randomBlocks(Random random, LlmKernels.Quant quant, int rows, int cols) {
    byte[] w = new byte[(int) quant.bytes(rows, cols)];
    random.nextBytes(w);
    if (quant == LlmKernels.Quant.Q4_K) {
      for (int at = 0; at < w.length; at += 144) {
        short d = Float.floatToFloat16((float) (0.001 + random.nextDouble() * 0.002));
        short dmin = Float.floatToFloat16((float) (0.001 + random.nextDouble() * 0.002));
        w[at] = (byte) d;
        w[at + 1] = (byte) (d >> 8);
        w[at + 2] = (byte) dmin;
        w[at + 3] = (byte) (dmin >> 8);
      }
      return w;
    }
    for (int at = 0; at < w.length; at += quant.blockBytes) {
      short d = Float.floatToFloat16((float) (0.01 + random.nextDouble() * 0.02));
      w[at] = (byte) d;
      w[at + 1] = (byte) (d >> 8);
    }
    return w;
  }

  private static float[] gaussian(Random random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
    return v;
  }

  private static short[] halves(Random random, int n) {
    short[] v = new short[n];
    for (int i = 0; i < n; i++) v[i] = Float.floatToFloat16((float) random.nextGaussian());
    return v;
  }

  private static DeviceBuffer upload(GpuContext ctx, Object array) {
    MemorySegment host = switch (array) {
      case float[] f -> MemorySegment.ofArray(f);
      case byte[] b -> MemorySegment.ofArray(b);
      case short[] s -> MemorySegment.ofArray(s);
      default -> throw new IllegalArgumentException(array.toString());
    };
    DeviceBuffer b = ctx.allocate(host.byteSize());
    b.copyFrom(host, 0);
    return b;
  }

  private static float[] download(DeviceBuffer b, int n) {
    float[] out = new float[n];
    b.copyTo(MemorySegment.ofArray(out), 0);
    return out;
  }
}
