package dev.loupe.embeddings.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.ByteArrayOutputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protobuf and ONNX writers: byte-exact wire format, and graphs that ONNX Runtime loads and runs as expected. */
class OnnxModelTest {

  private static String hex(ProtoWriter.Message m) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ProtoWriter w = ProtoWriter.to(out);
    m.writeTo(w);
    assertEquals(out.size(), ProtoWriter.sizeOf(m), "counted size");
    assertEquals(out.size(), w.written());
    return HexFormat.of().formatHex(out.toByteArray());
  }

  @Test
  void the_wire_format_matches_the_protobuf_encoding_guide() throws Exception {
    // The examples of https://protobuf.dev/programming-guides/encoding/.
    assertEquals("089601", hex(w -> w.varint(1, 150)));
    assertEquals("120774657374696e67", hex(w -> w.string(2, "testing")));
    assertEquals("1a03089601", hex(w -> w.message(3, inner -> inner.varint(1, 150))));
    assertEquals("08ffffffffffffffffff01", hex(w -> w.varint(1, -1)));
    assertEquals("2d0000803f", hex(w -> w.float32(5, 1.0f)));
    assertEquals("3a06038e029ea705", hex(w -> w.packedVarints(7, new long[] {3, 270, 86942})));
    assertEquals("", hex(w -> w.packedVarints(7, new long[0])));
    assertEquals("4a080000803f00000040", hex(w -> w.rawFloats(9, new float[] {1f, 2f})));
    assertEquals("4a080100000000000000", hex(w -> w.rawLongs(9, new long[] {1})));
  }

  @Test
  void a_tensor_writes_dims_type_name_and_little_endian_raw_data() throws Exception {
    // dims 2 (08 02), data_type 1 (10 01), name "w" (42 01 77), raw_data 8 bytes (4a 08 ...).
    assertEquals("080210014201774a080000803f000000c0", hex(Tensor.floats("w", new float[] {1f, -2f}, 2)));
  }

  @Test
  void onnx_runtime_runs_a_graph_using_every_attribute_kind_and_symbolic_dimensions(@TempDir Path tmp) throws Exception {
    // x [n, 4] -> + c (Constant, tensor attribute) -> LeakyRelu (float) -> Einsum (string) with W [4, 2]
    //   -> Gather columns {1, 0} (int64 initializer, int attribute) = swapped [n, 2]
    //   -> ReduceMean over axis 1 (ints attribute) = mean [n]
    float[] c = {1, -2, 3, -4};
    float[] weights = {1, 2, 3, 4, 5, 6, 7, 8};
    Graph.Builder g = Graph.builder("attributes");
    String x = g.input(ValueInfo.of("x", DataType.FLOAT, "n", 4));
    g.initializer(Tensor.floats("W", weights, 4, 2));
    g.initializer(Tensor.int64s("swap", new long[] {1, 0}, 2));
    String constant = g.node("Constant", List.of(), "c", Attribute.of("value", Tensor.floats("c_value", c, 4)));
    String shifted = g.node("Add", List.of(x, constant), "shifted");
    String leaky = g.node("LeakyRelu", List.of(shifted), "leaky", Attribute.of("alpha", 0.5f));
    String projected = g.node("Einsum", List.of(leaky, "W"), "projected", Attribute.of("equation", "ni,ij->nj"));
    String swapped = g.node("Gather", List.of(projected, "swap"), "swapped", Attribute.of("axis", 1));
    g.node("ReduceMean", List.of(swapped), "mean", Attribute.ints("axes", 1), Attribute.of("keepdims", 0));
    g.output(ValueInfo.of("swapped", DataType.FLOAT, "n", 2));
    g.output(ValueInfo.of("mean", DataType.FLOAT, "n"));
    Path file = tmp.resolve("attributes.onnx");
    OnnxModel model = OnnxModel.of(g.build());
    model.write(file);
    assertArrayEquals(model.toByteArray(), Files.readAllBytes(file));

    float[] input = {0, 0, 0, 0, 1, 2, 3, 4, -1, 5, -3, 4};
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession session = env.createSession(file.toString(), new OrtSession.SessionOptions());
        OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {3, 4});
        OrtSession.Result result = session.run(Map.of("x", in))) {
      TensorInfo declared = (TensorInfo) session.getInputInfo().get("x").getInfo();
      assertArrayEquals(new long[] {-1, 4}, declared.getShape());
      assertEquals("n", declared.getDimensionNames()[0]);
      float[] swappedOut = ((OnnxTensor) result.get("swapped").orElseThrow()).getFloatBuffer().array();
      float[] meanOut = ((OnnxTensor) result.get("mean").orElseThrow()).getFloatBuffer().array();
      for (int n = 0; n < 3; n++) {
        double[] projectedRow = new double[2];
        for (int i = 0; i < 4; i++) {
          double v = input[n * 4 + i] + c[i];
          v = v >= 0 ? v : 0.5 * v;
          for (int j = 0; j < 2; j++) {
            projectedRow[j] += v * weights[i * 2 + j];
          }
        }
        assertEquals(projectedRow[1], swappedOut[n * 2], 1e-5, "row " + n + " column 0");
        assertEquals(projectedRow[0], swappedOut[n * 2 + 1], 1e-5, "row " + n + " column 1");
        assertEquals((projectedRow[0] + projectedRow[1]) / 2, meanOut[n], 1e-5, "row " + n + " mean");
      }
    }
  }

  @Test
  void the_builder_rejects_values_used_before_they_are_defined_or_defined_twice() {
    Graph.Builder g = Graph.builder("broken");
    g.input(ValueInfo.of("x", DataType.FLOAT, 1));
    g.node("Relu", List.of("y"), "z");
    var e = assertThrows(IllegalArgumentException.class, g::build);
    assertTrue(e.getMessage().contains("reads y"), e.getMessage());

    Graph.Builder twice = Graph.builder("twice");
    twice.input(ValueInfo.of("x", DataType.FLOAT, 1));
    twice.node("Relu", List.of("x"), "x");
    e = assertThrows(IllegalArgumentException.class, twice::build);
    assertTrue(e.getMessage().contains("defines value x twice"), e.getMessage());

    Graph.Builder unset = Graph.builder("unset");
    unset.input(ValueInfo.of("x", DataType.FLOAT, 1));
    unset.output(ValueInfo.of("y", DataType.FLOAT, 1));
    e = assertThrows(IllegalArgumentException.class, unset::build);
    assertTrue(e.getMessage().contains("output y"), e.getMessage());
  }

  @Test
  void values_are_validated_naming_the_offending_value() {
    var e = assertThrows(IllegalArgumentException.class, () -> Tensor.floats("w", new float[3], 2, 2));
    assertTrue(e.getMessage().contains("needs 4 values, got 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ValueInfo.of("x", DataType.FLOAT, "batch", -3));
    assertTrue(e.getMessage().contains("dimension -3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ValueInfo.of("x", DataType.FLOAT, 2.5));
    assertTrue(e.getMessage().contains("dimension 2.5"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new OnnxModel(2, 17, "p", Graph.builder("g").build()));
    assertTrue(e.getMessage().contains("IR version 2"), e.getMessage());
  }
}
