/**
 * Embedders run by ONNX Runtime: {@link dev.loupe.embeddings.onnx.OnnxEmbedder} opens the
 * encoders a model manifest describes, one shared session each, on the CPU or the CUDA execution
 * provider. {@code graph} writes ONNX files for generated test and benchmark models.
 */
package dev.loupe.embeddings.onnx;
