package dev.loupe.gpu;

import java.lang.foreign.MemorySegment;

/** A loaded PTX or cubin module ({@link GpuContext#loadModule}); its {@link Kernel}s live until it closes. Not thread-safe. */
public final class CudaModule implements AutoCloseable {
  private final GpuContext context;
  private final MemorySegment handle;
  private final String name;
  private boolean closed;

  CudaModule(GpuContext context, MemorySegment handle, String name) {
    this.context = context;
    this.handle = handle;
    this.name = name;
  }

  /** The {@code extern "C"} kernel {@code name}. */
  public Kernel kernel(String kernelName) {
    if (closed) {
      throw new IllegalStateException("module " + name + " is closed");
    }
    context.bind();
    return new Kernel(context, context.driver().moduleGetFunction(handle, kernelName), kernelName);
  }

  /** Which image was loaded, e.g. {@code exact_search sm_90 cubin} or {@code exact_search.ptx}. */
  public String name() {
    return name;
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    context.bind();
    context.driver().moduleUnload(handle);
  }
}
