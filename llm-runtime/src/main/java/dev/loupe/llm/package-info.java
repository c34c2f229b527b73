/**
 * Loupe's own GGUF inference engine.
 *
 * <p>Will hold the GGUF reader, tokenizers, the transformer forward pass over CPU (Vector API) and
 * CUDA backends, samplers, per-chat KV caches, and the {@code GenerationHook} that lets a caller
 * pause generation, inject tokens and continue. It knows nothing of retrieval.
 */
package dev.loupe.llm;
