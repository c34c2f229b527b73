package dev.loupe.gpu;

import java.lang.foreign.MemorySegment;

/**
 * A captured and instantiated CUDA graph ({@link CudaStream#endCapture()}): replays the recorded
 * copies and launches, with the arguments they had when captured, in one {@link #launch}. For the
 * LLM decode step and fixed-shape searches. Not thread-safe.
 */
public final class CudaGraph implements AutoCloseable {
  private final GpuContext context;
  private final MemorySegment graph;
  private final MemorySegment exec;
  private boolean closed;

  CudaGraph(GpuContext context, MemorySegment graph, MemorySegment exec) {
    this.context = context;
    this.graph = graph;
    this.exec = exec;
  }

  /** Queues the whole graph on {@code stream}. */
  public void launch(CudaStream stream) {
    if (closed) {
      throw new IllegalStateException("CUDA graph is closed");
    }
    context.bind();
    context.driver().graphLaunch(exec, stream.handle());
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    context.bind();
    context.driver().graphExecDestroy(exec);
    context.driver().graphDestroy(graph);
  }
}
