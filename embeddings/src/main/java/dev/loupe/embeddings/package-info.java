/**
 * Embedders: CLIP, ImageBind and passage text encoders run through ONNX Runtime.
 *
 * <p>Will hold the {@code Embedder} interface over a sealed {@code Media} input, image
 * preprocessing that matches the reference implementations, tokenizers, and the model manager
 * that verifies model files by their sha256 digests.
 */
package dev.loupe.embeddings;
