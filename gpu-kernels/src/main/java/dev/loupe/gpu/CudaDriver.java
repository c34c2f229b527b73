package dev.loupe.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Hand-written Foreign Function &amp; Memory downcalls over the CUDA driver API ({@code libcuda}),
 * one method per driver function Loupe uses. Every method checks the {@code CUresult} and throws a
 * {@link CudaException} naming the call and the error.
 *
 * <p>Handles ({@code CUcontext}, {@code CUmodule}, {@code CUfunction}, {@code CUstream}, {@code
 * CUevent}, {@code CUgraph}, {@code CUgraphExec}) are {@link MemorySegment} addresses of size 0;
 * device pointers ({@code CUdeviceptr}) are {@code long}s. Owners of these handles are the
 * higher-level types ({@link GpuContext}, {@link DeviceBuffer}, {@link CudaStream}, …); code outside
 * this package should use those.
 *
 * <p><b>Thread safety.</b> The driver API is thread-safe; so is this class (it holds only immutable
 * method handles). The current context is per thread: callers make theirs current first ({@link
 * GpuContext#bind()}).
 */
public final class CudaDriver {
  /** System property naming the driver library to load instead of {@code libcuda.so.1} (tests point it at the fake driver). */
  public static final String LIBRARY_PROPERTY = "loupe.cuda.library";
  /** The driver's library name on Linux. */
  public static final String DEFAULT_LIBRARY = "libcuda.so.1";

  static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
  static final int CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36;
  static final int CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37;
  static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
  static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
  private static final int CU_JIT_ERROR_LOG_BUFFER = 5;
  private static final int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
  /** {@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}: only this thread's unsafe calls are prohibited during capture. */
  static final int CAPTURE_MODE_THREAD_LOCAL = 1;

  private final String library;
  private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
      cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
      cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyDtoD,
      cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync, cuMemsetD8, cuModuleLoadData,
      cuModuleLoadDataEx, cuModuleUnload, cuModuleGetFunction, cuLaunchKernel, cuStreamCreate,
      cuStreamSynchronize, cuStreamDestroy, cuEventCreate, cuEventRecord, cuEventSynchronize,
      cuEventElapsedTime, cuEventDestroy, cuStreamBeginCapture, cuStreamEndCapture,
      cuGraphInstantiateWithFlags, cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy, cuGetErrorName,
      cuGetErrorString;

  private CudaDriver(String library, SymbolLookup lookup) {
    this.library = library;
    Binder b = new Binder(lookup);
    cuInit = b.bind("cuInit", JAVA_INT);
    cuDriverGetVersion = b.bind("cuDriverGetVersion", ADDRESS);
    cuDeviceGetCount = b.bind("cuDeviceGetCount", ADDRESS);
    cuDeviceGet = b.bind("cuDeviceGet", ADDRESS, JAVA_INT);
    cuDeviceGetName = b.bind("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
    cuDeviceGetAttribute = b.bind("cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
    cuDeviceTotalMem = b.bind("cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
    cuDevicePrimaryCtxRetain = b.bind("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
    cuDevicePrimaryCtxRelease = b.bind("cuDevicePrimaryCtxRelease_v2", JAVA_INT);
    cuCtxSetCurrent = b.bind("cuCtxSetCurrent", ADDRESS);
    cuCtxSynchronize = b.bind("cuCtxSynchronize");
    cuMemAlloc = b.bind("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
    cuMemFree = b.bind("cuMemFree_v2", JAVA_LONG);
    cuMemcpyHtoD = b.bind("cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
    cuMemcpyDtoH = b.bind("cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
    cuMemcpyDtoD = b.bind("cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
    cuMemcpyHtoDAsync = b.bind("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
    cuMemcpyDtoHAsync = b.bind("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
    cuMemcpyDtoDAsync = b.bind("cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
    cuMemsetD8 = b.bind("cuMemsetD8_v2", JAVA_LONG, JAVA_BYTE, JAVA_LONG);
    cuModuleLoadData = b.bind("cuModuleLoadData", ADDRESS, ADDRESS);
    cuModuleLoadDataEx = b.bind("cuModuleLoadDataEx", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    cuModuleUnload = b.bind("cuModuleUnload", ADDRESS);
    cuModuleGetFunction = b.bind("cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
    cuLaunchKernel = b.bind("cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
        JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    cuStreamCreate = b.bind("cuStreamCreate", ADDRESS, JAVA_INT);
    cuStreamSynchronize = b.bind("cuStreamSynchronize", ADDRESS);
    cuStreamDestroy = b.bind("cuStreamDestroy_v2", ADDRESS);
    cuEventCreate = b.bind("cuEventCreate", ADDRESS, JAVA_INT);
    cuEventRecord = b.bind("cuEventRecord", ADDRESS, ADDRESS);
    cuEventSynchronize = b.bind("cuEventSynchronize", ADDRESS);
    // CUDA 12.8 added the _v2 (cuda.h maps cuEventElapsedTime to it); older drivers have only the first.
    cuEventElapsedTime = b.bindFirst(new String[] {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, ADDRESS, ADDRESS, ADDRESS);
    cuEventDestroy = b.bind("cuEventDestroy_v2", ADDRESS);
    cuStreamBeginCapture = b.bind("cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
    cuStreamEndCapture = b.bind("cuStreamEndCapture", ADDRESS, ADDRESS);
    cuGraphInstantiateWithFlags = b.bind("cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
    cuGraphLaunch = b.bind("cuGraphLaunch", ADDRESS, ADDRESS);
    cuGraphExecDestroy = b.bind("cuGraphExecDestroy", ADDRESS);
    cuGraphDestroy = b.bind("cuGraphDestroy", ADDRESS);
    cuGetErrorName = b.bind("cuGetErrorName", JAVA_INT, ADDRESS);
    cuGetErrorString = b.bind("cuGetErrorString", JAVA_INT, ADDRESS);
  }

  /**
   * Opens the driver library: the {@value #LIBRARY_PROPERTY} system property's path when set, else
   * {@value #DEFAULT_LIBRARY} through the system's library search. Does not call {@code cuInit}.
   *
   * @throws IllegalStateException when the library does not open or lacks a function, with the reason
   */
  public static CudaDriver open() {
    String configured = System.getProperty(LIBRARY_PROPERTY);
    return open(configured == null || configured.isBlank() ? DEFAULT_LIBRARY : configured);
  }

  /** Opens the driver library {@code library} (a path, or a name the system's loader searches for). */
  public static CudaDriver open(String library) {
    SymbolLookup lookup;
    try {
      lookup = SymbolLookup.libraryLookup(library, Arena.global());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(library + " does not open (" + e.getMessage() + ")", e);
    }
    return new CudaDriver(library, lookup);
  }

  /** The library this driver was loaded from. */
  public String library() {
    return library;
  }

  // ---- initialization and devices -------------------------------------------------------------

  /** {@code cuInit(0)}. */
  public void init() {
    check(call(cuInit, 0), () -> "cuInit(0)");
  }

  /** The driver's CUDA version, e.g. 13000 for 13.0. */
  public int driverVersion() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check(call(cuDriverGetVersion, out), () -> "cuDriverGetVersion");
      return out.get(JAVA_INT, 0);
    }
  }

  public int deviceCount() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check(call(cuDeviceGetCount, out), () -> "cuDeviceGetCount");
      return out.get(JAVA_INT, 0);
    }
  }

  /** The {@code CUdevice} handle of device {@code ordinal}. */
  public int device(int ordinal) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check(call(cuDeviceGet, out, ordinal), () -> "cuDeviceGet(" + ordinal + ")");
      return out.get(JAVA_INT, 0);
    }
  }

  public String deviceName(int device) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(256);
      check(call(cuDeviceGetName, out, 256, device), () -> "cuDeviceGetName(device " + device + ")");
      return out.getString(0, StandardCharsets.UTF_8);
    }
  }

  public int deviceAttribute(int device, int attribute) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check(call(cuDeviceGetAttribute, out, attribute, device),
          () -> "cuDeviceGetAttribute(attribute " + attribute + ", device " + device + ")");
      return out.get(JAVA_INT, 0);
    }
  }

  public long deviceTotalMemory(int device) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_LONG);
      check(call(cuDeviceTotalMem, out, device), () -> "cuDeviceTotalMem_v2(device " + device + ")");
      return out.get(JAVA_LONG, 0);
    }
  }

  // ---- contexts --------------------------------------------------------------------------------

  /** Retains the device's primary context; pair with {@link #primaryContextRelease}. */
  public MemorySegment primaryContextRetain(int device) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuDevicePrimaryCtxRetain, out, device), () -> "cuDevicePrimaryCtxRetain(device " + device + ")");
      return out.get(ADDRESS, 0);
    }
  }

  public void primaryContextRelease(int device) {
    check(call(cuDevicePrimaryCtxRelease, device), () -> "cuDevicePrimaryCtxRelease_v2(device " + device + ")");
  }

  public void contextSetCurrent(MemorySegment context) {
    check(call(cuCtxSetCurrent, context), () -> "cuCtxSetCurrent");
  }

  public void contextSynchronize() {
    check(call(cuCtxSynchronize), () -> "cuCtxSynchronize");
  }

  // ---- memory ----------------------------------------------------------------------------------

  /** {@code cuMemAlloc_v2}: plain device memory (never managed memory), 256-byte aligned. */
  public long memAlloc(long bytes) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_LONG);
      check(call(cuMemAlloc, out, bytes), () -> "cuMemAlloc_v2(" + bytes + " bytes)");
      return out.get(JAVA_LONG, 0);
    }
  }

  public void memFree(long pointer) {
    check(call(cuMemFree, pointer), () -> "cuMemFree_v2(0x" + Long.toHexString(pointer) + ")");
  }

  /** Copies {@code bytes} from host {@code src} to device {@code dst}; synchronous. */
  public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
    check(call(cuMemcpyHtoD, dst, src, bytes), () -> "cuMemcpyHtoD_v2(" + bytes + " bytes)");
  }

  public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
    check(call(cuMemcpyDtoH, dst, src, bytes), () -> "cuMemcpyDtoH_v2(" + bytes + " bytes)");
  }

  public void memcpyDtoD(long dst, long src, long bytes) {
    check(call(cuMemcpyDtoD, dst, src, bytes), () -> "cuMemcpyDtoD_v2(" + bytes + " bytes)");
  }

  /** Queues a copy on {@code stream}; {@code src} must stay alive until the stream passes it. */
  public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
    check(call(cuMemcpyHtoDAsync, dst, src, bytes, stream), () -> "cuMemcpyHtoDAsync_v2(" + bytes + " bytes)");
  }

  public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
    check(call(cuMemcpyDtoHAsync, dst, src, bytes, stream), () -> "cuMemcpyDtoHAsync_v2(" + bytes + " bytes)");
  }

  public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
    check(call(cuMemcpyDtoDAsync, dst, src, bytes, stream), () -> "cuMemcpyDtoDAsync_v2(" + bytes + " bytes)");
  }

  public void memsetD8(long dst, byte value, long bytes) {
    check(call(cuMemsetD8, dst, value, bytes), () -> "cuMemsetD8_v2(" + bytes + " bytes)");
  }

  // ---- modules and launches --------------------------------------------------------------------

  /**
   * Loads a PTX or cubin image ({@code image} is NUL-terminated for PTX); the JIT compiler's error
   * log, when there is one, is part of the exception's message.
   */
  public MemorySegment moduleLoad(MemorySegment image, String what) {
    try (Arena a = Arena.ofConfined()) {
      int logBytes = 8192;
      MemorySegment log = a.allocate(logBytes);
      MemorySegment options = a.allocate(MemoryLayout.sequenceLayout(2, JAVA_INT));
      options.setAtIndex(JAVA_INT, 0, CU_JIT_ERROR_LOG_BUFFER);
      options.setAtIndex(JAVA_INT, 1, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
      MemorySegment values = a.allocate(MemoryLayout.sequenceLayout(2, ADDRESS));
      values.setAtIndex(ADDRESS, 0, log);
      values.setAtIndex(ADDRESS, 1, MemorySegment.ofAddress(logBytes));
      MemorySegment out = a.allocate(ADDRESS);
      int rc = call(cuModuleLoadDataEx, out, image, 2, options, values);
      if (rc != 0) {
        String jitLog = log.getString(0, StandardCharsets.UTF_8).strip();
        check(rc, () -> "cuModuleLoadDataEx(" + what + ")" + (jitLog.isEmpty() ? "" : " [" + jitLog + "]"));
      }
      return out.get(ADDRESS, 0);
    }
  }

  /** {@code cuModuleLoadData} without options. */
  public MemorySegment moduleLoadData(MemorySegment image, String what) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuModuleLoadData, out, image), () -> "cuModuleLoadData(" + what + ")");
      return out.get(ADDRESS, 0);
    }
  }

  public void moduleUnload(MemorySegment module) {
    check(call(cuModuleUnload, module), () -> "cuModuleUnload");
  }

  public MemorySegment moduleGetFunction(MemorySegment module, String name) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuModuleGetFunction, out, module, a.allocateFrom(name)), () -> "cuModuleGetFunction(" + name + ")");
      return out.get(ADDRESS, 0);
    }
  }

  /** {@code cuLaunchKernel} with {@code params} an array of pointers to each argument's value. */
  public void launchKernel(MemorySegment function, String name, int gridX, int gridY, int gridZ, int blockX, int blockY,
      int blockZ, int sharedBytes, MemorySegment stream, MemorySegment params) {
    check(call(cuLaunchKernel, function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream, params,
            MemorySegment.NULL),
        () -> "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + blockX + "x"
            + blockY + "x" + blockZ + ", " + sharedBytes + " bytes shared)");
  }

  // ---- streams, events, graphs -----------------------------------------------------------------

  public MemorySegment streamCreate(int flags) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuStreamCreate, out, flags), () -> "cuStreamCreate(flags " + flags + ")");
      return out.get(ADDRESS, 0);
    }
  }

  public void streamSynchronize(MemorySegment stream) {
    check(call(cuStreamSynchronize, stream), () -> "cuStreamSynchronize");
  }

  public void streamDestroy(MemorySegment stream) {
    check(call(cuStreamDestroy, stream), () -> "cuStreamDestroy_v2");
  }

  public MemorySegment eventCreate(int flags) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuEventCreate, out, flags), () -> "cuEventCreate(flags " + flags + ")");
      return out.get(ADDRESS, 0);
    }
  }

  public void eventRecord(MemorySegment event, MemorySegment stream) {
    check(call(cuEventRecord, event, stream), () -> "cuEventRecord");
  }

  public void eventSynchronize(MemorySegment event) {
    check(call(cuEventSynchronize, event), () -> "cuEventSynchronize");
  }

  /** Milliseconds between two recorded, completed events. */
  public float eventElapsedTime(MemorySegment start, MemorySegment end) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_FLOAT);
      check(call(cuEventElapsedTime, out, start, end), () -> "cuEventElapsedTime");
      return out.get(JAVA_FLOAT, 0);
    }
  }

  public void eventDestroy(MemorySegment event) {
    check(call(cuEventDestroy, event), () -> "cuEventDestroy_v2");
  }

  public void streamBeginCapture(MemorySegment stream, int mode) {
    check(call(cuStreamBeginCapture, stream, mode), () -> "cuStreamBeginCapture_v2(mode " + mode + ")");
  }

  public MemorySegment streamEndCapture(MemorySegment stream) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuStreamEndCapture, stream, out), () -> "cuStreamEndCapture");
      return out.get(ADDRESS, 0);
    }
  }

  public MemorySegment graphInstantiate(MemorySegment graph) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(call(cuGraphInstantiateWithFlags, out, graph, 0L), () -> "cuGraphInstantiateWithFlags");
      return out.get(ADDRESS, 0);
    }
  }

  public void graphLaunch(MemorySegment exec, MemorySegment stream) {
    check(call(cuGraphLaunch, exec, stream), () -> "cuGraphLaunch");
  }

  public void graphExecDestroy(MemorySegment exec) {
    check(call(cuGraphExecDestroy, exec), () -> "cuGraphExecDestroy");
  }

  public void graphDestroy(MemorySegment graph) {
    check(call(cuGraphDestroy, graph), () -> "cuGraphDestroy");
  }

  // ---- errors ----------------------------------------------------------------------------------

  /** The driver's name for {@code code} ({@code CUDA_ERROR_OUT_OF_MEMORY}), or {@code CUDA_ERROR_<code>} when it has none. */
  public String errorName(int code) {
    return errorText(cuGetErrorName, code).orElse("CUDA_ERROR_" + code);
  }

  /** The driver's description of {@code code} ({@code out of memory}), or empty. */
  public String errorString(int code) {
    return errorText(cuGetErrorString, code).orElse("");
  }

  private Optional<String> errorText(MethodHandle handle, int code) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      if (call(handle, code, out) != 0) {
        return Optional.empty();
      }
      MemorySegment text = out.get(ADDRESS, 0);
      return text.equals(MemorySegment.NULL) ? Optional.empty()
          : Optional.of(text.reinterpret(4096).getString(0, StandardCharsets.UTF_8));
    }
  }

  private void check(int rc, Supplier<String> call) {
    if (rc != 0) {
      throw new CudaException(call.get(), rc, errorName(rc), errorString(rc));
    }
  }

  private static int call(MethodHandle handle, Object... args) {
    try {
      return (int) handle.invokeWithArguments(args);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("CUDA driver call failed to run: " + t, t);
    }
  }

  /** Looks up functions and fails naming the first one missing. */
  private record Binder(SymbolLookup lookup) {
    MethodHandle bind(String name, MemoryLayout... args) {
      return bindFirst(new String[] {name}, args);
    }

    MethodHandle bindFirst(String[] names, MemoryLayout... args) {
      for (String name : names) {
        Optional<MemorySegment> symbol = lookup.find(name);
        if (symbol.isPresent()) {
          return Linker.nativeLinker().downcallHandle(symbol.get(), FunctionDescriptor.of(JAVA_INT, args));
        }
      }
      throw new IllegalStateException("the CUDA driver lacks " + String.join(" and ", names) + "; update the NVIDIA driver");
    }
  }
}
