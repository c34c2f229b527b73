package dev.loupe.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A device's primary context, retained while this object is open, and the factory for what lives
 * in it: {@link DeviceBuffer}s, {@link CudaStream}s, {@link CudaEvent}s and {@link CudaModule}s.
 *
 * <p><b>Threads.</b> A CUDA context is current per thread. Every method here, and every method of
 * the objects it makes, first makes this context current on the calling thread ({@link #bind()},
 * one cheap driver call), so any thread may use them. The objects themselves are not guarded
 * against concurrent use; their owners serialize (the GPU index holds a lock).
 *
 * <p><b>Lifetimes.</b> Close what this context made before closing the context; closing releases
 * the primary context (the driver frees it when its last retainer lets go).
 */
public final class GpuContext implements AutoCloseable {
  private static final System.Logger log = System.getLogger("dev.loupe.gpu");
  private final CudaDriver driver;
  private final GpuDevice device;
  private final MemorySegment context;
  private volatile boolean closed;

  private GpuContext(CudaDriver driver, GpuDevice device, MemorySegment context) {
    this.driver = driver;
    this.device = device;
    this.context = context;
  }

  /** Retains the primary context of {@code gpu}'s device. */
  public static GpuContext open(Gpu.Available gpu) {
    CudaDriver driver = gpu.driver();
    MemorySegment ctx = driver.primaryContextRetain(gpu.device().handle());
    GpuContext context = new GpuContext(driver, gpu.device(), ctx);
    context.bind();
    return context;
  }

  public CudaDriver driver() {
    return driver;
  }

  public GpuDevice device() {
    return device;
  }

  /** Makes this context current on the calling thread. */
  public void bind() {
    if (closed) {
      throw new IllegalStateException("GPU context of " + device.name() + " is closed");
    }
    driver.contextSetCurrent(context);
  }

  /** Device memory of {@code bytes} bytes (uninitialized; at least 1 byte is allocated). */
  public DeviceBuffer allocate(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("buffer size " + bytes + " must not be negative");
    }
    bind();
    return new DeviceBuffer(this, driver.memAlloc(Math.max(1, bytes)), bytes);
  }

  /** A stream that does not synchronize with the legacy default stream. */
  public CudaStream createStream() {
    bind();
    return new CudaStream(this, driver.streamCreate(1 /* CU_STREAM_NON_BLOCKING */));
  }

  public CudaEvent createEvent() {
    bind();
    return new CudaEvent(this, driver.eventCreate(0));
  }

  /** Waits for all work in this context. */
  public void synchronize() {
    bind();
    driver.contextSynchronize();
  }

  /**
   * Loads the kernels of {@code gpu-kernels/src/main/cuda/NAME.cu}: the cubin built for this
   * device's architecture when the build made one ({@code kernels/sm_80}, {@code kernels/sm_90}),
   * else the committed PTX, which the driver compiles for the device.
   */
  public CudaModule loadModule(String name) {
    String cubin = switch (device.major()) {
      case 8 -> "sm_80";
      case 9 -> device.minor() == 0 ? "sm_90" : null;
      default -> null;
    };
    byte[] binary = cubin == null ? null : resource("kernels/" + cubin + "/" + name + ".cubin");
    if (binary != null) {
      try {
        return load(binary, name + " " + cubin + " cubin");
      } catch (CudaException e) {
        // A cubin from a newer toolkit than the driver: the PTX (ISA 7.0) still JIT-compiles.
        log.log(System.Logger.Level.WARNING, "{0}; loading {1}.ptx instead", e.getMessage(), name);
      }
    }
    byte[] ptx = resource("kernels/" + name + ".ptx");
    if (ptx == null) {
      throw new IllegalArgumentException("no kernel module '" + name + "' in dev/loupe/gpu/kernels; run scripts/build-ptx.sh");
    }
    return load(ptx, name + ".ptx");
  }

  private CudaModule load(byte[] image, String what) {
    bind();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment segment = a.allocate(image.length + 1L); // zeroed: the PTX text ends with NUL
      MemorySegment.copy(MemorySegment.ofArray(image), 0, segment, 0, image.length);
      return new CudaModule(this, driver.moduleLoad(segment, what), what);
    }
  }

  private static byte[] resource(String path) {
    try (InputStream in = GpuContext.class.getResourceAsStream(path)) {
      return in == null ? null : in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path + " from the classpath", e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    driver.primaryContextRelease(device.handle());
  }

  @Override
  public String toString() {
    return "GpuContext(" + device.describe() + ")";
  }
}
