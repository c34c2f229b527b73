package dev.loupe.llm.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Builds a GGUF file (version 3 unless told otherwise): metadata of every GGUF value type, then
 * tensors given as ggml-encoded bytes, each aligned to {@code general.alignment} (32 unless set).
 *
 * <p>Metadata keys keep the order they were first put in; putting a key again replaces its value.
 * Integer values take the Java type of their width, unsigned ones included ({@code putUInt32} takes
 * an {@code int} whose bits are the unsigned value). {@link #write} writes to a temporary file beside
 * the target and moves it into place, so a reader never sees a half-written file.
 *
 * <p>Tensor data given as a {@link MemorySegment} is not copied until {@code write}: the caller keeps
 * it alive until then. Not thread-safe: build and write from one thread.
 */
public final class GgufWriter {
  private record Value(GgufValueType type, GgufValueType elementType, Object value) {}

  private record Tensor(String name, GgmlType type, long[] dims, long byteSize, MemorySegment data, Consumer<MemorySegment> fill) {}

  private final Map<String, Value> metadata = new LinkedHashMap<>();
  private final Map<String, Tensor> tensors = new LinkedHashMap<>();
  private int version = 3;

  /** Writes GGUF version {@code version} (2 or 3; the two share a layout, 3 is the default). */
  public GgufWriter version(int version) {
    if (version != 2 && version != 3) {
      throw new IllegalArgumentException("GGUF version " + version + " cannot be written; only 2 and 3");
    }
    this.version = version;
    return this;
  }

  /** Sets {@code general.alignment} (a power of two) for the tensor data. */
  public GgufWriter alignment(int alignment) {
    if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
      throw new IllegalArgumentException("alignment " + alignment + " is not a positive power of two");
    }
    return putUInt32(GgufFile.ALIGNMENT_KEY, alignment);
  }

  /**
   * Puts a scalar of the given type; {@code value} must be the Java type the GGUF type maps to
   * (see {@link GgufValueType}). Arrays go through {@link #putArray}.
   */
  public GgufWriter put(String key, GgufValueType type, Object value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value of " + key);
    boolean ok = switch (type) {
      case UINT8, INT8 -> value instanceof Byte;
      case UINT16, INT16 -> value instanceof Short;
      case UINT32, INT32 -> value instanceof Integer;
      case UINT64, INT64 -> value instanceof Long;
      case FLOAT32 -> value instanceof Float;
      case FLOAT64 -> value instanceof Double;
      case BOOL -> value instanceof Boolean;
      case STRING -> value instanceof String;
      case ARRAY -> false;
    };
    if (!ok) {
      throw new IllegalArgumentException("metadata key '" + key + "': a " + value.getClass().getSimpleName()
          + " cannot be written as " + type + (type == GgufValueType.ARRAY ? " (use putArray)" : ""));
    }
    metadata.put(key, new Value(type, null, value));
    return this;
  }

  /**
   * Puts an array of {@code elementType}: {@code byte[]} for UINT8/INT8, {@code short[]} for
   * UINT16/INT16, {@code int[]} for UINT32/INT32, {@code long[]} for UINT64/INT64, {@code float[]},
   * {@code double[]}, {@code boolean[]}, {@code String[]}, or for ARRAY an {@code Object[]} of such
   * arrays (inner arrays are written with the signed type of their Java type).
   */
  public GgufWriter putArray(String key, GgufValueType elementType, Object array) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(array, "array of " + key);
    Class<?> expected = arrayClass(elementType);
    if (array.getClass() != expected) {
      throw new IllegalArgumentException("metadata key '" + key + "': a " + array.getClass().getSimpleName()
          + " cannot be written as an array of " + elementType + "; expected a " + expected.getSimpleName());
    }
    if (elementType == GgufValueType.ARRAY) {
      for (Object inner : (Object[]) array) {
        elementTypeOf(key, inner);
      }
    }
    metadata.put(key, new Value(GgufValueType.ARRAY, elementType, array));
    return this;
  }

  public GgufWriter putString(String key, String value) {
    return put(key, GgufValueType.STRING, value);
  }

  public GgufWriter putBoolean(String key, boolean value) {
    return put(key, GgufValueType.BOOL, value);
  }

  public GgufWriter putUInt8(String key, byte value) {
    return put(key, GgufValueType.UINT8, value);
  }

  public GgufWriter putInt8(String key, byte value) {
    return put(key, GgufValueType.INT8, value);
  }

  public GgufWriter putUInt16(String key, short value) {
    return put(key, GgufValueType.UINT16, value);
  }

  public GgufWriter putInt16(String key, short value) {
    return put(key, GgufValueType.INT16, value);
  }

  /** The type llama.cpp expects for counts and token ids ({@code block_count}, {@code bos_token_id}...). */
  public GgufWriter putUInt32(String key, int value) {
    return put(key, GgufValueType.UINT32, value);
  }

  public GgufWriter putInt32(String key, int value) {
    return put(key, GgufValueType.INT32, value);
  }

  public GgufWriter putUInt64(String key, long value) {
    return put(key, GgufValueType.UINT64, value);
  }

  public GgufWriter putInt64(String key, long value) {
    return put(key, GgufValueType.INT64, value);
  }

  public GgufWriter putFloat32(String key, float value) {
    return put(key, GgufValueType.FLOAT32, value);
  }

  public GgufWriter putFloat64(String key, double value) {
    return put(key, GgufValueType.FLOAT64, value);
  }

  public GgufWriter putStrings(String key, String... values) {
    return putArray(key, GgufValueType.STRING, values);
  }

  public GgufWriter putFloats(String key, float... values) {
    return putArray(key, GgufValueType.FLOAT32, values);
  }

  public GgufWriter putInt32s(String key, int... values) {
    return putArray(key, GgufValueType.INT32, values);
  }

  /** Removes a metadata key, if present. */
  public GgufWriter remove(String key) {
    metadata.remove(key);
    return this;
  }

  /**
   * Adds a tensor whose ggml-encoded bytes are {@code data} (not copied until {@link #write}).
   *
   * @param dims ggml dimensions, innermost first ({@code [cols, rows]} for a row-major matrix)
   */
  public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
    long size = checkTensor(name, type, dims);
    if (data.byteSize() != size) {
      throw new IllegalArgumentException("tensor '" + name + "' " + type + " " + Arrays.toString(dims) + " needs " + size
          + " bytes but " + data.byteSize() + " were given");
    }
    tensors.put(name, new Tensor(name, type, dims.clone(), size, data, null));
    return this;
  }

  /** Adds a tensor whose ggml-encoded bytes are {@code data} (not copied until {@link #write}). */
  public GgufWriter addTensor(String name, GgmlType type, long[] dims, byte[] data) {
    return addTensor(name, type, dims, MemorySegment.ofArray(data));
  }

  /** Adds an F32 tensor. */
  public GgufWriter addTensor(String name, long[] dims, float[] values) {
    MemorySegment data = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
    MemorySegment.copy(values, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
    return addTensor(name, GgmlType.F32, dims, data);
  }

  /**
   * Adds a tensor whose bytes {@code fill} writes, at {@link #write} time, into a zeroed off-heap
   * segment of exactly the tensor's size: for large random-weight models that should not sit on the heap.
   */
  public GgufWriter addTensor(String name, GgmlType type, long[] dims, Consumer<MemorySegment> fill) {
    long size = checkTensor(name, type, dims);
    tensors.put(name, new Tensor(name, type, dims.clone(), size, null, Objects.requireNonNull(fill, "fill")));
    return this;
  }

  /** Writes the file atomically: to a temporary file beside {@code out}, then moved over it. */
  public void write(Path out) throws IOException {
    Path target = out.toAbsolutePath();
    int alignment = alignment();
    ByteBuffer header = header(alignment);
    Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        writeFully(ch, header);
        long pos = header.limit();
        for (Tensor t : tensors.values()) {
          pos = pad(ch, pos, alignment);
          if (t.data != null) {
            writeFully(ch, t.data);
          } else {
            try (Arena arena = Arena.ofConfined()) {
              MemorySegment buffer = arena.allocate(Math.max(1, t.byteSize), 64).asSlice(0, t.byteSize);
              t.fill.accept(buffer);
              writeFully(ch, buffer);
            }
          }
          pos += t.byteSize;
        }
        pad(ch, pos, alignment);
        ch.force(false);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private int alignment() {
    Value v = metadata.get(GgufFile.ALIGNMENT_KEY);
    if (v == null) {
      return GgufFile.DEFAULT_ALIGNMENT;
    }
    if (!(v.value instanceof Integer a) || a <= 0 || Integer.bitCount(a) != 1) {
      throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " is " + v.type + " " + v.value + ", not a UINT32 power of two");
    }
    return a;
  }

  private long checkTensor(String name, GgmlType type, long[] dims) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type of " + name);
    if (tensors.containsKey(name)) {
      throw new IllegalArgumentException("tensor '" + name + "' was already added");
    }
    if (dims.length < 1 || dims.length > 4) {
      throw new IllegalArgumentException("tensor '" + name + "' has " + dims.length + " dimensions; ggml allows 1 to 4");
    }
    long elements = GgufTensor.elementCount(name, dims);
    if (dims[0] % type.blockSize() != 0) {
      throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " has a first dimension of " + dims[0]
          + ", not a multiple of the block size " + type.blockSize());
    }
    return type.byteSize(elements);
  }

  private ByteBuffer header(int alignment) {
    Buf b = new Buf();
    b.i32(GgufFile.MAGIC);
    b.i32(version);
    b.i64(tensors.size());
    b.i64(metadata.size());
    for (Map.Entry<String, Value> e : metadata.entrySet()) {
      b.string(e.getKey());
      Value v = e.getValue();
      b.i32(v.type.id());
      if (v.type == GgufValueType.ARRAY) {
        array(b, v.elementType, v.value);
      } else {
        scalar(b, v.type, v.value);
      }
    }
    long offset = 0;
    for (Tensor t : tensors.values()) {
      b.string(t.name);
      b.i32(t.dims.length);
      for (long d : t.dims) {
        b.i64(d);
      }
      b.i32(t.type.id());
      b.i64(offset);
      offset = GgufFile.align(offset + t.byteSize, alignment);
    }
    return b.finish();
  }

  private static void scalar(Buf b, GgufValueType type, Object value) {
    switch (type) {
      case UINT8, INT8 -> b.i8((Byte) value);
      case UINT16, INT16 -> b.i16((Short) value);
      case UINT32, INT32 -> b.i32((Integer) value);
      case UINT64, INT64 -> b.i64((Long) value);
      case FLOAT32 -> b.i32(Float.floatToRawIntBits((Float) value));
      case FLOAT64 -> b.i64(Double.doubleToRawLongBits((Double) value));
      case BOOL -> b.i8((byte) ((Boolean) value ? 1 : 0));
      case STRING -> b.string((String) value);
      case ARRAY -> throw new AssertionError("arrays are written by array()");
    }
  }

  private static void array(Buf b, GgufValueType elementType, Object array) {
    b.i32(elementType.id());
    switch (array) {
      case byte[] a -> { b.i64(a.length); for (byte x : a) b.i8(x); }
      case short[] a -> { b.i64(a.length); for (short x : a) b.i16(x); }
      case int[] a -> { b.i64(a.length); for (int x : a) b.i32(x); }
      case long[] a -> { b.i64(a.length); for (long x : a) b.i64(x); }
      case float[] a -> { b.i64(a.length); for (float x : a) b.i32(Float.floatToRawIntBits(x)); }
      case double[] a -> { b.i64(a.length); for (double x : a) b.i64(Double.doubleToRawLongBits(x)); }
      case boolean[] a -> { b.i64(a.length); for (boolean x : a) b.i8((byte) (x ? 1 : 0)); }
      case String[] a -> { b.i64(a.length); for (String x : a) b.string(x); }
      case Object[] a -> {
        b.i64(a.length);
        for (Object inner : a) {
          array(b, elementTypeOf("nested array", inner), inner);
        }
      }
      default -> throw new AssertionError(array.getClass());
    }
  }

  private static Class<?> arrayClass(GgufValueType elementType) {
    return switch (elementType) {
      case UINT8, INT8 -> byte[].class;
      case UINT16, INT16 -> short[].class;
      case UINT32, INT32 -> int[].class;
      case UINT64, INT64 -> long[].class;
      case FLOAT32 -> float[].class;
      case FLOAT64 -> double[].class;
      case BOOL -> boolean[].class;
      case STRING -> String[].class;
      case ARRAY -> Object[].class;
    };
  }

  private static GgufValueType elementTypeOf(String key, Object inner) {
    return switch (inner) {
      case byte[] a -> GgufValueType.INT8;
      case short[] a -> GgufValueType.INT16;
      case int[] a -> GgufValueType.INT32;
      case long[] a -> GgufValueType.INT64;
      case float[] a -> GgufValueType.FLOAT32;
      case double[] a -> GgufValueType.FLOAT64;
      case boolean[] a -> GgufValueType.BOOL;
      case String[] a -> GgufValueType.STRING;
      case Object[] a -> {
        for (Object x : a) {
          elementTypeOf(key, x);
        }
        yield GgufValueType.ARRAY;
      }
      case null -> throw new IllegalArgumentException("metadata key '" + key + "': a nested array is null");
      default -> throw new IllegalArgumentException("metadata key '" + key + "': a nested " + inner.getClass().getSimpleName()
          + " is not an array GGUF can hold");
    };
  }

  private static long pad(FileChannel ch, long pos, int alignment) throws IOException {
    long aligned = GgufFile.align(pos, alignment);
    if (aligned > pos) {
      writeFully(ch, ByteBuffer.allocate((int) (aligned - pos)));
    }
    return aligned;
  }

  private static void writeFully(FileChannel ch, MemorySegment data) throws IOException {
    long chunk = 1L << 30;
    for (long off = 0; off < data.byteSize(); off += chunk) {
      writeFully(ch, data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      ch.write(buffer);
    }
  }

  /** A growing little-endian byte buffer for the header. */
  private static final class Buf {
    private final List<ByteBuffer> full = new ArrayList<>();
    private ByteBuffer cur = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

    void ensure(int n) {
      if (cur.remaining() < n) {
        cur.flip();
        full.add(cur);
        cur = ByteBuffer.allocate(Math.max(1 << 16, n)).order(ByteOrder.LITTLE_ENDIAN);
      }
    }

    void i8(byte v) { ensure(1); cur.put(v); }
    void i16(short v) { ensure(2); cur.putShort(v); }
    void i32(int v) { ensure(4); cur.putInt(v); }
    void i64(long v) { ensure(8); cur.putLong(v); }

    void string(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      i64(bytes.length);
      ensure(bytes.length);
      cur.put(bytes);
    }

    ByteBuffer finish() {
      cur.flip();
      full.add(cur);
      int total = 0;
      for (ByteBuffer b : full) total = Math.addExact(total, b.remaining());
      ByteBuffer all = ByteBuffer.allocate(total);
      for (ByteBuffer b : full) all.put(b);
      return all.flip();
    }
  }
}
