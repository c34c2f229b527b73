package dev.loupe.llm.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.TestData;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufValueType;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cConverterTest {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  @TempDir Path dir;

  @Test
  void stories260K_converts_to_a_llama_gguf_with_llama_cpp_keys_vocabulary_and_tensor_names() throws IOException {
    Path out = dir.resolve("stories260K.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), out);

    try (GgufFile f = GgufFile.open(out)) {
      assertEquals("llama", f.architecture());
      assertEquals(512, f.getInt("llama.context_length"));
      assertEquals(64, f.getInt("llama.embedding_length"));
      assertEquals(5, f.getInt("llama.block_count"));
      assertEquals(172, f.getInt("llama.feed_forward_length"));
      assertEquals(8, f.getInt("llama.attention.head_count"));
      assertEquals(4, f.getInt("llama.attention.head_count_kv"));
      assertEquals(8, f.getInt("llama.rope.dimension_count"));
      assertEquals(1e-5f, f.getFloat("llama.attention.layer_norm_rms_epsilon"));
      assertEquals(10000f, f.getFloat("llama.rope.freq_base"));
      // llama.cpp checks these types exactly.
      assertEquals(Optional.of(GgufValueType.UINT32), f.valueType("llama.block_count"));
      assertEquals(Optional.of(GgufValueType.UINT32), f.valueType("tokenizer.ggml.bos_token_id"));
      assertEquals(Optional.of(GgufValueType.INT32), f.arrayElementType("tokenizer.ggml.token_type"));
      assertEquals("llama", f.getString("tokenizer.ggml.model"));
      assertEquals(1, f.getInt("tokenizer.ggml.bos_token_id"));
      assertEquals(2, f.getInt("tokenizer.ggml.eos_token_id"));
      assertEquals(0, f.getInt("tokenizer.ggml.unknown_token_id"));

      String[] tokens = f.getStringArray("tokenizer.ggml.tokens");
      int[] types = f.getIntArray("tokenizer.ggml.token_type");
      assertEquals(512, tokens.length);
      assertEquals(512, f.getFloatArray("tokenizer.ggml.scores").length);
      assertArrayEquals(new String[] {"<unk>", "<s>", "</s>", "<0x00>"}, Arrays.copyOf(tokens, 4));
      assertArrayEquals(new int[] {2, 3, 3, 6}, Arrays.copyOf(types, 4));
      assertEquals("<0xFF>", tokens[258]);
      assertEquals(6, types[258]);
      for (int i = 259; i < tokens.length; i++) {
        assertEquals(1, types[i], tokens[i]);
        assertFalse(tokens[i].contains(" "), "spaces become ▁ in token " + i + ": '" + tokens[i] + "'");
      }
      assertTrue(Arrays.asList(tokens).contains("\u2581Once"), "the vocabulary has ▁Once");

      assertEquals(1 + 5 * 9 + 1, f.tensors().size(), "token_embd, 9 per block, output_norm; the classifier is shared");
      assertFalse(f.hasTensor("output.weight"));
      assertArrayEquals(new long[] {64, 512}, f.tensor("token_embd.weight").dims());
      assertArrayEquals(new long[] {64, 64}, f.tensor("blk.0.attn_q.weight").dims());
      assertArrayEquals(new long[] {64, 32}, f.tensor("blk.4.attn_k.weight").dims());
      assertArrayEquals(new long[] {64, 172}, f.tensor("blk.2.ffn_gate.weight").dims());
      assertArrayEquals(new long[] {172, 64}, f.tensor("blk.2.ffn_down.weight").dims());
      assertArrayEquals(new long[] {64}, f.tensor("output_norm.weight").dims());
      for (var t : f.tensors()) {
        assertEquals(GgmlType.F32, t.type(), t.name());
      }
      // The first float of the checkpoint's weights is the first of the token embeddings.
      ByteBuffer ckpt = ByteBuffer.wrap(Files.readAllBytes(TestData.stories260K())).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals(ckpt.getFloat(28), f.tensor("token_embd.weight").data().get(F32, 0));
    }
  }

  @Test
  void an_unshared_classifier_becomes_output_weight_and_every_matrix_keeps_its_place() throws IOException {
    // A random llama2.c checkpoint in which every weight is its own index, so any misplaced slice shows.
    int dim = 16, hidden = 24, layers = 2, heads = 4, kvHeads = 2, vocab = 260, seqLen = 8;
    var c = new Llama2cConverter.Config(dim, hidden, layers, heads, kvHeads, vocab, seqLen, false);
    long floats = c.floatCount();
    ByteBuffer b = ByteBuffer.allocate((int) (28 + 4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(kvHeads).putInt(-vocab).putInt(seqLen);
    for (int i = 0; i < floats; i++) b.putFloat(i);
    Path ckpt = Files.write(dir.resolve("tiny.bin"), b.array());
    Path tok = writeTokenizer(dir.resolve("tok.bin"), vocab, new Random(42));
    Path out = dir.resolve("tiny.gguf");
    Llama2cConverter.convert(ckpt, tok, out, GgmlType.F16);

    try (GgufFile f = GgufFile.open(out)) {
      int kv = dim / heads * kvHeads;
      long embd = (long) vocab * dim, rms = (long) layers * dim, wq = (long) layers * dim * dim, wk = (long) layers * dim * kv;
      long w1 = (long) layers * dim * hidden;
      long wqStart = embd + rms, wkStart = wqStart + wq, wvStart = wkStart + wk, woStart = wvStart + wk;
      long ffnNormStart = woStart + wq, w1Start = ffnNormStart + rms, w2Start = w1Start + w1, w3Start = w2Start + w1;
      long finalNorm = w3Start + w1, wcls = finalNorm + dim + (long) seqLen * (dim / heads);
      assertFirst(f, "blk.1.attn_norm.weight", embd + dim, GgmlType.F32);
      assertFirst(f, "blk.1.attn_q.weight", wqStart + (long) dim * dim, GgmlType.F16);
      assertFirst(f, "blk.1.attn_k.weight", wkStart + (long) dim * kv, GgmlType.F16);
      assertFirst(f, "blk.0.attn_v.weight", wvStart, GgmlType.F16);
      assertFirst(f, "blk.1.attn_output.weight", woStart + (long) dim * dim, GgmlType.F16);
      assertFirst(f, "blk.1.ffn_norm.weight", ffnNormStart + dim, GgmlType.F32);
      assertFirst(f, "blk.0.ffn_gate.weight", w1Start, GgmlType.F16);
      assertFirst(f, "blk.1.ffn_down.weight", w2Start + (long) dim * hidden, GgmlType.F16);
      assertFirst(f, "blk.1.ffn_up.weight", w3Start + (long) dim * hidden, GgmlType.F16);
      assertFirst(f, "output_norm.weight", finalNorm, GgmlType.F32);
      assertFirst(f, "output.weight", wcls, GgmlType.F16);
      assertArrayEquals(new long[] {dim, vocab}, f.tensor("output.weight").dims());
      assertEquals(1, f.getInt("general.file_type"));
    }
  }

  @Test
  void a_checkpoint_whose_size_does_not_match_its_header_is_rejected_with_both_numbers() throws IOException {
    byte[] real = Files.readAllBytes(TestData.stories260K());
    Path cut = Files.write(dir.resolve("cut.bin"), Arrays.copyOf(real, real.length - 4));
    IOException e = assertThrows(IOException.class, () -> Llama2cConverter.convert(cut, TestData.tok512(), dir.resolve("x.gguf")));
    assertTrue(e.getMessage().contains("has 1056536 bytes but its header") && e.getMessage().contains("implies 1056540"), e.getMessage());
    // llama2.c's newer exports start with the uint32 0x616b3432 ("ak42"), then a version.
    Path ak42 = Files.write(dir.resolve("v1.bin"), ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(1).array());
    e = assertThrows(IOException.class, () -> Llama2cConverter.convert(ak42, TestData.tok512(), dir.resolve("x.gguf")));
    assertTrue(e.getMessage().contains("newer export version"), e.getMessage());
    Path shortTok = Files.write(dir.resolve("short.bin"), Arrays.copyOf(Files.readAllBytes(TestData.tok512()), 100));
    e = assertThrows(IOException.class, () -> Llama2cConverter.convert(TestData.stories260K(), shortTok, dir.resolve("x.gguf")));
    assertTrue(e.getMessage().contains("of 512"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("x.gguf")));
  }

  private static void assertFirst(GgufFile f, String tensor, long expectedIndex, GgmlType type) {
    var t = f.tensor(tensor);
    assertEquals(type, t.type(), tensor);
    float first = type == GgmlType.F32 ? t.data().get(F32, 0)
        : Float.float16ToFloat(t.data().get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
    assertEquals(Float.float16ToFloat(Float.floatToFloat16(expectedIndex)), type == GgmlType.F32 ? Float.float16ToFloat(Float.floatToFloat16(first)) : first,
        tensor + " starts at checkpoint float " + expectedIndex);
  }

  /** A llama2.c tokenizer: unk, BOS/EOS as the exporter wrote them, 256 byte pieces, then random words with spaces. */
  static Path writeTokenizer(Path p, int vocab, Random random) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(64 * vocab).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(16);
    for (int i = 0; i < vocab; i++) {
      String piece = i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : i == 2 ? "\n</s>\n" : i < 259 ? String.format("<0x%02X>", i - 3)
          : " w" + Integer.toString(random.nextInt(1 << 20), 36);
      byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
      b.putFloat(-i).putInt(bytes.length).put(bytes);
    }
    return Files.write(p, Arrays.copyOf(b.array(), b.position()));
  }
}
