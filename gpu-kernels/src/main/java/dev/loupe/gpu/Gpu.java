package dev.loupe.gpu;

/**
 * Decides once whether a CUDA GPU is usable: opens the driver library ({@code libcuda.so.1}, or the
 * {@value CudaDriver#LIBRARY_PROPERTY} system property's path), calls {@code cuInit} and reads
 * device 0. One log line says which way it went: {@code GPU: NVIDIA H200, 139.8 GiB, compute
 * capability 9.0, …} or {@code CPU: …why…}. Nothing here throws: a machine without a GPU gets an
 * {@link Unavailable} with the reason.
 *
 * <p>Thread-safe; {@link #detect()} probes once per JVM and caches the answer.
 */
public final class Gpu {
  private static final System.Logger log = System.getLogger("dev.loupe.gpu");
  private static volatile Detection cached;

  private Gpu() {}

  /** What {@link #detect()} found. */
  public sealed interface Detection permits Available, Unavailable {
    /** The log line: {@code GPU: …} or {@code CPU: …}. */
    String describe();
  }

  /** A usable device 0 and the driver it was found through. */
  public record Available(CudaDriver driver, GpuDevice device) implements Detection {
    public Available {
      if (driver == null || device == null) {
        throw new IllegalArgumentException("driver " + driver + " and device " + device + " must not be null");
      }
    }

    @Override
    public String describe() {
      return "GPU: " + device.describe() + " (driver " + driver.library() + ")";
    }
  }

  /** No usable GPU, and why ({@code libcuda.so.1 does not open …}, {@code no CUDA device}, …). */
  public record Unavailable(String reason) implements Detection {
    public Unavailable {
      if (reason == null || reason.isBlank()) {
        throw new IllegalArgumentException("reason '" + reason + "' must not be blank");
      }
    }

    @Override
    public String describe() {
      return "CPU: " + reason;
    }
  }

  /** The JVM's answer, probed on first use and logged once. */
  public static Detection detect() {
    Detection d = cached;
    if (d == null) {
      synchronized (Gpu.class) {
        d = cached;
        if (d == null) {
          String library = System.getProperty(CudaDriver.LIBRARY_PROPERTY);
          d = probe(library == null || library.isBlank() ? CudaDriver.DEFAULT_LIBRARY : library);
          log.log(System.Logger.Level.INFO, d.describe());
          cached = d;
        }
      }
    }
    return d;
  }

  /** Probes {@code library} now, without caching or logging. */
  public static Detection probe(String library) {
    CudaDriver driver;
    try {
      driver = CudaDriver.open(library);
    } catch (IllegalStateException e) {
      return new Unavailable(e.getMessage() + "; install the NVIDIA driver to use a GPU");
    }
    try {
      driver.init();
      int count = driver.deviceCount();
      if (count == 0) {
        return new Unavailable("the CUDA driver " + library + " sees no device");
      }
      return new Available(driver, describe(driver, 0));
    } catch (CudaException e) {
      return new Unavailable(e.getMessage());
    }
  }

  /** Reads device {@code ordinal}'s name, memory and capabilities. */
  static GpuDevice describe(CudaDriver driver, int ordinal) {
    int device = driver.device(ordinal);
    // Only the peak-bandwidth estimate reads these, and newer drivers deprecate them: 0 when refused.
    int clockKHz = optionalAttribute(driver, device, CudaDriver.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    int busBits = optionalAttribute(driver, device, CudaDriver.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
    return new GpuDevice(ordinal, device, driver.deviceName(device), driver.deviceTotalMemory(device),
        driver.deviceAttribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
        driver.deviceAttribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
        driver.deviceAttribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
        2.0 * clockKHz * 1000.0 * (busBits / 8.0)); // double data rate
  }

  private static int optionalAttribute(CudaDriver driver, int device, int attribute) {
    try {
      return driver.deviceAttribute(device, attribute);
    } catch (CudaException e) {
      return 0;
    }
  }
}
