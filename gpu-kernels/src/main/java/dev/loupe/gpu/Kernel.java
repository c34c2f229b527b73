package dev.loupe.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One kernel of a {@link CudaModule}, launched with typed arguments in the order of its C
 * signature:
 *
 * <pre>{@code
 * kernel.launch(stream, Kernel.grid(blocks), Kernel.block(256), 0,
 *     Kernel.args().pointer(dst).f32(1.5f).i32(n));
 * }</pre>
 *
 * <p>Arguments are copied into a confined arena for the call ({@code cuLaunchKernel} copies them
 * again before it returns, also while a stream is being captured), so an {@link Args} may be
 * reused. Thread-safe as far as the driver is: launches on different streams may come from
 * different threads.
 */
public final class Kernel {
  private final GpuContext context;
  private final MemorySegment function;
  private final String name;

  Kernel(GpuContext context, MemorySegment function, String name) {
    this.context = context;
    this.function = function;
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** Grid or block dimensions. */
  public record Dim3(int x, int y, int z) {
    public Dim3 {
      if (x < 1 || y < 1 || z < 1) {
        throw new IllegalArgumentException("dimensions " + x + "x" + y + "x" + z + " must be positive");
      }
    }
  }

  public static Dim3 grid(int x) {
    return new Dim3(x, 1, 1);
  }

  public static Dim3 grid(int x, int y) {
    return new Dim3(x, y, 1);
  }

  public static Dim3 block(int x) {
    return new Dim3(x, 1, 1);
  }

  public static Args args() {
    return new Args();
  }

  /** Kernel arguments in signature order: device pointers, 32/64-bit integers and fp32 values. */
  public static final class Args {
    private final List<Object> values = new ArrayList<>();

    /** A device pointer argument; {@code null} passes a null pointer. */
    public Args pointer(DeviceBuffer buffer) {
      values.add(buffer == null ? 0L : buffer.pointer());
      return this;
    }

    /** A raw device pointer ({@code CUdeviceptr}), 0 for null. */
    public Args pointer(long devicePointer) {
      values.add(devicePointer);
      return this;
    }

    public Args i32(int value) {
      values.add(value);
      return this;
    }

    public Args i64(long value) {
      values.add(value);
      return this;
    }

    public Args f32(float value) {
      values.add(value);
      return this;
    }

    int size() {
      return values.size();
    }

    /** Writes each value into its own 8-byte slot and returns the {@code void*[]} that points at them. */
    MemorySegment write(Arena arena) {
      MemorySegment slots = arena.allocate(8L * Math.max(1, values.size()), 8);
      MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, Math.max(1, values.size()));
      for (int i = 0; i < values.size(); i++) {
        long at = 8L * i;
        switch (values.get(i)) {
          case Long l -> slots.set(ValueLayout.JAVA_LONG, at, l);
          case Integer n -> slots.set(ValueLayout.JAVA_INT, at, n);
          case Float f -> slots.set(ValueLayout.JAVA_FLOAT, at, f);
          default -> throw new AssertionError(values.get(i));
        }
        pointers.setAtIndex(ValueLayout.ADDRESS, i, slots.asSlice(at, 8));
      }
      return pointers;
    }
  }

  /** Queues the kernel on {@code stream} with {@code sharedBytes} of dynamic shared memory. */
  public void launch(CudaStream stream, Dim3 grid, Dim3 block, int sharedBytes, Args args) {
    if (sharedBytes < 0) {
      throw new IllegalArgumentException("dynamic shared memory " + sharedBytes + " must not be negative");
    }
    context.bind();
    try (Arena arena = Arena.ofConfined()) {
      context.driver().launchKernel(function, name, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
          sharedBytes, stream.handle(), args.write(arena));
    }
  }
}
