package dev.loupe.llm.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.TestData;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufTensor;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufQuantizerTest {
  @TempDir Path dir;

  @Test
  void quantizes_the_matrices_whose_rows_are_whole_blocks_and_copies_everything_else() throws IOException {
    Path f32 = dir.resolve("stories-f32.gguf"), q8 = dir.resolve("stories-q8_0.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), f32);
    GgufQuantizer.Summary summary = GgufQuantizer.quantize(f32, q8, GgmlType.Q8_0);
    // stories260K's feed-forward width 172 is not a multiple of 32: ffn_down stays F32 in each of the 5 layers.
    assertEquals(List.of("blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "blk.2.ffn_down.weight", "blk.3.ffn_down.weight",
        "blk.4.ffn_down.weight"), summary.kept());
    assertEquals(1 + 5 * 6, summary.quantized().size(), summary.quantized().toString());
    try (GgufFile in = GgufFile.open(f32); GgufFile out = GgufFile.open(q8)) {
      assertEquals(7L, out.getLong("general.file_type"));
      for (String key : in.metadata().keySet()) {
        if (!key.equals("general.file_type")) {
          assertEquals(in.valueType(key), out.valueType(key), key);
        }
      }
      assertEquals(in.getStringArray("tokenizer.ggml.tokens").length, out.getStringArray("tokenizer.ggml.tokens").length);
      for (GgufTensor t : out.tensors()) {
        GgmlType expected = t.rank() == 1 || summary.kept().contains(t.name()) ? GgmlType.F32 : GgmlType.Q8_0;
        assertEquals(expected, t.type(), t.name());
      }
    }
    // The quantized model computes nearly the same logits.
    try (Model a = Model.load(f32, ModelOptions.threads(1)); Model b = Model.load(q8, ModelOptions.threads(1))) {
      int[] tokens = a.tokenizer().encode("Once upon a time, there was a cat", true, false);
      Session sa = a.newSession(SessionOptions.of(64)), sb = b.newSession(SessionOptions.of(64));
      sa.append(tokens);
      sb.append(tokens);
      float[] x = sa.logits(), y = sb.logits();
      double worst = 0;
      for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      assertTrue(worst > 0 && worst < 0.5, "Q8_0 vs F32 logits differ by " + worst);
    }
  }

  @Test
  void refuses_an_unsupported_type_and_writing_over_its_input() throws IOException {
    Path f32 = dir.resolve("stories-f32.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), f32);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> GgufQuantizer.quantize(f32, dir.resolve("x.gguf"), GgmlType.Q4_1))
        .getMessage().startsWith("cannot quantize to Q4_1; supported: [F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K]"));
    assertEquals("the output " + f32 + " is the input; write the quantized model to another file",
        assertThrows(IllegalArgumentException.class, () -> GgufQuantizer.quantize(f32, f32, GgmlType.Q8_0)).getMessage());
  }
}
