package dev.loupe.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A block of plain device memory ({@code cuMemAlloc_v2}), freed by {@link #close()}. Copies check
 * their ranges against the buffer and name the offending offset.
 *
 * <p>Not thread-safe: one owner uses and closes it; closing while another thread copies is a bug.
 * Host segments passed to the asynchronous copies must stay alive until the stream passes them.
 */
public final class DeviceBuffer implements AutoCloseable {
  private final GpuContext context;
  private final long pointer;
  private final long bytes;
  private final DeviceBuffer owner; // null: this buffer owns its memory; else a slice of owner's
  private boolean closed;

  DeviceBuffer(GpuContext context, long pointer, long bytes) {
    this(context, pointer, bytes, null);
  }

  private DeviceBuffer(GpuContext context, long pointer, long bytes, DeviceBuffer owner) {
    this.context = context;
    this.pointer = pointer;
    this.bytes = bytes;
    this.owner = owner;
  }

  /**
   * A view of {@code bytes} bytes from {@code offset} (one row of a batch, say) that kernels and
   * copies take like a buffer of its own; it is usable while this buffer is open, and closing it
   * frees nothing.
   */
  public DeviceBuffer slice(long offset, long bytes) {
    checkRange(offset, bytes);
    DeviceBuffer root = owner == null ? this : owner;
    return new DeviceBuffer(context, pointer + offset, bytes, root);
  }

  /** The {@code CUdeviceptr}, for kernel arguments. */
  public long pointer() {
    checkOpen();
    return pointer;
  }

  /** {@code pointer() + offset}, checked against the buffer. */
  public long pointer(long offset) {
    checkRange(offset, 0);
    return pointer + offset;
  }

  public long bytes() {
    return bytes;
  }

  /** Copies all of {@code src} (native or heap) to this buffer at {@code offset}; synchronous. */
  public void copyFrom(MemorySegment src, long offset) {
    checkRange(offset, src.byteSize());
    if (src.byteSize() == 0) return;
    context.bind();
    if (src.isNative()) {
      context.driver().memcpyHtoD(pointer + offset, src, src.byteSize());
      return;
    }
    try (Arena staging = Arena.ofConfined()) { // the driver reads native memory only
      MemorySegment copy = staging.allocate(src.byteSize(), 16);
      copy.copyFrom(src);
      context.driver().memcpyHtoD(pointer + offset, copy, copy.byteSize());
    }
  }

  /** Queues a copy of native {@code src} to this buffer at {@code offset} on {@code stream}. */
  public void copyFromAsync(MemorySegment src, long offset, CudaStream stream) {
    checkNative(src);
    checkRange(offset, src.byteSize());
    if (src.byteSize() == 0) return;
    context.bind();
    context.driver().memcpyHtoDAsync(pointer + offset, src, src.byteSize(), stream.handle());
  }

  /** Fills {@code dst} (native or heap) from this buffer at {@code offset}; synchronous. */
  public void copyTo(MemorySegment dst, long offset) {
    checkRange(offset, dst.byteSize());
    if (dst.byteSize() == 0) return;
    context.bind();
    if (dst.isNative()) {
      context.driver().memcpyDtoH(dst, pointer + offset, dst.byteSize());
      return;
    }
    try (Arena staging = Arena.ofConfined()) {
      MemorySegment copy = staging.allocate(dst.byteSize(), 16);
      context.driver().memcpyDtoH(copy, pointer + offset, copy.byteSize());
      dst.copyFrom(copy);
    }
  }

  /** Queues a copy of this buffer at {@code offset} into {@code dst} on {@code stream}. */
  public void copyToAsync(MemorySegment dst, long offset, CudaStream stream) {
    checkNative(dst);
    checkRange(offset, dst.byteSize());
    if (dst.byteSize() == 0) return;
    context.bind();
    context.driver().memcpyDtoHAsync(dst, pointer + offset, dst.byteSize(), stream.handle());
  }

  /** Copies {@code count} bytes from {@code src} at {@code srcOffset} to this buffer at {@code offset}, on the device. */
  public void copyFrom(DeviceBuffer src, long srcOffset, long offset, long count) {
    src.checkRange(srcOffset, count);
    checkRange(offset, count);
    if (count == 0) return;
    context.bind();
    context.driver().memcpyDtoD(pointer + offset, src.pointer + srcOffset, count);
  }

  /** Sets {@code count} bytes from {@code offset} to {@code value}. */
  public void fill(long offset, long count, byte value) {
    checkRange(offset, count);
    if (count == 0) return;
    context.bind();
    context.driver().memsetD8(pointer + offset, value, count);
  }

  private void checkRange(long offset, long count) {
    checkOpen();
    if (offset < 0 || count < 0 || offset + count > bytes) {
      throw new IndexOutOfBoundsException("range [" + offset + ", " + (offset + count) + ") is outside the device buffer of "
          + bytes + " bytes");
    }
  }

  private static void checkNative(MemorySegment host) {
    if (!host.isNative()) {
      throw new IllegalArgumentException("asynchronous copies need native host memory, not " + host);
    }
  }

  private void checkOpen() {
    if (closed || (owner != null && owner.closed)) {
      throw new IllegalStateException("device buffer of " + bytes + " bytes is closed");
    }
  }

  /** Frees the memory (a slice: nothing); a second close does nothing. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    if (owner != null) return;
    context.bind();
    context.driver().memFree(pointer);
  }
}
