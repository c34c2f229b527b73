package dev.loupe.llm.model;

import dev.loupe.llm.tensor.ActivationMode;
import java.util.Objects;

/**
 * How a {@link Model} computes: the threads of its {@link dev.loupe.llm.tensor.ComputePool} (the
 * caller's thread included) and how matmuls treat activations ({@link ActivationMode#GGML} rounds
 * them as llama.cpp's CPU backend does, for close comparison with it).
 *
 * @param threads compute threads, at least 1
 * @param activationMode FP32 (exact activations, the default), GGML or Q8 (see {@link ActivationMode})
 */
public record ModelOptions(int threads, ActivationMode activationMode) {
  public ModelOptions {
    if (threads < 1) {
      throw new IllegalArgumentException("thread count " + threads + " must be at least 1");
    }
    Objects.requireNonNull(activationMode, "activationMode");
  }

  /** All available processors, fp32 activations. */
  public static ModelOptions defaults() {
    return new ModelOptions(Runtime.getRuntime().availableProcessors(), ActivationMode.FP32);
  }

  /** {@code threads} threads, fp32 activations. */
  public static ModelOptions threads(int threads) {
    return new ModelOptions(threads, ActivationMode.FP32);
  }

  public ModelOptions withActivationMode(ActivationMode mode) {
    return new ModelOptions(threads, mode);
  }
}
