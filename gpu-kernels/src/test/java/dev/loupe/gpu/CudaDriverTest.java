package dev.loupe.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The FFM binding and the launch plumbing, against the fake driver (no GPU needed). */
class CudaDriverTest {

  @Test
  void detection_finds_the_fake_device_and_describes_it() {
    Gpu.Available gpu = FakeCuda.gpu();

    assertEquals("Loupe fake CUDA device (CPU)", gpu.device().name());
    assertEquals("8.0", gpu.device().computeCapability());
    assertEquals(8L << 30, gpu.device().totalMemory());
    assertTrue(gpu.describe().startsWith("GPU: Loupe fake CUDA device (CPU), 8.0 GiB, compute capability 8.0"), gpu.describe());
  }

  @Test
  void a_library_that_does_not_open_means_cpu_with_the_reason() {
    Gpu.Detection d = Gpu.probe("/nonexistent/libcuda.so.1");

    Gpu.Unavailable cpu = assertInstanceOf(Gpu.Unavailable.class, d);
    assertTrue(cpu.reason().contains("/nonexistent/libcuda.so.1 does not open"), cpu.reason());
    assertTrue(cpu.describe().startsWith("CPU: "), cpu.describe());
  }

  @Test
  void a_driver_without_devices_means_cpu() {
    FakeCuda.library();
    FakeCuda.setDeviceCount(0);
    try {
      Gpu.Unavailable cpu = assertInstanceOf(Gpu.Unavailable.class, Gpu.probe(FakeCuda.library()));
      assertTrue(cpu.reason().contains("sees no device"), cpu.reason());
    } finally {
      FakeCuda.setDeviceCount(1);
    }
  }

  @Test
  void a_failing_cuInit_is_reported_with_its_error_name() {
    FakeCuda.inject("cuInit", 100, 1);

    Gpu.Unavailable cpu = assertInstanceOf(Gpu.Unavailable.class, Gpu.probe(FakeCuda.library()));
    assertEquals("cuInit(0) failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)", cpu.reason());
  }

  @Test
  void a_driver_that_refuses_the_memory_clock_attribute_still_offers_its_device() {
    FakeCuda.library();
    FakeCuda.inject("cuDeviceGetAttribute", 1, 1); // the first attribute read is the memory clock

    Gpu.Available gpu = assertInstanceOf(Gpu.Available.class, Gpu.probe(FakeCuda.library()));
    assertEquals(0.0, gpu.device().peakBandwidth());
    assertEquals(4, gpu.device().multiprocessors());
  }

  @Test
  void an_allocation_beyond_device_memory_names_the_call_size_and_error() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu())) {
      CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(1L << 40));

      assertEquals("cuMemAlloc_v2(1099511627776 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)", e.getMessage());
      assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
      assertEquals(CudaException.OUT_OF_MEMORY, e.code());
      assertEquals("cuMemAlloc_v2(1099511627776 bytes)", e.call());
    }
  }

  @Test
  void an_injected_out_of_memory_fails_exactly_the_next_allocation() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu())) {
      FakeCuda.inject("cuMemAlloc_v2", CudaException.OUT_OF_MEMORY, 1);

      CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(1 << 30));
      assertEquals("cuMemAlloc_v2(1073741824 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)", e.getMessage());
      try (DeviceBuffer ok = ctx.allocate(1 << 20)) {
        assertEquals(1 << 20, ok.bytes());
      }
    }
  }

  @Test
  void buffers_round_trip_host_data_and_are_freed_on_close() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); Arena arena = Arena.ofConfined()) {
      long before = FakeCuda.liveAllocations();
      MemorySegment src = arena.allocate(1000), dst = arena.allocate(1000);
      for (int i = 0; i < 1000; i++) {
        src.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
      }
      try (DeviceBuffer a = ctx.allocate(1000); DeviceBuffer b = ctx.allocate(1000)) {
        a.copyFrom(src, 0);
        b.copyFrom(a, 0, 0, 1000);
        b.fill(0, 10, (byte) 0);
        b.copyTo(dst, 0);
        assertEquals(before + 2, FakeCuda.liveAllocations());
      }
      assertEquals(before, FakeCuda.liveAllocations());
      assertEquals(0, dst.get(ValueLayout.JAVA_BYTE, 9));
      assertEquals((byte) (500 * 7), dst.get(ValueLayout.JAVA_BYTE, 500));
    }
  }

  @Test
  void copies_outside_a_buffer_name_the_range() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); DeviceBuffer b = ctx.allocate(64); Arena arena = Arena.ofConfined()) {
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> b.copyFrom(arena.allocate(32), 40));
      assertEquals("range [40, 72) is outside the device buffer of 64 bytes", e.getMessage());
    }
  }

  @Test
  void kernels_receive_pointer_float_and_integer_arguments() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); CudaModule module = ctx.loadModule("util");
        CudaStream stream = ctx.createStream(); DeviceBuffer x = ctx.allocate(4 * 100); DeviceBuffer y = ctx.allocate(4 * 100);
        Arena arena = Arena.ofConfined()) {
      Kernel fill = module.kernel("loupe_fill_f32"), axpy = module.kernel("loupe_axpy_f32");
      fill.launch(stream, Kernel.grid(1), Kernel.block(128), 0, Kernel.args().pointer(x).f32(2f).i32(100));
      fill.launch(stream, Kernel.grid(1), Kernel.block(128), 0, Kernel.args().pointer(y).f32(1f).i32(100));
      axpy.launch(stream, Kernel.grid(1), Kernel.block(128), 0, Kernel.args().i64(100).f32(3f).pointer(x).pointer(y));
      stream.synchronize();
      MemorySegment out = arena.allocate(4 * 100);
      y.copyTo(out, 0);

      float[] expected = new float[100];
      java.util.Arrays.fill(expected, 7f);
      assertArrayEquals(expected, out.toArray(ValueLayout.JAVA_FLOAT));
    }
  }

  @Test
  void a_kernel_the_module_lacks_is_not_found_by_name() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); CudaModule module = ctx.loadModule("util")) {
      CudaException e = assertThrows(CudaException.class, () -> module.kernel("loupe_missing"));
      assertEquals("cuModuleGetFunction(loupe_missing) failed: CUDA_ERROR_NOT_FOUND (named symbol not found)", e.getMessage());
    }
  }

  @Test
  void a_module_that_does_not_compile_carries_the_jit_log() {
    Gpu.Available gpu = FakeCuda.gpu();
    try (GpuContext ctx = GpuContext.open(gpu); Arena arena = Arena.ofConfined()) {
      MemorySegment image = arena.allocateFrom("not ptx at all", StandardCharsets.UTF_8);
      CudaException e = assertThrows(CudaException.class, () -> gpu.driver().moduleLoad(image, "broken.ptx"));
      assertEquals("CUDA_ERROR_INVALID_PTX", e.errorName());
      assertTrue(e.getMessage().startsWith("cuModuleLoadDataEx(broken.ptx) [fake ptxas: no .entry in the image] failed"),
          e.getMessage());
    }
  }

  @Test
  void a_captured_graph_replays_its_launches_with_the_captured_arguments() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); CudaModule module = ctx.loadModule("util");
        CudaStream stream = ctx.createStream(); DeviceBuffer x = ctx.allocate(4 * 8); DeviceBuffer y = ctx.allocate(4 * 8);
        Arena arena = Arena.ofConfined()) {
      Kernel fill = module.kernel("loupe_fill_f32"), axpy = module.kernel("loupe_axpy_f32");
      fill.launch(stream, Kernel.grid(1), Kernel.block(32), 0, Kernel.args().pointer(x).f32(1f).i32(8));
      fill.launch(stream, Kernel.grid(1), Kernel.block(32), 0, Kernel.args().pointer(y).f32(0f).i32(8));
      long launchesBefore = FakeCuda.launches();

      stream.beginCapture();
      axpy.launch(stream, Kernel.grid(1), Kernel.block(32), 0, Kernel.args().i64(8).f32(0.5f).pointer(x).pointer(y));
      try (CudaGraph graph = stream.endCapture()) {
        assertEquals(launchesBefore, FakeCuda.launches(), "capture records, it does not run");
        for (int i = 0; i < 4; i++) {
          graph.launch(stream);
        }
        stream.synchronize();
      }
      MemorySegment out = arena.allocate(4 * 8);
      y.copyTo(out, 0);
      assertEquals(2f, out.getAtIndex(ValueLayout.JAVA_FLOAT, 7));
      assertEquals(launchesBefore + 4, FakeCuda.launches());
    }
  }

  @Test
  void events_time_work_on_a_stream() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); CudaStream stream = ctx.createStream();
        CudaEvent start = ctx.createEvent(); CudaEvent end = ctx.createEvent()) {
      start.record(stream);
      end.record(stream);
      end.synchronize();

      assertTrue(end.millisSince(start) >= 0f);
    }
  }

  @Test
  void launch_errors_name_the_kernel_and_its_configuration() {
    try (GpuContext ctx = GpuContext.open(FakeCuda.gpu()); CudaModule module = ctx.loadModule("util");
        CudaStream stream = ctx.createStream(); DeviceBuffer x = ctx.allocate(4)) {
      Kernel fill = module.kernel("loupe_fill_f32");
      CudaException e = assertThrows(CudaException.class,
          () -> fill.launch(stream, Kernel.grid(1), Kernel.block(2048), 0, Kernel.args().pointer(x).f32(1f).i32(1)));

      assertEquals("cuLaunchKernel(loupe_fill_f32, grid 1x1x1, block 2048x1x1, 0 bytes shared) failed: "
          + "CUDA_ERROR_INVALID_VALUE (invalid argument)", e.getMessage());
    }
  }
}
