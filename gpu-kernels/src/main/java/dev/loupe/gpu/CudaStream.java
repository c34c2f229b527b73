package dev.loupe.gpu;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream: work queued on it runs in order. Can capture what is queued into a {@link
 * CudaGraph} ({@link #beginCapture()} … {@link #endCapture()}) and replay it with one launch.
 *
 * <p>Not thread-safe: one thread queues work on a stream at a time (capture mode is per thread).
 */
public final class CudaStream implements AutoCloseable {
  private final GpuContext context;
  private final MemorySegment handle;
  private boolean closed;

  CudaStream(GpuContext context, MemorySegment handle) {
    this.context = context;
    this.handle = handle;
  }

  MemorySegment handle() {
    if (closed) {
      throw new IllegalStateException("CUDA stream is closed");
    }
    return handle;
  }

  /** Waits for everything queued so far. */
  public void synchronize() {
    context.bind();
    context.driver().streamSynchronize(handle());
  }

  /** Starts recording (instead of running) what is queued on this stream. */
  public void beginCapture() {
    context.bind();
    context.driver().streamBeginCapture(handle(), CudaDriver.CAPTURE_MODE_THREAD_LOCAL);
  }

  /** Ends recording and instantiates the graph, ready to {@link CudaGraph#launch launch}. */
  public CudaGraph endCapture() {
    context.bind();
    MemorySegment graph = context.driver().streamEndCapture(handle());
    try {
      return new CudaGraph(context, graph, context.driver().graphInstantiate(graph));
    } catch (CudaException e) {
      context.driver().graphDestroy(graph);
      throw e;
    }
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    context.bind();
    context.driver().streamDestroy(handle);
  }
}
