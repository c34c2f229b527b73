package dev.loupe.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The fake CUDA driver of {@code gpu-kernels/src/test/c/fake_cuda.c}, compiled on first use with
 * the system's C compiler ({@code cc -shared -fPIC}) into {@code target/fake-cuda/} of the module
 * under test. Tests that need it call {@link #library()}, which skips them (with the reason) when
 * there is no C compiler. Thread-safe; the library is built once per JVM.
 */
public final class FakeCuda {
  private static Path built;
  private static String failure;
  private static MethodHandle inject, setDeviceCount, liveAllocations, launchCount;

  private FakeCuda() {}

  /** The built library's path; skips the calling test when it cannot be built. */
  public static synchronized String library() {
    if (built == null && failure == null) {
      try {
        built = build();
        SymbolLookup lookup = SymbolLookup.libraryLookup(built, Arena.global());
        Linker linker = Linker.nativeLinker();
        inject = linker.downcallHandle(lookup.find("fake_cuda_inject").orElseThrow(),
            FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT));
        setDeviceCount = linker.downcallHandle(lookup.find("fake_cuda_set_device_count").orElseThrow(),
            FunctionDescriptor.ofVoid(JAVA_INT));
        liveAllocations = linker.downcallHandle(lookup.find("fake_cuda_live_allocations").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG));
        launchCount = linker.downcallHandle(lookup.find("fake_cuda_launch_count").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG));
      } catch (IOException | InterruptedException | RuntimeException e) {
        failure = e.getMessage();
      }
    }
    Assumptions.assumeTrue(failure == null, () -> "fake CUDA driver not built: " + failure);
    return built.toString();
  }

  /** The fake driver's device 0, through the real binding. */
  public static Gpu.Available gpu() {
    Gpu.Detection d = Gpu.probe(library());
    if (!(d instanceof Gpu.Available available)) {
      throw new AssertionError("the fake driver should offer a device: " + d.describe());
    }
    return available;
  }

  /**
   * The driver's device-allocation entry point, for tests outside gpu-kernels to inject failures
   * into and find in error messages without naming driver symbols themselves (ArchitectureTest).
   */
  public static final String ALLOCATION = "cuMemAlloc_v2";

  /** Makes the next {@code count} calls of {@code function} fail with CUresult {@code code}. */
  public static void inject(String function, int code, int count) {
    library();
    try (Arena a = Arena.ofConfined()) {
      inject.invoke(a.allocateFrom(function), code, count);
    } catch (Throwable t) {
      throw new AssertionError(t);
    }
  }

  public static void setDeviceCount(int count) {
    library();
    try {
      setDeviceCount.invoke(count);
    } catch (Throwable t) {
      throw new AssertionError(t);
    }
  }

  /** Device allocations not yet freed. */
  public static long liveAllocations() {
    library();
    try {
      return (long) liveAllocations.invoke();
    } catch (Throwable t) {
      throw new AssertionError(t);
    }
  }

  /** Kernels run so far (graph replays count each launch). */
  public static long launches() {
    library();
    try {
      return (long) launchCount.invoke();
    } catch (Throwable t) {
      throw new AssertionError(t);
    }
  }

  private static Path build() throws IOException, InterruptedException {
    Path source = source();
    Path dir = Path.of("target", "fake-cuda").toAbsolutePath();
    Files.createDirectories(dir);
    Path lib = dir.resolve("libfakecuda.so");
    if (Files.exists(lib) && Files.getLastModifiedTime(lib).compareTo(Files.getLastModifiedTime(source)) > 0) {
      return lib;
    }
    Path tmp = Files.createTempFile(dir, "libfakecuda", ".so");
    Path log = dir.resolve("cc.log");
    Process cc;
    try {
      cc = new ProcessBuilder(List.of("cc", "-shared", "-fPIC", "-O2", "-o", tmp.toString(), source.toString(), "-lm"))
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      throw new IOException("no C compiler (cc) to build the fake CUDA driver; install gcc", e);
    }
    if (cc.waitFor() != 0) {
      throw new IOException("cc could not build " + source + ": " + Files.readString(log).strip());
    }
    Files.move(tmp, lib, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return lib;
  }

  private static Path source() throws IOException {
    String root = System.getProperty("loupe.repo.root");
    for (Path candidate : List.of(Path.of(root == null ? "." : root), Path.of(".."), Path.of("."))) {
      Path c = candidate.resolve("gpu-kernels/src/test/c/fake_cuda.c");
      if (Files.isRegularFile(c)) {
        return c.toAbsolutePath();
      }
    }
    throw new IOException("gpu-kernels/src/test/c/fake_cuda.c not found from " + Path.of("").toAbsolutePath());
  }
}
