/**
 * Tensor data and the compute kernels of the forward pass.
 *
 * <p>{@link dev.loupe.llm.tensor.BlockCodec} encodes and decodes ggml's block formats (decoding
 * bit for bit as ggml does); {@link dev.loupe.llm.tensor.ActivationQuantizer} quantizes
 * activations the way llama.cpp's CPU backend does before a quantized matmul; {@link
 * dev.loupe.llm.tensor.WeightMatrix} is a weight over a read-only {@code MemorySegment} with
 * single and batched matmuls, parallel over rows on a {@link dev.loupe.llm.tensor.ComputePool}.
 * The dot kernels behind it have a scalar reference and a Vector API fast path (the only file here
 * that imports {@code jdk.incubator.vector}: {@code PanamaKernelOps}), chosen once per JVM; the
 * system property {@code loupe.llm.kernels=scalar|panama} forces one.
 */
package dev.loupe.llm.tensor;
