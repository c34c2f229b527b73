package dev.loupe.llm.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
  @TempDir Path dir;

  @Test
  void every_scalar_type_round_trips_through_the_writer_with_its_gguf_type() throws IOException {
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("u8", (byte) 0xF0);
    expected.put("i8", (byte) -5);
    expected.put("u16", (short) 0xFFFE);
    expected.put("i16", (short) -300);
    expected.put("u32", 0xFFFF_FFF0);
    expected.put("i32", -70000);
    expected.put("u64", 1L << 40);
    expected.put("i64", -(1L << 50));
    expected.put("f32", 1.5e-5f);
    expected.put("f64", Math.PI);
    expected.put("yes", true);
    expected.put("no", false);
    expected.put("s", "héllo ▁wörld 🦙");
    expected.put("empty", "");
    GgufWriter w = new GgufWriter()
        .putUInt8("u8", (byte) 0xF0)
        .putInt8("i8", (byte) -5)
        .putUInt16("u16", (short) 0xFFFE)
        .putInt16("i16", (short) -300)
        .putUInt32("u32", 0xFFFF_FFF0)
        .putInt32("i32", -70000)
        .putUInt64("u64", 1L << 40)
        .putInt64("i64", -(1L << 50))
        .putFloat32("f32", 1.5e-5f)
        .putFloat64("f64", Math.PI)
        .putBoolean("yes", true)
        .putBoolean("no", false)
        .putString("s", "héllo ▁wörld 🦙")
        .putString("empty", "");
    Path p = dir.resolve("scalars.gguf");
    w.write(p);

    try (GgufFile f = GgufFile.open(p)) {
      assertEquals(3, f.version());
      assertEquals(expected, f.metadata());
      assertEquals(List.copyOf(expected.keySet()), List.copyOf(f.metadata().keySet()), "file order is kept");
      Map<String, GgufValueType> types = Map.ofEntries(Map.entry("u8", GgufValueType.UINT8), Map.entry("i8", GgufValueType.INT8),
          Map.entry("u16", GgufValueType.UINT16), Map.entry("i16", GgufValueType.INT16), Map.entry("u32", GgufValueType.UINT32),
          Map.entry("i32", GgufValueType.INT32), Map.entry("u64", GgufValueType.UINT64), Map.entry("i64", GgufValueType.INT64),
          Map.entry("f32", GgufValueType.FLOAT32), Map.entry("f64", GgufValueType.FLOAT64), Map.entry("yes", GgufValueType.BOOL),
          Map.entry("no", GgufValueType.BOOL), Map.entry("s", GgufValueType.STRING), Map.entry("empty", GgufValueType.STRING));
      for (var e : types.entrySet()) {
        assertEquals(Optional.of(e.getValue()), f.valueType(e.getKey()), e.getKey());
      }
      assertEquals(Optional.empty(), f.valueType("absent"));
      // Unsigned values widen as unsigned through the typed getters.
      assertEquals(0xF0, f.getLong("u8"));
      assertEquals(0xFFFE, f.getLong("u16"));
      assertEquals(0xFFFF_FFF0L, f.getLong("u32"));
      assertEquals(-5, f.getInt("i8"));
      assertEquals(-70000, f.getInt("i32"));
      assertEquals(1.5e-5f, f.getFloat("f32"));
      assertEquals(Math.PI, f.getDouble("f64"));
      assertTrue(f.getBoolean("yes"));
      assertEquals("héllo ▁wörld 🦙", f.getString("s"));
      assertEquals(7, f.getInt("absent", 7));
      assertTrue(f.tensors().isEmpty());
    }
  }

  @Test
  void every_array_type_round_trips_including_empty_and_nested_arrays() throws IOException {
    Object[] nested = {new int[] {1, 2}, new String[] {"a", "b"}, new Object[] {new float[] {0.5f}}, new long[0]};
    GgufWriter w = new GgufWriter()
        .putArray("u8s", GgufValueType.UINT8, new byte[] {1, (byte) 200})
        .putArray("i8s", GgufValueType.INT8, new byte[] {-1, 2})
        .putArray("u16s", GgufValueType.UINT16, new short[] {1, (short) 60000})
        .putArray("i16s", GgufValueType.INT16, new short[] {-1, 2})
        .putArray("u32s", GgufValueType.UINT32, new int[] {1, 0x8000_0000})
        .putInt32s("i32s", -1, 2, 3)
        .putArray("u64s", GgufValueType.UINT64, new long[] {1, -1})
        .putArray("i64s", GgufValueType.INT64, new long[] {Long.MIN_VALUE})
        .putFloats("f32s", 1f, -2.5f, Float.NaN)
        .putArray("f64s", GgufValueType.FLOAT64, new double[] {1e300})
        .putArray("bools", GgufValueType.BOOL, new boolean[] {true, false, true})
        .putStrings("strings", "<unk>", "▁the", "", "🦙")
        .putStrings("none")
        .putArray("nested", GgufValueType.ARRAY, nested);
    Path p = dir.resolve("arrays.gguf");
    w.write(p);

    try (GgufFile f = GgufFile.open(p)) {
      Map<String, Object> m = f.metadata();
      assertArrayEquals(new byte[] {1, (byte) 200}, (byte[]) m.get("u8s"));
      assertArrayEquals(new byte[] {-1, 2}, (byte[]) m.get("i8s"));
      assertArrayEquals(new short[] {1, (short) 60000}, (short[]) m.get("u16s"));
      assertArrayEquals(new short[] {-1, 2}, (short[]) m.get("i16s"));
      assertArrayEquals(new int[] {1, 0x8000_0000}, f.getIntArray("u32s"));
      assertArrayEquals(new int[] {-1, 2, 3}, f.getIntArray("i32s"));
      assertArrayEquals(new long[] {1, -1}, (long[]) m.get("u64s"));
      assertArrayEquals(new long[] {Long.MIN_VALUE}, (long[]) m.get("i64s"));
      assertArrayEquals(new float[] {1f, -2.5f, Float.NaN}, f.getFloatArray("f32s"));
      assertArrayEquals(new double[] {1e300}, (double[]) m.get("f64s"));
      assertArrayEquals(new boolean[] {true, false, true}, (boolean[]) m.get("bools"));
      assertArrayEquals(new String[] {"<unk>", "▁the", "", "🦙"}, f.getStringArray("strings"));
      assertEquals(0, f.getStringArray("none").length);
      Object[] back = (Object[]) m.get("nested");
      assertEquals(4, back.length);
      assertArrayEquals(new int[] {1, 2}, (int[]) back[0]);
      assertArrayEquals(new String[] {"a", "b"}, (String[]) back[1]);
      assertArrayEquals(new float[] {0.5f}, (float[]) ((Object[]) back[2])[0]);
      assertEquals(0, ((long[]) back[3]).length);
      for (String key : m.keySet()) {
        assertEquals(Optional.of(GgufValueType.ARRAY), f.valueType(key), key);
      }
      assertEquals(Optional.of(GgufValueType.UINT8), f.arrayElementType("u8s"));
      assertEquals(Optional.of(GgufValueType.UINT32), f.arrayElementType("u32s"));
      assertEquals(Optional.of(GgufValueType.INT32), f.arrayElementType("i32s"));
      assertEquals(Optional.of(GgufValueType.STRING), f.arrayElementType("strings"));
      assertEquals(Optional.of(GgufValueType.ARRAY), f.arrayElementType("nested"));
    }
  }

  @Test
  void tensors_come_back_with_their_type_dims_and_exact_bytes_at_aligned_offsets() throws IOException {
    long seed = 6001;
    Random random = new Random(seed);
    for (int alignment : new int[] {1, 8, 32, 64, 4096}) {
      byte[] q8 = randomBytes(random, (int) GgmlType.Q8_0.byteSize(64 * 3));
      byte[] q4k = randomBytes(random, (int) GgmlType.Q4_K.byteSize(256));
      byte[] f16 = randomBytes(random, 2 * 7);
      float[] f32 = new float[5 * 3];
      for (int i = 0; i < f32.length; i++) f32[i] = random.nextFloat();
      GgufWriter w = new GgufWriter().putString("general.architecture", "llama")
          .addTensor("q8", GgmlType.Q8_0, new long[] {64, 3}, q8)
          .addTensor("f16", GgmlType.F16, new long[] {7}, f16)
          .addTensor("f32", new long[] {5, 3}, f32)
          .addTensor("q4k", GgmlType.Q4_K, new long[] {256, 1, 1, 1}, q4k);
      if (alignment != 32) w.alignment(alignment);
      Path p = dir.resolve("tensors-" + alignment + ".gguf");
      w.write(p);

      try (GgufFile f = GgufFile.open(p)) {
        String why = "alignment " + alignment + ", seed " + seed;
        assertEquals(alignment, f.alignment(), why);
        assertEquals("llama", f.architecture());
        assertEquals(List.of("q8", "f16", "f32", "q4k"), f.tensors().stream().map(GgufTensor::name).collect(Collectors.toList()));
        GgufTensor t = f.tensor("q8");
        assertEquals(GgmlType.Q8_0, t.type());
        assertArrayEquals(new long[] {64, 3}, t.dims());
        assertEquals(192, t.elementCount());
        assertArrayEquals(q8, t.data().toArray(ValueLayout.JAVA_BYTE), why);
        assertArrayEquals(f16, f.tensor("f16").data().toArray(ValueLayout.JAVA_BYTE), why);
        assertArrayEquals(q4k, f.tensor("q4k").data().toArray(ValueLayout.JAVA_BYTE), why);
        assertArrayEquals(new long[] {256, 1, 1, 1}, f.tensor("q4k").dims());
        float[] back = f.tensor("f32").data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
        assertArrayEquals(f32, back, why);
        for (GgufTensor x : f.tensors()) {
          assertEquals(0, x.fileOffset() % alignment, x.name() + " " + why);
          assertTrue(x.fileOffset() >= f.dataOffset(), x.name());
          assertTrue(x.data().isReadOnly(), x.name());
          assertTrue(x.data().isMapped(), x.name());
        }
        assertEquals(0, f.dataOffset() % alignment, why);
      }
    }
  }

  @Test
  void a_version_2_file_reads_like_version_3() throws IOException {
    Path p = dir.resolve("v2.gguf");
    new GgufWriter().version(2).putUInt32("llama.block_count", 5).addTensor("x", new long[] {2}, new float[] {1, 2}).write(p);
    try (GgufFile f = GgufFile.open(p)) {
      assertEquals(2, f.version());
      assertEquals(5, f.getInt("llama.block_count"));
      assertEquals(2, f.tensor("x").elementCount());
    }
  }

  @Test
  void typed_getters_name_the_key_and_the_actual_type_on_a_mismatch() throws IOException {
    Path p = dir.resolve("types.gguf");
    new GgufWriter().putFloat32("llama.block_count", 3f).putUInt64("big", -1L).putInt64("wide", 1L << 40)
        .putStrings("tokens", "a").write(p);
    try (GgufFile f = GgufFile.open(p)) {
      assertMessage(IllegalArgumentException.class, () -> f.getInt("llama.block_count"),
          p.toString(), "'llama.block_count'", "FLOAT32 3.0", "expected an integer");
      assertMessage(IllegalArgumentException.class, () -> f.getString("missing.key"), "'missing.key' is missing");
      assertMessage(IllegalArgumentException.class, () -> f.getLong("big"), "UINT64 18446744073709551615");
      assertMessage(IllegalArgumentException.class, () -> f.getInt("wide"), "INT64 1099511627776, beyond an int");
      assertMessage(IllegalArgumentException.class, () -> f.getFloatArray("tokens"),
          "an ARRAY of String [1 elements]", "expected an array of 32-bit floats");
      assertMessage(IllegalArgumentException.class, () -> f.tensor("output.weight"), "no tensor named 'output.weight'");
      assertMessage(IllegalArgumentException.class, f::architecture, "'general.architecture' is missing");
    }
  }

  @Test
  void tensor_segments_are_unusable_after_close() throws IOException {
    Path p = dir.resolve("closed.gguf");
    new GgufWriter().addTensor("x", new long[] {4}, new float[] {1, 2, 3, 4}).write(p);
    GgufFile f = GgufFile.open(p);
    MemorySegment data = f.tensor("x").data();
    assertEquals(2f, data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4));
    f.close();
    f.close();
    assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4));
  }

  @Test
  void the_writer_fills_large_tensors_off_heap_and_replaces_the_target_atomically() throws IOException {
    Path p = dir.resolve("filled.gguf");
    Files.writeString(p, "old contents");
    new GgufWriter().addTensor("big", GgmlType.Q8_0, new long[] {1024, 16}, seg -> seg.fill((byte) 7)).write(p);
    try (GgufFile f = GgufFile.open(p)) {
      MemorySegment d = f.tensor("big").data();
      assertEquals(16 * 32 * 34, d.byteSize());
      assertEquals((byte) 7, d.get(ValueLayout.JAVA_BYTE, 0));
      assertEquals((byte) 7, d.get(ValueLayout.JAVA_BYTE, d.byteSize() - 1));
    }
    try (var files = Files.list(dir)) {
      assertEquals(List.of("filled.gguf"), files.map(x -> x.getFileName().toString()).toList(), "no temporary file is left");
    }
  }

  @Test
  void the_writer_rejects_values_that_do_not_match_their_type_and_tensors_of_the_wrong_size() {
    GgufWriter w = new GgufWriter();
    assertMessage(IllegalArgumentException.class, () -> w.put("k", GgufValueType.UINT32, 5L), "a Long cannot be written as UINT32");
    assertMessage(IllegalArgumentException.class, () -> w.putArray("k", GgufValueType.FLOAT32, new int[1]), "expected a float[]");
    assertMessage(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.Q8_0, new long[] {33}, new byte[34]),
        "first dimension of 33, not a multiple of the block size 32");
    assertMessage(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.Q8_0, new long[] {32}, new byte[33]),
        "needs 34 bytes but 33");
    assertMessage(IllegalArgumentException.class, () -> w.alignment(24), "alignment 24 is not a positive power of two");
  }

  @Test
  void ggml_types_have_the_ids_and_block_geometry_of_ggml() {
    assertEquals(Optional.of(GgmlType.Q8_0), GgmlType.fromId(8));
    assertEquals(Optional.of(GgmlType.BF16), GgmlType.fromId(30));
    assertEquals(Optional.empty(), GgmlType.fromId(4));
    assertEquals(Optional.empty(), GgmlType.fromId(-1));
    assertEquals(36, GgmlType.Q4_0.byteSize(64));
    assertEquals(420, GgmlType.Q6_K.byteSize(512));
    assertEquals(java.util.EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K),
        java.util.Arrays.stream(GgmlType.values()).filter(GgmlType::supported).collect(Collectors.toCollection(() -> java.util.EnumSet.noneOf(GgmlType.class))));
    assertMessage(IllegalArgumentException.class, () -> GgmlType.Q4_K.byteSize(100), "block size 256");
  }

  static byte[] randomBytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Asserts {@code code} throws {@code type} with a message containing every fragment; returns the message. */
  static String assertMessage(Class<? extends Throwable> type, Executable code, String... fragments) {
    Throwable t = assertThrows(type, code);
    String message = t.getMessage();
    for (String fragment : fragments) {
      assertTrue(message != null && message.contains(fragment), "message \"" + message + "\" lacks \"" + fragment + "\"");
    }
    return message;
  }
}
