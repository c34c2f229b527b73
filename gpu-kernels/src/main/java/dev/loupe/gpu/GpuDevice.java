package dev.loupe.gpu;

import java.util.Locale;

/**
 * One CUDA device as the driver describes it.
 *
 * @param ordinal the device's index ({@code cuDeviceGet})
 * @param handle its {@code CUdevice}
 * @param name e.g. {@code NVIDIA H200}
 * @param totalMemory device memory in bytes
 * @param major compute capability major (9 for Hopper)
 * @param minor compute capability minor
 * @param multiprocessors streaming multiprocessors
 * @param peakBandwidth theoretical memory bandwidth in bytes/s from the memory clock and bus width
 *     (0 when the driver does not report them)
 */
public record GpuDevice(int ordinal, int handle, String name, long totalMemory, int major, int minor, int multiprocessors,
    double peakBandwidth) {

  public GpuDevice {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("device name '" + name + "' must not be blank");
    }
    if (totalMemory < 0 || multiprocessors < 0 || major < 0 || minor < 0) {
      throw new IllegalArgumentException("device " + name + " reports negative memory " + totalMemory + ", "
          + multiprocessors + " multiprocessors or compute capability " + major + "." + minor);
    }
  }

  /** Compute capability as {@code 9.0}. */
  public String computeCapability() {
    return major + "." + minor;
  }

  /** {@code NVIDIA H200, 139.8 GiB, compute capability 9.0, 132 SMs}. */
  public String describe() {
    return String.format(Locale.ROOT, "%s, %.1f GiB, compute capability %s, %d SMs", name, totalMemory / (double) (1L << 30),
        computeCapability(), multiprocessors);
  }
}
