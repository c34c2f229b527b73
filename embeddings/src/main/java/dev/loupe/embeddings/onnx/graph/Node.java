package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.util.List;

/**
 * One operator application ({@code NodeProto}) of the default ONNX domain.
 *
 * @param name a name unique in the graph
 * @param opType the operator, such as {@code MatMul}
 * @param inputs names of the input values, in the operator's order ({@code ""} skips an optional one)
 * @param outputs names of the output values
 * @param attributes the operator's attributes
 */
public record Node(String name, String opType, List<String> inputs, List<String> outputs, List<Attribute> attributes)
    implements ProtoWriter.Message {

  // NodeProto field numbers (onnx.proto).
  private static final int INPUT = 1, OUTPUT = 2, NAME = 3, OP_TYPE = 4, ATTRIBUTE = 5;

  public Node {
    if (opType == null || opType.isEmpty()) {
      throw new IllegalArgumentException("node " + name + " has no operator type");
    }
    name = name == null ? "" : name;
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    attributes = List.copyOf(attributes);
    if (outputs.isEmpty()) {
      throw new IllegalArgumentException("node " + name + " (" + opType + ") has no output");
    }
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    for (String in : inputs) {
      out.string(INPUT, in);
    }
    for (String o : outputs) {
      out.string(OUTPUT, o);
    }
    out.string(NAME, name);
    out.string(OP_TYPE, opType);
    for (Attribute a : attributes) {
      out.message(ATTRIBUTE, a);
    }
  }
}
