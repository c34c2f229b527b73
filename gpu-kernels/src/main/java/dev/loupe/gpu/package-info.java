/**
 * CUDA kernels and their Foreign Function &amp; Memory bindings over the CUDA driver API.
 *
 * <ul>
 *   <li>{@link dev.loupe.gpu.CudaDriver}: hand-written downcalls into {@code libcuda.so.1} (or
 *       the library the {@code loupe.cuda.library} system property names; tests point it at the
 *       fake driver built from {@code src/test/c/fake_cuda.c}), errors as {@link
 *       dev.loupe.gpu.CudaException} with the call and the CUDA error name.
 *   <li>{@link dev.loupe.gpu.Gpu#detect()}: the one start-up probe, logging {@code GPU: …} or
 *       {@code CPU: …why…}.
 *   <li>{@link dev.loupe.gpu.GpuContext} and what it makes: {@link dev.loupe.gpu.DeviceBuffer},
 *       {@link dev.loupe.gpu.CudaStream}, {@link dev.loupe.gpu.CudaEvent}, {@link
 *       dev.loupe.gpu.CudaGraph}, {@link dev.loupe.gpu.CudaModule} and {@link dev.loupe.gpu.Kernel}.
 *   <li>{@link dev.loupe.gpu.ExactSearch}: the exact k-NN kernels of {@code src/main/cuda}, whose
 *       PTX is committed under {@code resources/dev/loupe/gpu/kernels} ({@code scripts/build-ptx.sh}
 *       regenerates it; cubins for sm_80 and sm_90 are built into {@code target/} when {@code
 *       nvcc} is present).
 *   <li>{@link dev.loupe.gpu.LlmKernels}: the decode-step kernels of {@code llm.cu} (Q8_0 / Q4_0
 *       matrix-vector products, RMSNorm, SwiGLU, RoPE, attention over an fp16 KV cache) for the
 *       LLM runtime's CUDA backend, which is still to be written.
 * </ul>
 *
 * Depends on the JDK only; it is the only module that touches CUDA.
 */
package dev.loupe.gpu;
