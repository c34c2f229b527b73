/**
 * Embedders: CLIP, ImageBind and passage text encoders run through ONNX Runtime.
 *
 * <p>{@link dev.loupe.embeddings.Embedder} embeds {@link dev.loupe.embeddings.Media} (text or
 * decoded pixels) into L2-normalized vectors. Sub-packages by mechanism: {@code image} decodes
 * files into pixels and preprocesses them exactly as the reference implementations do;
 * {@code text} wraps the Hugging Face tokenizers; {@code onnx} runs the model sessions;
 * {@code model} holds the manifests and the model manager that downloads, verifies and installs
 * model files by their sha256 digests.
 */
package dev.loupe.embeddings;
