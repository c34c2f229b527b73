/**
 * A small writer of ONNX model files, for generating test and benchmark models in Java without
 * Python: {@link dev.loupe.embeddings.onnx.graph.Graph.Builder} collects inputs, weights, nodes and
 * outputs; {@link dev.loupe.embeddings.onnx.graph.OnnxModel} writes them in protobuf's wire
 * format ({@link dev.loupe.embeddings.onnx.graph.ProtoWriter}) with the field numbers of
 * {@code onnx.proto}.
 */
package dev.loupe.embeddings.onnx.graph;
