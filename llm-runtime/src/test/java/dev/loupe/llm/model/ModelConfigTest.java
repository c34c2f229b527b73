package dev.loupe.llm.model;

import static dev.loupe.llm.model.OracleModels.message;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
  @TempDir Path dir;

  private Path file(String arch, Consumer<GgufWriter> edit) throws IOException {
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", arch)
        .putUInt32(arch + ".context_length", 512)
        .putUInt32(arch + ".embedding_length", 64)
        .putUInt32(arch + ".block_count", 1)
        .putUInt32(arch + ".feed_forward_length", 128)
        .putUInt32(arch + ".attention.head_count", 4)
        .putUInt32(arch + ".attention.head_count_kv", 2)
        .putFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
    RandomModels.vocabulary(w, 300);
    edit.accept(w);
    w.addTensor("token_embd.weight", new long[] {64, 300}, new float[64 * 300]);
    Path p = dir.resolve(arch + System.nanoTime() + ".gguf");
    w.write(p);
    return p;
  }

  private ModelConfig read(Path p) throws IOException {
    try (GgufFile f = GgufFile.open(p)) {
      return ModelConfig.from(f);
    }
  }

  @Test
  void reads_the_hyperparameters_with_llama_cpp_s_defaults() throws IOException {
    ModelConfig c = read(file("qwen2", w -> {}));
    assertEquals(ModelConfig.Architecture.QWEN2, c.architecture());
    assertEquals(16, c.keyLength());
    assertEquals(16, c.ropeDimensions());
    assertEquals(10000f, c.ropeTheta());
    assertEquals(ModelConfig.RopeStyle.NEOX, c.ropeStyle());
    assertEquals(300, c.vocabSize());
    assertEquals(32, c.keyDim());
    ModelConfig q3 = read(file("qwen3", w -> w.putUInt32("qwen3.attention.key_length", 32).putUInt32("qwen3.attention.value_length", 32)
        .putFloat32("qwen3.rope.freq_base", 1e6f)));
    assertEquals(128, q3.queryDim());
    assertEquals(1e6f, q3.ropeTheta());
    ModelConfig llama = read(file("llama", w -> w.putString("llama.rope.scaling.type", "linear").putFloat32("llama.rope.scaling.factor", 4f)));
    assertEquals(ModelConfig.RopeStyle.NORMAL, llama.ropeStyle());
    assertEquals(4f, llama.ropeScale());
  }

  @Test
  void rejects_an_unsupported_architecture_naming_the_supported_ones() throws IOException {
    Path p = file("gemma", w -> {});
    { String m = message(() -> read(p));
      assertTrue(m.contains("architecture 'gemma' is not supported (supported: llama, qwen2, qwen3)"), m);
      assertTrue(m.startsWith(p.toString()), m);
    }
  }

  @Test
  void rejects_malformed_hyperparameters_naming_the_key() throws IOException {
    { String m = message(() -> read(file("llama", w -> w.putUInt32("llama.attention.head_count_kv", 3))));
      assertTrue(m.contains("attention.head_count 4 is not a multiple of attention.head_count_kv 3"), m);
    }
    { String m = message(() -> read(file("llama", w -> w.remove("llama.block_count"))));
      assertTrue(m.contains("'llama.block_count' is missing"), m);
    }
    Path yarn = file("llama", w -> w.putString("llama.rope.scaling.type", "yarn"));
    String y = message(() -> read(yarn));
    assertTrue(y.contains("rope.scaling.type 'yarn' is not supported (supported: none, linear"), y);
    { String m = message(() -> read(file("llama", w -> w.putUInt32("llama.rope.dimension_count", 17))));
      assertTrue(m.contains("rope.dimension_count 17 must be even"), m);
    }
  }

  @Test
  void rejects_an_unsupported_tensor_type_naming_it() throws IOException {
    Path p = dir.resolve("q4_1.gguf");
    RandomModels.write(RandomModels.small(ModelConfig.Architecture.LLAMA, GgmlType.F32, true, 3), p);
    GgufWriter w = new GgufWriter();
    try (GgufFile f = GgufFile.open(p)) {
      f.metadata().forEach((k, v) -> {
        if (f.arrayElementType(k).isPresent()) {
          w.putArray(k, f.arrayElementType(k).get(), v);
        } else {
          w.put(k, f.valueType(k).orElseThrow(), v);
        }
      });
      for (var t : f.tensors()) {
        if (t.name().equals("blk.0.attn_q.weight")) {
          w.addTensor(t.name(), GgmlType.Q4_1, t.dims(), new byte[(int) GgmlType.Q4_1.byteSize(t.elementCount())]);
        } else {
          w.addTensor(t.name(), t.type(), t.dims(), t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
      }
    }
    Path bad = dir.resolve("bad.gguf");
    w.write(bad);
    String m = message(() -> Model.load(bad, ModelOptions.threads(1)));
    assertTrue(m.contains("tensor 'blk.0.attn_q.weight' has type Q4_1, which is not supported (supported: F32, F16, BF16, Q8_0"), m);
  }
}
