package dev.loupe.embeddings.onnx.graph;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An ONNX model file ({@code ModelProto}): a graph plus the IR version and the default-domain
 * operator set it is written against.
 *
 * <p>Written for generated test and benchmark models; it covers the subset of {@code onnx.proto}
 * those need (no functions, sparse tensors, subgraphs or external data). Protobuf caps a message
 * at 2 GiB, so a model must stay below that.
 *
 * @param irVersion the ONNX IR version (8 pairs with opsets up to 17)
 * @param opsetVersion the version of the default operator set ({@code ai.onnx})
 * @param producer the producer name stored in the file
 * @param graph the graph
 */
public record OnnxModel(long irVersion, long opsetVersion, String producer, Graph graph) implements ProtoWriter.Message {

  /** The IR version and opset {@link #of(Graph)} uses; ONNX Runtime 1.x runs both. */
  public static final long DEFAULT_IR_VERSION = 8, DEFAULT_OPSET = 17;

  /** Protobuf's limit on a message's size. */
  private static final long MAX_BYTES = Integer.MAX_VALUE;

  // ModelProto field numbers, then OperatorSetIdProto's (onnx.proto).
  private static final int IR_VERSION = 1, PRODUCER_NAME = 2, GRAPH = 7, OPSET_IMPORT = 8;
  private static final int OPSET_VERSION = 2;

  public OnnxModel {
    if (irVersion < 3) {
      throw new IllegalArgumentException("ONNX IR version " + irVersion + " is older than 3, the first with opset imports");
    }
    if (opsetVersion < 1) {
      throw new IllegalArgumentException("opset version " + opsetVersion + " must be at least 1");
    }
    producer = producer == null ? "loupe" : producer;
    Objects.requireNonNull(graph, "graph");
  }

  /** {@code graph} with IR version 8 and opset 17. */
  public static OnnxModel of(Graph graph) {
    return new OnnxModel(DEFAULT_IR_VERSION, DEFAULT_OPSET, "loupe", graph);
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    out.varint(IR_VERSION, irVersion);
    out.string(PRODUCER_NAME, producer);
    out.message(GRAPH, graph);
    // The default domain is the empty string, so the opset's domain field is left out.
    out.message(OPSET_IMPORT, opset -> opset.varint(OPSET_VERSION, opsetVersion));
  }

  /** The encoded model. */
  public byte[] toByteArray() throws IOException {
    long size = checkedSize();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) size);
    writeTo(ProtoWriter.to(bytes));
    return bytes.toByteArray();
  }

  /** Writes the model to {@code file}, replacing it, streaming the weights rather than buffering them. */
  public void write(Path file) throws IOException {
    checkedSize();
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      writeTo(ProtoWriter.to(out));
    }
  }

  private long checkedSize() throws IOException {
    long size = ProtoWriter.sizeOf(this);
    if (size > MAX_BYTES) {
      throw new IllegalArgumentException("model graph " + graph.name() + " would take " + size
          + " bytes, over protobuf's 2 GiB limit on one message");
    }
    return size;
  }
}
