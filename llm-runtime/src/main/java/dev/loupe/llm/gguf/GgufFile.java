package dev.loupe.llm.gguf;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF model file (version 2 or 3, little-endian), memory-mapped read-only: its metadata and its
 * tensor table, with each tensor's bytes as a slice of the mapping (weights are never copied to the
 * heap).
 *
 * <p>{@link #open} validates the whole header before returning: every length and count is checked
 * against the bytes left in the file before anything is allocated, so a truncated or hostile file
 * fails with a one-line {@link GgufException} naming the file, the offset and the problem, never an
 * out-of-memory error. Metadata is exposed per the module's contract as a {@code Map<String, Object>}
 * (see {@link GgufValueType} for the Java types) plus typed getters that name the key and the
 * actual type on a mismatch.
 *
 * <p>Thread-safety: immutable after {@code open}; any number of threads may read metadata and
 * tensor data concurrently. {@link #close} unmaps the file (a shared arena); tensor segments must
 * not be used after it, and reads racing with it fail with {@link IllegalStateException}.
 */
public final class GgufFile implements Closeable {
  /** "GGUF" as the file's first four bytes. */
  static final int MAGIC = 0x46554747;
  /** The alignment of tensor data when {@code general.alignment} is absent. */
  public static final int DEFAULT_ALIGNMENT = 32;
  public static final String ALIGNMENT_KEY = "general.alignment";
  public static final String ARCHITECTURE_KEY = "general.architecture";
  /** Nested metadata arrays deeper than this are rejected, so a hostile file cannot overflow the stack. */
  static final int MAX_ARRAY_DEPTH = 8;
  /** Java arrays and strings cannot be longer than this. */
  private static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final Path path;
  private final Arena arena;
  private final MemorySegment mapping;
  private final int version;
  private final Map<String, Object> metadata;
  private final Map<String, GgufValueType> types;
  private final Map<String, GgufValueType> elementTypes;
  private final Map<String, GgufTensor> tensors;
  private final int alignment;
  private final long dataOffset;

  private GgufFile(Path path, Arena arena, MemorySegment mapping, int version, Map<String, Object> metadata,
      Map<String, GgufValueType> types, Map<String, GgufValueType> elementTypes, Map<String, GgufTensor> tensors,
      int alignment, long dataOffset) {
    this.path = path;
    this.arena = arena;
    this.mapping = mapping;
    this.version = version;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.types = Collections.unmodifiableMap(types);
    this.elementTypes = Collections.unmodifiableMap(elementTypes);
    this.tensors = Collections.unmodifiableMap(tensors);
    this.alignment = alignment;
    this.dataOffset = dataOffset;
  }

  /**
   * Maps and parses a GGUF file.
   *
   * @throws GgufException if the file is not a valid GGUF v2/v3 file (the message says why)
   * @throws IOException if the file cannot be opened or mapped
   */
  public static GgufFile open(Path path) throws IOException {
    Arena arena = Arena.ofShared();
    try {
      MemorySegment mapping;
      try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
        mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena).asReadOnly();
      }
      GgufFile file = new Parser(path, mapping).parse(arena);
      return file;
    } catch (IOException | RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  /** The file this was read from. */
  public Path path() {
    return path;
  }

  /** The GGUF version: 2 or 3. */
  public int version() {
    return version;
  }

  /** The alignment of tensor data ({@code general.alignment}, else 32). */
  public int alignment() {
    return alignment;
  }

  /** The absolute offset where the tensor data section starts. */
  public long dataOffset() {
    return dataOffset;
  }

  /** The file's size in bytes. */
  public long size() {
    return mapping.byteSize();
  }

  /** All metadata in file order, keyed by GGUF key name (unmodifiable; values per {@link GgufValueType}). */
  public Map<String, Object> metadata() {
    return metadata;
  }

  /** The GGUF type a metadata key was stored with, or empty if absent (for an array: {@code ARRAY}). */
  public Optional<GgufValueType> valueType(String key) {
    return Optional.ofNullable(types.get(key));
  }

  /** The GGUF element type of a metadata array, or empty if the key is absent or not an array. */
  public Optional<GgufValueType> arrayElementType(String key) {
    return Optional.ofNullable(elementTypes.get(key));
  }

  /** Whether the metadata has this key. */
  public boolean has(String key) {
    return metadata.containsKey(key);
  }

  /** {@code general.architecture}, such as {@code llama} or {@code qwen2}. */
  public String architecture() {
    return getString(ARCHITECTURE_KEY);
  }

  /** The tensors in file order (unmodifiable). */
  public List<GgufTensor> tensors() {
    return List.copyOf(tensors.values());
  }

  /** Whether the file has a tensor of this name. */
  public boolean hasTensor(String name) {
    return tensors.containsKey(name);
  }

  /** The tensor of this name, or empty. */
  public Optional<GgufTensor> findTensor(String name) {
    return Optional.ofNullable(tensors.get(name));
  }

  /**
   * The tensor of this name.
   *
   * @throws IllegalArgumentException naming the file and the tensor if there is none
   */
  public GgufTensor tensor(String name) {
    GgufTensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(path + ": no tensor named '" + name + "' (the file has " + tensors.size() + " tensors)");
    }
    return t;
  }

  // ---- typed metadata getters: a missing key or a value of the wrong type throws IllegalArgumentException naming both.

  /** A STRING value. */
  public String getString(String key) {
    return switch (require(key)) {
      case String s -> s;
      default -> throw mismatch(key, "a string");
    };
  }

  /** A STRING value, or {@code fallback} if the key is absent. */
  public String getString(String key, String fallback) {
    return has(key) ? getString(key) : fallback;
  }

  /** A BOOL value. */
  public boolean getBoolean(String key) {
    return switch (require(key)) {
      case Boolean b -> b;
      default -> throw mismatch(key, "a boolean");
    };
  }

  /** A BOOL value, or {@code fallback} if the key is absent. */
  public boolean getBoolean(String key, boolean fallback) {
    return has(key) ? getBoolean(key) : fallback;
  }

  /** An integer of any GGUF width (unsigned ones read as unsigned) that fits in a long. */
  public long getLong(String key) {
    boolean unsigned = types.get(key) != null && types.get(key).unsigned();
    return switch (require(key)) {
      case Byte b -> unsigned ? Byte.toUnsignedLong(b) : b;
      case Short s -> unsigned ? Short.toUnsignedLong(s) : s;
      case Integer i -> unsigned ? Integer.toUnsignedLong(i) : i;
      case Long l -> {
        if (unsigned && l < 0) {
          throw new IllegalArgumentException(path + ": metadata key '" + key + "' is UINT64 " + Long.toUnsignedString(l) + ", beyond a long");
        }
        yield l;
      }
      default -> throw mismatch(key, "an integer");
    };
  }

  /** An integer of any GGUF width, or {@code fallback} if the key is absent. */
  public long getLong(String key, long fallback) {
    return has(key) ? getLong(key) : fallback;
  }

  /** An integer of any GGUF width whose value fits in an int. */
  public int getInt(String key) {
    long v = getLong(key);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(path + ": metadata key '" + key + "' is " + types.get(key) + " " + v + ", beyond an int");
    }
    return (int) v;
  }

  /** An integer that fits in an int, or {@code fallback} if the key is absent. */
  public int getInt(String key, int fallback) {
    return has(key) ? getInt(key) : fallback;
  }

  /** A FLOAT32 or FLOAT64 value as a float. */
  public float getFloat(String key) {
    return switch (require(key)) {
      case Float f -> f;
      case Double d -> d.floatValue();
      default -> throw mismatch(key, "a float");
    };
  }

  /** A FLOAT32 or FLOAT64 value as a float, or {@code fallback} if the key is absent. */
  public float getFloat(String key, float fallback) {
    return has(key) ? getFloat(key) : fallback;
  }

  /** A FLOAT32 or FLOAT64 value as a double. */
  public double getDouble(String key) {
    return switch (require(key)) {
      case Float f -> f;
      case Double d -> d;
      default -> throw mismatch(key, "a float");
    };
  }

  /** An array of STRING (the file's array, not a copy: do not modify). */
  public String[] getStringArray(String key) {
    return switch (require(key)) {
      case String[] a -> a;
      default -> throw mismatch(key, "an array of strings");
    };
  }

  /** An array of INT32 or UINT32 (the file's array, not a copy: do not modify). */
  public int[] getIntArray(String key) {
    return switch (require(key)) {
      case int[] a -> a;
      default -> throw mismatch(key, "an array of 32-bit integers");
    };
  }

  /** An array of FLOAT32 (the file's array, not a copy: do not modify). */
  public float[] getFloatArray(String key) {
    return switch (require(key)) {
      case float[] a -> a;
      default -> throw mismatch(key, "an array of 32-bit floats");
    };
  }

  /** Unmaps the file; tensor segments become invalid. */
  @Override
  public void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "GgufFile[" + path + " v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
  }

  private Object require(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      throw new IllegalArgumentException(path + ": metadata key '" + key + "' is missing");
    }
    return v;
  }

  private IllegalArgumentException mismatch(String key, String expected) {
    Object v = metadata.get(key);
    return new IllegalArgumentException(path + ": metadata key '" + key + "' is " + describe(types.get(key), v) + ", expected " + expected);
  }

  static String describe(GgufValueType type, Object v) {
    String shown = switch (v) {
      case String s -> '"' + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + '"';
      case Object[] a -> "[" + a.length + " elements]";
      case byte[] a -> "[" + a.length + " elements]";
      case short[] a -> "[" + a.length + " elements]";
      case int[] a -> "[" + a.length + " elements]";
      case long[] a -> "[" + a.length + " elements]";
      case float[] a -> "[" + a.length + " elements]";
      case double[] a -> "[" + a.length + " elements]";
      case boolean[] a -> "[" + a.length + " elements]";
      default -> String.valueOf(v);
    };
    String typeName = type == GgufValueType.ARRAY ? "an ARRAY of " + v.getClass().getComponentType().getSimpleName() : String.valueOf(type);
    return typeName + " " + shown;
  }

  /** One pass over the mapped bytes with bounds checks before every read. */
  private static final class Parser {
    private final Path path;
    private final MemorySegment bytes;
    private final long size;
    private long pos;
    private String section = "header";

    Parser(Path path, MemorySegment bytes) {
      this.path = path;
      this.bytes = bytes;
      this.size = bytes.byteSize();
    }

    GgufFile parse(Arena arena) throws GgufException {
      if (size < 4) {
        throw fail("is not a GGUF file: it has only " + size + " bytes");
      }
      int magic = bytes.get(INT, 0);
      if (magic != MAGIC) {
        byte[] first = bytes.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE);
        throw fail("is not a GGUF file: its first bytes are " + HexFormat.ofDelimiter(" ").formatHex(first)
            + " (\"" + printable(first) + "\"), not 47 47 55 46 (\"GGUF\")");
      }
      pos = 4;
      int version = u32("the version");
      if (version == 1) {
        throw fail("is GGUF version 1, which is not supported (only 2 and 3); convert it again with a current llama.cpp");
      }
      if (version != 2 && version != 3) {
        if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
          throw fail("is a big-endian GGUF file (version " + Integer.reverseBytes(version) + "); only little-endian files are supported");
        }
        throw fail("has GGUF version " + Integer.toUnsignedString(version) + "; only versions 2 and 3 are supported");
      }
      long tensorCount = count("the tensor count", 4 + 8 + 4 + 8 + 8 /* the smallest tensor info */);
      long kvCount = count("the metadata count", 8 + 4 + 1 /* the smallest key/value */);

      section = "metadata";
      Map<String, Object> metadata = new LinkedHashMap<>();
      Map<String, GgufValueType> types = new LinkedHashMap<>();
      Map<String, GgufValueType> elementTypes = new LinkedHashMap<>();
      for (long i = 0; i < kvCount; i++) {
        long at = pos;
        String key = string("metadata key #" + i);
        String shown = display(key);
        int typeId = u32("the type of metadata key '" + shown + "'");
        GgufValueType type = GgufValueType.fromId(typeId)
            .orElseThrow(() -> fail("metadata key '" + shown + "' at offset " + at + " has unknown value type " + Integer.toUnsignedString(typeId)));
        if (type == GgufValueType.ARRAY && size - pos >= 4) {
          GgufValueType.fromId(bytes.get(INT, pos)).ifPresent(t -> elementTypes.put(key, t));
        }
        Object value = value(type, shown, 0);
        if (metadata.putIfAbsent(key, value) != null) {
          throw fail("has the metadata key '" + shown + "' twice (the second at offset " + at + ")");
        }
        types.put(key, type);
      }

      int alignment = DEFAULT_ALIGNMENT;
      if (metadata.containsKey(ALIGNMENT_KEY)) {
        if (types.get(ALIGNMENT_KEY) != GgufValueType.UINT32 && types.get(ALIGNMENT_KEY) != GgufValueType.INT32) {
          throw fail("has " + ALIGNMENT_KEY + " of type " + describe(types.get(ALIGNMENT_KEY), metadata.get(ALIGNMENT_KEY)) + ", expected UINT32");
        }
        alignment = (Integer) metadata.get(ALIGNMENT_KEY);
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
          throw fail("has " + ALIGNMENT_KEY + " = " + Integer.toUnsignedString(alignment) + ", not a power of two");
        }
      }

      section = "tensor table";
      record Info(String name, GgmlType type, long[] dims, long offset) {}
      List<Info> infos = new ArrayList<>((int) Math.min(tensorCount, 1 << 16));
      java.util.Set<String> names = new java.util.HashSet<>();
      for (long i = 0; i < tensorCount; i++) {
        long at = pos;
        String name = string("the name of tensor #" + i);
        String shown = display(name);
        if (!names.add(name)) {
          throw fail("has two tensors named '" + shown + "' (the second at offset " + at + ")");
        }
        int nDims = u32("the dimension count of tensor '" + shown + "'");
        if (nDims < 1 || nDims > 4) {
          throw fail("tensor '" + shown + "' at offset " + at + " has " + Integer.toUnsignedString(nDims) + " dimensions; ggml allows 1 to 4");
        }
        long[] dims = new long[nDims];
        for (int d = 0; d < nDims; d++) {
          dims[d] = u64("dimension " + d + " of tensor '" + shown + "'");
          if (dims[d] < 0) {
            throw fail("tensor '" + shown + "' has dimension " + d + " of " + Long.toUnsignedString(dims[d]));
          }
        }
        int typeId = u32("the type of tensor '" + shown + "'");
        GgmlType type = GgmlType.fromId(typeId)
            .orElseThrow(() -> fail("tensor '" + shown + "' has unknown ggml type id " + Integer.toUnsignedString(typeId)));
        long offset = u64("the data offset of tensor '" + shown + "'");
        infos.add(new Info(name, type, dims, offset));
      }

      long dataOffset = align(pos, alignment);
      if (dataOffset > size && !infos.isEmpty()) {
        throw fail("is truncated: the tensor data should start at offset " + dataOffset + " but the file has " + size + " bytes");
      }
      Map<String, GgufTensor> tensors = new LinkedHashMap<>();
      for (Info info : infos) {
        String shown = display(info.name);
        String shape = info.type + " " + java.util.Arrays.toString(info.dims);
        long elements;
        try {
          elements = GgufTensor.elementCount(info.name, info.dims);
        } catch (IllegalArgumentException e) {
          throw fail("tensor '" + shown + "' has dimensions " + java.util.Arrays.toString(info.dims) + " whose product overflows a long");
        }
        if (info.dims[0] % info.type.blockSize() != 0) {
          throw fail("tensor '" + shown + "' of type " + info.type + " has a first dimension of " + info.dims[0]
              + ", not a multiple of the block size " + info.type.blockSize());
        }
        long byteSize;
        try {
          byteSize = info.type.byteSize(elements);
        } catch (ArithmeticException e) {
          throw fail("tensor '" + shown + "' (" + shape + ") would take more than 2^63 bytes");
        }
        if (info.offset < 0 || info.offset % alignment != 0) {
          throw fail("tensor '" + shown + "' has data offset " + Long.toUnsignedString(info.offset)
              + ", not a multiple of the alignment " + alignment);
        }
        long start = dataOffset + info.offset;
        if (start < dataOffset || start > size || byteSize > size - start) {
          throw fail("is truncated: tensor '" + shown + "' (" + shape + ", "
              + byteSize + " bytes) lies at offsets " + Long.toUnsignedString(start) + ".." + Long.toUnsignedString(start + byteSize)
              + " but the file has " + size + " bytes");
        }
        tensors.put(info.name, new GgufTensor(info.name, info.type, info.dims, start, bytes.asSlice(start, byteSize)));
      }
      return new GgufFile(path, arena, bytes, version, metadata, types, elementTypes, tensors, alignment, dataOffset);
    }

    private Object value(GgufValueType type, String key, int depth) throws GgufException {
      String what = "the value of '" + key + "'";
      return switch (type) {
        case UINT8, INT8 -> bytes.get(ValueLayout.JAVA_BYTE, need(1, what));
        case UINT16, INT16 -> bytes.get(SHORT, need(2, what));
        case UINT32, INT32 -> bytes.get(INT, need(4, what));
        case UINT64, INT64 -> bytes.get(LONG, need(8, what));
        case FLOAT32 -> bytes.get(FLOAT, need(4, what));
        case FLOAT64 -> bytes.get(DOUBLE, need(8, what));
        case BOOL -> bool(bytes.get(ValueLayout.JAVA_BYTE, need(1, what)), key);
        case STRING -> string(what);
        case ARRAY -> array(key, depth);
      };
    }

    private Object array(String key, int depth) throws GgufException {
      if (depth >= MAX_ARRAY_DEPTH) {
        throw fail("metadata key '" + key + "' nests arrays more than " + MAX_ARRAY_DEPTH + " deep at offset " + pos);
      }
      long at = pos;
      int typeId = u32("the element type of array '" + key + "'");
      GgufValueType type = GgufValueType.fromId(typeId)
          .orElseThrow(() -> fail("array '" + key + "' at offset " + at + " has unknown element type " + Integer.toUnsignedString(typeId)));
      long n = count("the length of array '" + key + "'", type.minBytes());
      int len = (int) n;
      String what = "array '" + key + "'";
      switch (type) {
        case UINT8, INT8 -> {
          return bytes.asSlice(need(n, what), n).toArray(ValueLayout.JAVA_BYTE);
        }
        case UINT16, INT16 -> {
          short[] a = new short[len];
          MemorySegment.copy(bytes, SHORT, need(n * 2, what), a, 0, len);
          return a;
        }
        case UINT32, INT32 -> {
          int[] a = new int[len];
          MemorySegment.copy(bytes, INT, need(n * 4, what), a, 0, len);
          return a;
        }
        case UINT64, INT64 -> {
          long[] a = new long[len];
          MemorySegment.copy(bytes, LONG, need(n * 8, what), a, 0, len);
          return a;
        }
        case FLOAT32 -> {
          float[] a = new float[len];
          MemorySegment.copy(bytes, FLOAT, need(n * 4, what), a, 0, len);
          return a;
        }
        case FLOAT64 -> {
          double[] a = new double[len];
          MemorySegment.copy(bytes, DOUBLE, need(n * 8, what), a, 0, len);
          return a;
        }
        case BOOL -> {
          long start = need(n, what);
          boolean[] a = new boolean[len];
          for (int i = 0; i < len; i++) {
            a[i] = bool(bytes.get(ValueLayout.JAVA_BYTE, start + i), key);
          }
          return a;
        }
        case STRING -> {
          String[] a = new String[len];
          for (int i = 0; i < len; i++) {
            a[i] = string("element " + i + " of array '" + key + "'");
          }
          return a;
        }
        case ARRAY -> {
          Object[] a = new Object[len];
          for (int i = 0; i < len; i++) {
            a[i] = array(key + "[" + i + "]", depth + 1);
          }
          return a;
        }
      }
      throw new AssertionError(type);
    }

    private boolean bool(byte b, String key) throws GgufException {
      if (b != 0 && b != 1) {
        throw fail("metadata key '" + key + "' has a boolean byte of " + (b & 0xff) + " at offset " + (pos - 1) + ", not 0 or 1");
      }
      return b == 1;
    }

    private String string(String what) throws GgufException {
      long len = u64("the length of " + what);
      if (len < 0 || len > MAX_JAVA_ARRAY) {
        throw fail("is malformed: " + what + " at offset " + (pos - 8) + " claims a length of " + Long.toUnsignedString(len) + " bytes");
      }
      long start = need(len, what);
      return new String(bytes.asSlice(start, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** A uint64 count of items taking at least {@code minItemBytes} each, checked against the bytes left. */
    private long count(String what, int minItemBytes) throws GgufException {
      long n = u64(what);
      long left = size - pos;
      if (n < 0 || n > MAX_JAVA_ARRAY || n > left / minItemBytes) {
        throw fail("is malformed or truncated: " + what + " at offset " + (pos - 8) + " is " + Long.toUnsignedString(n)
            + " but only " + left + " bytes follow it and the file has " + size + " bytes");
      }
      return n;
    }

    private int u32(String what) throws GgufException {
      return bytes.get(INT, need(4, what));
    }

    private long u64(String what) throws GgufException {
      return bytes.get(LONG, need(8, what));
    }

    /** Claims {@code n} bytes at the cursor and returns their offset, or fails if the file ends first. */
    private long need(long n, String what) throws GgufException {
      if (n < 0 || n > size - pos) {
        throw fail("is truncated in the " + section + ": " + what + " needs " + Long.toUnsignedString(n) + " bytes at offset " + pos
            + " but the file has " + size + " bytes");
      }
      long at = pos;
      pos += n;
      return at;
    }

    private GgufException fail(String problem) {
      return new GgufException(path + (problem.startsWith("is ") || problem.startsWith("has ") ? " " + problem : ": " + problem));
    }

    /** A name as messages show it: control characters escaped, at most 120 characters, so a message stays one short line. */
    private static String display(String name) {
      StringBuilder s = new StringBuilder();
      for (int i = 0; i < name.length() && s.length() < 120; i++) {
        char c = name.charAt(i);
        if (Character.isISOControl(c)) {
          s.append(String.format("\\u%04x", (int) c));
        } else {
          s.append(c);
        }
      }
      return s.length() < name.length() || name.length() > 120 ? s + "..." : s.toString();
    }

    private static String printable(byte[] b) {
      StringBuilder s = new StringBuilder();
      for (byte c : b) {
        s.append(c >= 0x20 && c < 0x7f ? (char) c : '.');
      }
      return s.toString();
    }
  }

  static long align(long offset, int alignment) {
    return (offset + alignment - 1) / alignment * alignment;
  }
}
