package dev.loupe.llm.oracle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * ggml's own block arithmetic, called in the llama.cpp library the oracle uses (the {@code
 * libjllama.so} of {@code de.kherud:llama:4.2.0}), to check Loupe's kernels one operation at a
 * time against the code llama.cpp really runs on this CPU: a weight type's {@code to_float}
 * (dequantization) from {@code ggml_get_type_traits}, and from {@code ggml_get_type_traits_cpu}
 * the {@code from_float} that quantizes activations to the type's {@code vec_dot_type} (Q8_0, Q8_K,
 * F16) and the {@code vec_dot} kernel a matmul runs per row.
 *
 * <p>Layouts relied on (ggml of mid-2025, checked where a wrong guess would show): {@code struct
 * ggml_type_traits {const char *type_name; int64_t blck_size, blck_size_interleave; size_t
 * type_size; bool is_quantized; to_float; from_float_ref;}} and {@code struct ggml_type_traits_cpu
 * {from_float; vec_dot; enum ggml_type vec_dot_type; int64_t nrows;}}; {@link #typeName} and {@link
 * #blockSize} read back what the first struct says, so a shifted layout fails loudly.
 *
 * <p>The library is its own copy (extracted to a temporary file of its own), independent of the one
 * {@link dev.loupe.llm.peer.LlamaCppOracle} opens. Run in a forked JVM like the oracle. Thread-safe (the ggml functions
 * used are pure).
 */
public final class GgmlInternals {
  private static final Linker LINKER = Linker.nativeLinker();
  private static GgmlInternals instance;

  private final MethodHandle typeTraits, typeTraitsCpu, opName;

  private GgmlInternals(SymbolLookup lookup) {
    typeTraits = bind(lookup, "ggml_get_type_traits", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    typeTraitsCpu = bind(lookup, "ggml_get_type_traits_cpu", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    opName = bind(lookup, "ggml_op_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    try {
      bind(lookup, "ggml_cpu_init", FunctionDescriptor.ofVoid()).invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("ggml_cpu_init failed", t);
    }
  }

  /** The library's ggml, loaded once per JVM. */
  public static synchronized GgmlInternals get() {
    if (instance == null) {
      String resource = "/de/kherud/llama/Linux/x86_64/libjllama.so";
      try (InputStream in = GgmlInternals.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException(resource + " is not on the test classpath; llm-runtime's pom must have de.kherud:llama:4.2.0 in test scope");
        }
        Path dir = Files.createTempDirectory("loupe-ggml");
        Path so = dir.resolve("libjllama.so");
        Files.copy(in, so, StandardCopyOption.REPLACE_EXISTING);
        so.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        instance = new GgmlInternals(SymbolLookup.libraryLookup(so, Arena.global()));
      } catch (IOException e) {
        throw new IllegalStateException("cannot extract " + resource + ": " + e.getMessage(), e);
      }
    }
    return instance;
  }

  /** ggml's name of type {@code ggmlType} ({@code "q4_K"}...). */
  public String typeName(int ggmlType) {
    return traits(ggmlType).get(ADDRESS, 0).reinterpret(64).getString(0);
  }

  /** Elements per block of {@code ggmlType}. */
  public long blockSize(int ggmlType) {
    return traits(ggmlType).get(JAVA_LONG, 8);
  }

  /** Bytes per block of {@code ggmlType}. */
  public long typeSize(int ggmlType) {
    return traits(ggmlType).get(JAVA_LONG, 24);
  }

  /** The type ggml quantizes a matmul's activations to for weights of {@code ggmlType}. */
  public int vecDotType(int ggmlType) {
    return cpuTraits(ggmlType).get(JAVA_INT, 16);
  }

  /** ggml's {@code to_float} of {@code n} elements of {@code ggmlType} stored in {@code blocks}. */
  public float[] dequantize(int ggmlType, byte[] blocks, int n) {
    MethodHandle toFloat = LINKER.downcallHandle(traits(ggmlType).get(ADDRESS, 40),
        FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = arena.allocateFrom(JAVA_BYTE, blocks);
      MemorySegment out = arena.allocate(JAVA_FLOAT, n);
      toFloat.invokeExact(in, out, (long) n);
      return out.toArray(JAVA_FLOAT);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * The CPU backend's {@code from_float} of the {@code vec_dot_type} of {@code weightType}: the
   * bytes a matmul over {@code weightType} weights multiplies with ({@code x.length} a multiple of
   * that type's block size).
   */
  public byte[] quantizeActivations(int weightType, float[] x) {
    int dotType = vecDotType(weightType);
    if (dotType == 0) {
      MemorySegment raw = MemorySegment.ofArray(new byte[4 * x.length]);
      MemorySegment.copy(x, 0, raw, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, x.length);
      return raw.toArray(JAVA_BYTE);
    }
    long bytes = x.length / blockSize(dotType) * typeSize(dotType);
    MethodHandle fromFloat = LINKER.downcallHandle(cpuTraits(dotType).get(ADDRESS, 0),
        FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = arena.allocateFrom(JAVA_FLOAT, x);
      MemorySegment out = arena.allocate(bytes);
      fromFloat.invokeExact(in, out, (long) x.length);
      return out.toArray(JAVA_BYTE);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * The CPU backend's {@code vec_dot} for {@code weightType}: one row of {@code n} weights with
   * activations already in the {@code vec_dot_type} ({@link #quantizeActivations}).
   */
  public float vecDot(int weightType, byte[] row, byte[] activations, int n) {
    MethodHandle vecDot = LINKER.downcallHandle(cpuTraits(weightType).get(ADDRESS, 8),
        FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(JAVA_FLOAT, 4);
      MemorySegment x = arena.allocateFrom(JAVA_BYTE, row);
      MemorySegment y = arena.allocateFrom(JAVA_BYTE, activations);
      vecDot.invokeExact(n, s, 0L, x, 0L, y, 0L, 1);
      return s.get(JAVA_FLOAT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * One node of llama.cpp's compute graph as its evaluation callback saw it, just computed: its
   * name ({@code "Qcur-0"}, {@code "ffn_out-1"}...), its operation, its shape ({@code ne}, ne0
   * fastest), its values when it is an F32 tensor (else null), and the same for its sources (a
   * weight source has its tensor name, {@code "blk.0.attn_q.weight"}, and null values unless F32).
   */
  public record Node(String name, String op, int type, long[] ne, float[] values, List<Node> sources) {
    /** The number of rows: {@code ne1·ne2·ne3}. */
    public long rows() {
      return ne[1] * ne[2] * ne[3];
    }

    @Override
    public String toString() {
      return name + " = " + op + Arrays.toString(ne) + (sources.isEmpty() ? ""
          : sources.stream().map(Node::name).collect(Collectors.joining(", ", "(", ")")));
    }
  }

  /**
   * Records the nodes of every graph llama.cpp computes while it is installed as {@code cb_eval}
   * (see {@link dev.loupe.llm.peer.LlamaCppOracle#logits(int[], MemorySegment)}); asks for every node, so the
   * scheduler runs the graph one node at a time. Not thread-safe; one capture per oracle call.
   */
  public final class Capture {
    private final List<Node> nodes = new ArrayList<>();
    private final MemorySegment stub;

    private Capture() {
      try {
        MethodHandle h = MethodHandles.lookup().findVirtual(Capture.class, "observe",
            MethodType.methodType(boolean.class, MemorySegment.class, boolean.class, MemorySegment.class)).bindTo(this);
        stub = LINKER.upcallStub(h, FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_BOOLEAN, ADDRESS), Arena.ofAuto());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The function pointer to pass as {@code cb_eval}. */
    public MemorySegment callback() {
      return stub;
    }

    /** The nodes seen, in computation order. */
    public List<Node> nodes() {
      return nodes;
    }

    /** The last node named {@code name}. */
    public Node last(String name) {
      for (int i = nodes.size() - 1; i >= 0; i--) {
        if (nodes.get(i).name().equals(name)) return nodes.get(i);
      }
      throw new IllegalArgumentException("no node named " + name + " among " + nodes.size());
    }

    @SuppressWarnings("unused") // called from native code
    private boolean observe(MemorySegment tensor, boolean ask, MemorySegment user) {
      if (!ask) {
        nodes.add(read(tensor.reinterpret(TENSOR_BYTES), true));
      }
      return true;
    }
  }

  /** A new capture for one oracle call. */
  public Capture capture() {
    return new Capture();
  }

  // struct ggml_tensor of mid-2025: type, buffer, ne[4], nb[4], op, op_params[16], flags, src[10], view_src, view_offs, data, name[64], extra
  private static final long TENSOR_BYTES = 336, NE = 16, NB = 48, OP = 80, SRC = 152, DATA = 248, NAME = 256;

  private Node read(MemorySegment t, boolean withSources) {
    int type = t.get(JAVA_INT, 0);
    long[] ne = new long[4];
    long[] nb = new long[4];
    for (int i = 0; i < 4; i++) {
      ne[i] = t.get(JAVA_LONG, NE + 8L * i);
      nb[i] = t.get(JAVA_LONG, NB + 8L * i);
    }
    String name = t.asSlice(NAME, 64).getString(0);
    String op;
    try {
      op = ((MemorySegment) opName.invokeExact(t.get(JAVA_INT, OP))).reinterpret(64).getString(0);
    } catch (Throwable e) {
      throw rethrow(e);
    }
    float[] values = null;
    MemorySegment data = t.get(ADDRESS, DATA);
    if (type == 0 && !data.equals(MemorySegment.NULL)) {
      long n = ne[0] * ne[1] * ne[2] * ne[3];
      values = new float[Math.toIntExact(n)];
      MemorySegment d = data.reinterpret(Long.MAX_VALUE);
      int k = 0;
      for (long i3 = 0; i3 < ne[3]; i3++)
        for (long i2 = 0; i2 < ne[2]; i2++)
          for (long i1 = 0; i1 < ne[1]; i1++)
            for (long i0 = 0; i0 < ne[0]; i0++)
              values[k++] = d.get(JAVA_FLOAT, i0 * nb[0] + i1 * nb[1] + i2 * nb[2] + i3 * nb[3]);
    }
    List<Node> sources = new ArrayList<>();
    if (withSources) {
      for (int i = 0; i < 10; i++) {
        MemorySegment s = t.get(ADDRESS, SRC + 8L * i);
        if (s.equals(MemorySegment.NULL)) break;
        sources.add(read(s.reinterpret(TENSOR_BYTES), false));
      }
    }
    return new Node(name, op, type, ne, values, sources);
  }

  private MemorySegment traits(int ggmlType) {
    try {
      return ((MemorySegment) typeTraits.invokeExact(ggmlType)).reinterpret(56);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private MemorySegment cpuTraits(int ggmlType) {
    try {
      MemorySegment p = (MemorySegment) typeTraitsCpu.invokeExact(ggmlType);
      if (p.equals(MemorySegment.NULL)) {
        throw new IllegalStateException("ggml has no CPU traits for type " + ggmlType);
      }
      return p.reinterpret(32);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MethodHandle bind(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
    MemorySegment symbol = lookup.find(name).orElseThrow(() -> new IllegalStateException(
        "the bundled llama.cpp has no symbol " + name + "; this was written for de.kherud:llama:4.2.0"));
    return LINKER.downcallHandle(symbol, descriptor);
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) return r;
    if (t instanceof Error e) throw e;
    return new IllegalStateException(t);
  }
}
