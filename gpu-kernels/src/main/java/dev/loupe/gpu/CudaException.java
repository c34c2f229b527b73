package dev.loupe.gpu;

/**
 * A CUDA driver call that returned an error: carries the call as it was made (function and the
 * arguments that matter, e.g. {@code cuMemAlloc_v2(1073741824 bytes)}), the driver's error code
 * and its name ({@code CUDA_ERROR_OUT_OF_MEMORY}). Immutable.
 */
public final class CudaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** {@code CUDA_ERROR_OUT_OF_MEMORY}: the device has no room for an allocation. */
  public static final int OUT_OF_MEMORY = 2;

  private final String call;
  private final int code;
  private final String errorName;

  CudaException(String call, int code, String errorName, String description) {
    super(call + " failed: " + errorName + (description == null || description.isBlank() ? "" : " (" + description + ")"));
    this.call = call;
    this.code = code;
    this.errorName = errorName;
  }

  /** The call that failed, with its arguments, e.g. {@code cuMemAlloc_v2(1073741824 bytes)}. */
  public String call() {
    return call;
  }

  /** The driver's {@code CUresult}. */
  public int code() {
    return code;
  }

  /** The name of {@link #code()}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
  public String errorName() {
    return errorName;
  }
}
