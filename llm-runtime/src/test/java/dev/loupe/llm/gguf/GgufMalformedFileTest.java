package dev.loupe.llm.gguf;

import static dev.loupe.llm.gguf.GgufFileTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated, corrupted and hostile files: each fails with a one-line {@link GgufException} naming the file and the problem. */
class GgufMalformedFileTest {
  @TempDir Path dir;

  /** A small valid file with metadata of several kinds and three tensors; tests corrupt its bytes. */
  private byte[] validFile() throws IOException {
    Path p = dir.resolve("valid.gguf");
    new GgufWriter()
        .putString("general.architecture", "llama")
        .putUInt32("llama.block_count", 2)
        .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
        .putStrings("tokenizer.ggml.tokens", "<unk>", "<s>", "</s>", "▁a")
        .putFloats("tokenizer.ggml.scores", 0, 0, 0, -1)
        .putBoolean("keyA", true)
        .putBoolean("keyB", false)
        .addTensor("tensorA", new long[] {4, 2}, new float[8])
        .addTensor("tensorB", GgmlType.Q8_0, new long[] {32}, new byte[34])
        .addTensor("tensorC", new long[] {3}, new float[] {1, 2, 3})
        .write(p);
    return Files.readAllBytes(p);
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  private String assertRejected(byte[] bytes, String... fragments) throws IOException {
    Path p = write("bad.gguf", bytes);
    String message = assertMessage(GgufException.class, () -> GgufFile.open(p).close(), fragments);
    assertTrue(message.startsWith(p.toString()), "the message names the file: " + message);
    assertTrue(!message.contains("\n"), "the message is one line: " + message);
    return message;
  }

  @Test
  void a_file_without_the_magic_is_rejected_showing_its_first_bytes() throws IOException {
    assertRejected("PK\u0003\u0004rest of a zip".getBytes(StandardCharsets.ISO_8859_1),
        "is not a GGUF file", "50 4b 03 04", "\"PK..\"", "not 47 47 55 46");
    assertRejected(new byte[] {'G', 'G'}, "is not a GGUF file: it has only 2 bytes");
    assertRejected(new byte[0], "it has only 0 bytes");
  }

  @Test
  void versions_other_than_2_and_3_are_rejected_naming_the_version() throws IOException {
    byte[] v1 = validFile();
    putInt(v1, 4, 1);
    assertRejected(v1, "GGUF version 1, which is not supported");
    byte[] v9 = validFile();
    putInt(v9, 4, 9);
    assertRejected(v9, "GGUF version 9; only versions 2 and 3");
    byte[] bigEndian = validFile();
    putInt(bigEndian, 4, Integer.reverseBytes(3));
    assertRejected(bigEndian, "big-endian GGUF file (version 3)");
  }

  @Test
  void every_truncation_before_the_end_of_the_tensor_data_is_rejected_with_the_offset_and_the_file_size() throws IOException {
    byte[] valid = validFile();
    long dataEnd;
    try (GgufFile f = GgufFile.open(write("whole.gguf", valid))) {
      dataEnd = f.tensors().stream().mapToLong(t -> t.fileOffset() + t.byteSize()).max().orElseThrow();
    }
    for (int length = 4; length < dataEnd; length++) {
      String message = assertRejected(Arrays.copyOf(valid, length), "truncated", "the file has " + length + " bytes");
      assertTrue(message.contains("offset"), message);
    }
    for (long length = dataEnd; length <= valid.length; length++) {
      try (GgufFile f = GgufFile.open(write("padding.gguf", Arrays.copyOf(valid, (int) length)))) {
        assertEquals(3, f.tensors().size(), "only trailing padding is missing at length " + length);
      }
    }
  }

  @Test
  void truncation_inside_the_metadata_and_the_tensor_table_says_which_part() throws IOException {
    byte[] valid = validFile();
    int inScores = indexOf(valid, "tokenizer.ggml.scores") + 30;
    assertRejected(Arrays.copyOf(valid, inScores), "truncated in the metadata", "array 'tokenizer.ggml.scores'");
    int inTable = indexOf(valid, "tensorB") + 10;
    assertRejected(Arrays.copyOf(valid, inTable), "truncated in the tensor table", "tensor 'tensorB'");
  }

  @Test
  void an_unknown_metadata_value_type_is_named_with_its_key() throws IOException {
    byte[] bytes = validFile();
    putInt(bytes, indexOf(bytes, "llama.block_count") + "llama.block_count".length(), 13);
    assertRejected(bytes, "metadata key 'llama.block_count'", "unknown value type 13");
    byte[] arrayType = validFile();
    putInt(arrayType, indexOf(arrayType, "tokenizer.ggml.scores") + "tokenizer.ggml.scores".length() + 4, 77);
    assertRejected(arrayType, "array 'tokenizer.ggml.scores'", "unknown element type 77");
  }

  @Test
  void an_unknown_ggml_type_id_is_named_with_its_tensor() throws IOException {
    byte[] bytes = validFile();
    // name, n_dims, 2 dims, then the type.
    putInt(bytes, indexOf(bytes, "tensorA") + 7 + 4 + 16, 4);
    assertRejected(bytes, "tensor 'tensorA' has unknown ggml type id 4");
    putInt(bytes, indexOf(bytes, "tensorA") + 7 + 4 + 16, -1);
    assertRejected(bytes, "unknown ggml type id 4294967295");
  }

  @Test
  void tensor_data_beyond_the_end_of_the_file_is_rejected() throws IOException {
    byte[] bytes = validFile();
    int offsetAt = indexOf(bytes, "tensorC") + 7 + 4 + 8 + 4;
    putLong(bytes, offsetAt, 1L << 20);
    assertRejected(bytes, "tensor 'tensorC'", "F32 [3]", "12 bytes", "but the file has " + bytes.length + " bytes");
    putLong(bytes, offsetAt, Long.MAX_VALUE - 31);
    assertRejected(bytes, "tensor 'tensorC'", "but the file has");
    putLong(bytes, offsetAt, 33);
    assertRejected(bytes, "tensor 'tensorC' has data offset 33, not a multiple of the alignment 32");
  }

  @Test
  void duplicate_keys_and_tensor_names_are_rejected() throws IOException {
    byte[] keys = validFile();
    keys[indexOf(keys, "keyB") + 3] = 'A';
    assertRejected(keys, "has the metadata key 'keyA' twice");
    byte[] tensors = validFile();
    tensors[indexOf(tensors, "tensorB") + 6] = 'A';
    assertRejected(tensors, "has two tensors named 'tensorA'");
  }

  @Test
  void absurd_counts_and_lengths_fail_before_anything_is_allocated() throws IOException {
    byte[] tensorCount = validFile();
    putLong(tensorCount, 8, Long.MAX_VALUE);
    assertRejected(tensorCount, "the tensor count at offset 8 is 9223372036854775807 but only");
    byte[] kvCount = validFile();
    putLong(kvCount, 16, -1L);
    assertRejected(kvCount, "the metadata count at offset 16 is 18446744073709551615");
    byte[] keyLength = validFile();
    putLong(keyLength, 24, 1L << 40);
    assertRejected(keyLength, "claims a length of 1099511627776 bytes");
    byte[] arrayLength = validFile();
    putLong(arrayLength, indexOf(arrayLength, "tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length() + 8, 1L << 31);
    assertRejected(arrayLength, "the length of array 'tokenizer.ggml.tokens'", "is 2147483648 but only");
    byte[] dims = validFile();
    int dimAt = indexOf(dims, "tensorA") + 7 + 4;
    putLong(dims, dimAt, 1L << 40);
    putLong(dims, dimAt + 8, 1L << 40);
    assertRejected(dims, "tensor 'tensorA'", "overflows a long");
    byte[] nDims = validFile();
    putInt(nDims, indexOf(nDims, "tensorA") + 7, 5);
    assertRejected(nDims, "tensor 'tensorA'", "has 5 dimensions; ggml allows 1 to 4");
  }

  @Test
  void deeply_nested_arrays_are_rejected_without_overflowing_the_stack() throws IOException {
    int depth = 100_000;
    ByteBuffer b = ByteBuffer.allocate(24 + 8 + 1 + 4 + depth * 12).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(GgufFile.MAGIC).putInt(3).putLong(0).putLong(1);
    b.putLong(1).put((byte) 'k').putInt(GgufValueType.ARRAY.id());
    for (int i = 0; i < depth; i++) {
      b.putInt(GgufValueType.ARRAY.id()).putLong(1);
    }
    assertRejected(b.array(), "nests arrays more than 8 deep");
  }

  @Test
  void a_bad_alignment_or_boolean_is_rejected() throws IOException {
    Path p = dir.resolve("align.gguf");
    new GgufWriter().putUInt32("general.alignment", 32).addTensor("t", new long[] {1}, new float[] {1}).write(p);
    byte[] bytes = Files.readAllBytes(p);
    putInt(bytes, indexOf(bytes, "general.alignment") + "general.alignment".length() + 4, 48);
    assertRejected(bytes, "general.alignment = 48, not a power of two");
    new GgufWriter().putString("general.alignmenX", "32").write(p);
    bytes = Files.readAllBytes(p);
    bytes[indexOf(bytes, "general.alignmenX") + 16] = 't';
    assertRejected(bytes, "general.alignment of type STRING \"32\", expected UINT32");
    byte[] bool = validFile();
    bool[indexOf(bool, "keyA") + 4 + 4] = 2;
    assertRejected(bool, "metadata key 'keyA' has a boolean byte of 2");
  }

  @Test
  void thousands_of_randomly_mutated_files_fail_cleanly_or_open_consistently() throws IOException {
    long seed = 0x6A6775L;
    Random random = new Random(seed);
    byte[] valid = validFile();
    int header;
    try (GgufFile f = GgufFile.open(write("whole.gguf", valid))) {
      header = (int) f.dataOffset();
    }
    Path p = dir.resolve("fuzz.gguf");
    int rejected = 0;
    for (int i = 0; i < 4000; i++) {
      byte[] bytes = valid.clone();
      int mutations = 1 + random.nextInt(6);
      for (int m = 0; m < mutations; m++) {
        int at = random.nextInt(header);
        switch (random.nextInt(4)) {
          case 0 -> bytes[at] = (byte) random.nextInt(256);
          case 1 -> bytes[at] ^= (byte) (1 << random.nextInt(8));
          case 2 -> bytes[at] = (byte) (random.nextBoolean() ? 0xFF : 0x00);
          default -> bytes[at] = (byte) (bytes[at] + (random.nextBoolean() ? 1 : -1));
        }
      }
      if (random.nextInt(8) == 0) {
        bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
      }
      Files.write(p, bytes);
      try (GgufFile f = GgufFile.open(p)) {
        // Whatever opened must be self-consistent: every tensor's bytes readable, inside the file.
        for (GgufTensor t : f.tensors()) {
          assertTrue(t.fileOffset() + t.byteSize() <= bytes.length, t.name());
          if (t.byteSize() > 0) {
            t.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, t.byteSize() - 1);
          }
        }
        f.metadata().values().forEach(String::valueOf);
      } catch (GgufException e) {
        rejected++;
        assertTrue(e.getMessage().startsWith(p.toString()) && !e.getMessage().contains("\n"), e.getMessage());
      } catch (Throwable t) {
        fail("seed " + seed + ", iteration " + i + ": " + t + " instead of a GgufException", t);
      }
    }
    assertTrue(rejected > 1000, "most mutations are caught, got " + rejected + " (seed " + seed + ")");
  }

  static int indexOf(byte[] haystack, String needle) {
    byte[] n = needle.getBytes(StandardCharsets.UTF_8);
    outer:
    for (int i = 0; i + n.length <= haystack.length; i++) {
      for (int j = 0; j < n.length; j++) {
        if (haystack[i + j] != n[j]) continue outer;
      }
      return i;
    }
    throw new AssertionError("'" + needle + "' not found");
  }

  static void putInt(byte[] b, int at, int v) {
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
  }

  static void putLong(byte[] b, int at, long v) {
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
  }
}
