/**
 * The LLM runtime's CUDA backend: {@link dev.loupe.llm.cuda.CudaModel} uploads a model's Q8_0/Q4_0
 * weights to device memory once, {@link dev.loupe.llm.cuda.CudaSession} decodes with an fp16 KV
 * cache on the device and replays the decode step as a CUDA graph, and {@link
 * dev.loupe.llm.cuda.CudaBackend} picks it or falls back to the CPU session. The kernels are
 * gpu-kernels' {@code llm.cu} ({@link dev.loupe.gpu.LlmKernels}).
 */
package dev.loupe.llm.cuda;
