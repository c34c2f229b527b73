package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A computation graph ({@code GraphProto}): inputs, constant initializers, nodes in topological
 * order and outputs. Build one with {@link #builder(String)}.
 *
 * @param name the graph's name
 * @param inputs the values a caller feeds
 * @param initializers the constant tensors (weights)
 * @param nodes the operators, each after the nodes producing its inputs
 * @param outputs the values a caller can fetch
 */
public record Graph(String name, List<ValueInfo> inputs, List<Tensor> initializers, List<Node> nodes, List<ValueInfo> outputs)
    implements ProtoWriter.Message {

  // GraphProto field numbers (onnx.proto).
  private static final int NODE = 1, NAME = 2, INITIALIZER = 5, INPUT = 11, OUTPUT = 12;

  public Graph {
    inputs = List.copyOf(inputs);
    initializers = List.copyOf(initializers);
    nodes = List.copyOf(nodes);
    outputs = List.copyOf(outputs);
    // Every value must be defined once before use; ONNX Runtime would say so too, but later and
    // without naming the graph.
    Set<String> defined = new HashSet<>();
    for (ValueInfo v : inputs) {
      define(name, defined, v.name());
    }
    for (Tensor t : initializers) {
      define(name, defined, t.name());
    }
    for (Node n : nodes) {
      for (String in : n.inputs()) {
        if (!in.isEmpty() && !defined.contains(in)) {
          throw new IllegalArgumentException("graph " + name + ": node " + n.name() + " (" + n.opType() + ") reads " + in
              + " before anything defines it");
        }
      }
      for (String out : n.outputs()) {
        define(name, defined, out);
      }
    }
    for (ValueInfo v : outputs) {
      if (!defined.contains(v.name())) {
        throw new IllegalArgumentException("graph " + name + ": output " + v.name() + " is not computed by any node");
      }
    }
  }

  private static void define(String graph, Set<String> defined, String value) {
    if (!defined.add(value)) {
      throw new IllegalArgumentException("graph " + graph + " defines value " + value + " twice");
    }
  }

  /** A builder for a graph called {@code name}. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  @Override
  public void writeTo(ProtoWriter out) throws IOException {
    for (Node n : nodes) {
      out.message(NODE, n);
    }
    out.string(NAME, name);
    for (Tensor t : initializers) {
      out.message(INITIALIZER, t);
    }
    for (ValueInfo v : inputs) {
      out.message(INPUT, v);
    }
    for (ValueInfo v : outputs) {
      out.message(OUTPUT, v);
    }
  }

  /** Collects a graph's parts in order; nodes are named after their operator and position. Not thread-safe. */
  public static final class Builder {
    private final String name;
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<Tensor> initializers = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    /** Declares a graph input; returns its name. */
    public String input(ValueInfo value) {
      inputs.add(value);
      return value.name();
    }

    /** Adds a constant; returns its name. */
    public String initializer(Tensor tensor) {
      initializers.add(tensor);
      return tensor.name();
    }

    /** Adds a node with one output value called {@code output}; returns that name. */
    public String node(String opType, List<String> inputs, String output, Attribute... attributes) {
      node(opType, inputs, List.of(output), attributes);
      return output;
    }

    /** Adds a node with several outputs. */
    public void node(String opType, List<String> inputs, List<String> outputs, Attribute... attributes) {
      nodes.add(new Node(opType + "_" + nodes.size(), opType, inputs, outputs, List.of(attributes)));
    }

    /** Declares a graph output; a node must compute it. */
    public void output(ValueInfo value) {
      outputs.add(value);
    }

    /** The graph; throws when a value is used before it is defined or defined twice. */
    public Graph build() {
      return new Graph(name, inputs, initializers, nodes, outputs);
    }
  }
}
