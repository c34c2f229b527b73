package dev.loupe.gpu;

import java.lang.foreign.MemorySegment;

/** A CUDA event, for timing work on a stream on the device's clock. Not thread-safe. */
public final class CudaEvent implements AutoCloseable {
  private final GpuContext context;
  private final MemorySegment handle;
  private boolean closed;

  CudaEvent(GpuContext context, MemorySegment handle) {
    this.context = context;
    this.handle = handle;
  }

  /** Marks the point of {@code stream}'s queue reached so far. */
  public void record(CudaStream stream) {
    context.bind();
    context.driver().eventRecord(handle(), stream.handle());
  }

  /** Waits until the stream has passed the recorded point. */
  public void synchronize() {
    context.bind();
    context.driver().eventSynchronize(handle());
  }

  /** Milliseconds from {@code start} to this event, both recorded and passed. */
  public float millisSince(CudaEvent start) {
    context.bind();
    return context.driver().eventElapsedTime(start.handle(), handle());
  }

  private MemorySegment handle() {
    if (closed) {
      throw new IllegalStateException("CUDA event is closed");
    }
    return handle;
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    context.bind();
    context.driver().eventDestroy(handle);
  }
}
