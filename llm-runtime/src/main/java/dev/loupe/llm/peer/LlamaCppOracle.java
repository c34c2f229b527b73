package dev.loupe.llm.peer;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Deque;

/**
 * llama.cpp through its C API over the Foreign Function & Memory API: the oracle Loupe's engine is
 * tested against (its tokenization, its logits after every position, its greedy continuation of a
 * GGUF file) and the peer {@code loupe bench llm} times it against (prefill and greedy decode at a
 * given thread count). No JUnit or test code is involved; llm-runtime's tests and http's benchmark
 * share this one binding.
 *
 * <p>The native library is the one {@code de.kherud:llama:4.2.0} bundles for this OS and
 * architecture (a June 2025 llama.cpp, CPU only), found on the class path as {@code
 * /de/kherud/llama/<OS>/<arch>/<library>} ({@link #nativeResource()}), copied to a temporary file
 * and opened with {@code dlopen}, not through JNI, so none of de.kherud's Java code runs. That
 * artifact is an optional dependency of llm-runtime: a program that calls this class must have it on
 * its own class path (http does); without it the first call fails naming the missing resource and
 * the dependency to add. Structs passed by value are handled so that only what is certain is relied on:
 * {@code llama_model_params} and
 * {@code llama_context_params} are obtained from llama.cpp's own {@code *_default_params()} into a
 * buffer larger than the real struct and handed back unchanged except for the context's first six
 * 32-bit fields ({@code n_ctx, n_batch, n_ubatch, n_seq_max, n_threads, n_threads_batch}), which
 * have led the struct in every llama.cpp since 2023, and {@code type_k}/{@code type_v} (the KV cache
 * type, F32 by default here so logits compare at 1e-4), whose defaults and surroundings are checked
 * before use. On
 * x86-64 System V a struct over 16 bytes travels in memory, so a larger buffer is harmless both as a
 * return value and as the last argument. {@code llama_batch} is built field by field.
 *
 * <p>Each call runs in a fresh {@code llama_context}, so calls are independent. Two quirks of
 * llama.cpp in a JVM: a closed model leaves a native thread behind, and state lives for the life of
 * the process, so tests that use this run in a forked JVM of their own (classes named {@code
 * *OracleTest}; see llm-runtime's pom); de.kherud's own Java wrapper aborts the JVM in {@code
 * setNProbs}, which is one reason its Java code is not used. Not thread-safe: one thread per
 * instance.
 */
public final class LlamaCppOracle implements AutoCloseable {
  private static final Linker LINKER = Linker.nativeLinker();
  /** Larger than {@code llama_model_params} (72 bytes in mid-2025) and {@code llama_context_params} (about 120). */
  private static final StructLayout PARAMS = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(64, JAVA_LONG));
  private static final StructLayout BATCH = MemoryLayout.structLayout(
      JAVA_INT.withName("n_tokens"), MemoryLayout.paddingLayout(4),
      ADDRESS.withName("token"), ADDRESS.withName("embd"), ADDRESS.withName("pos"),
      ADDRESS.withName("n_seq_id"), ADDRESS.withName("seq_id"), ADDRESS.withName("logits"));

  private static Native lib;

  private final Native n;
  private final MemorySegment model;
  private final MemorySegment vocab;
  private final int vocabSize;
  private final int threads;
  private final boolean f16KvCache;

  private LlamaCppOracle(Native n, MemorySegment model, int threads, boolean f16KvCache) throws Throwable {
    this.n = n;
    this.model = model;
    this.vocab = (MemorySegment) n.modelGetVocab.invokeExact(model);
    this.vocabSize = (int) n.vocabNTokens.invokeExact(vocab);
    this.threads = threads;
    this.f16KvCache = f16KvCache;
  }

  /**
   * Loads a GGUF model into llama.cpp (CPU, mmap), using {@code threads} threads per call.
   *
   * @param f16KvCache keep llama.cpp's default F16 KV cache (which costs about 1e-2 in stories260K's
   *     logits); false makes it F32, for comparisons at 1e-4
   */
  public static LlamaCppOracle load(Path gguf, int threads, boolean f16KvCache) {
    Native n = library();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment params = (MemorySegment) n.modelDefaultParams.invokeExact((java.lang.foreign.SegmentAllocator) arena);
      n.logs.clear();
      MemorySegment model = (MemorySegment) n.modelLoad.invokeExact(arena.allocateFrom(gguf.toAbsolutePath().toString()), params);
      if (model.equals(MemorySegment.NULL)) {
        throw new IllegalStateException("llama.cpp could not load " + gguf + ": " + String.join(" | ", n.logs));
      }
      return new LlamaCppOracle(n, model, threads, f16KvCache);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /**
   * Loads only the vocabulary of a GGUF file ({@code vocab_only}: the architecture's metadata must
   * be there, tensors need not), for tokenizer comparisons; {@link #logits} and {@link #greedy} do
   * not work on it.
   */
  public static LlamaCppOracle loadVocabulary(Path gguf) {
    Native n = library();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment params = (MemorySegment) n.modelDefaultParams.invokeExact((java.lang.foreign.SegmentAllocator) arena);
      // vocab_only, use_mmap, use_mlock, check_tensors: the four bools after kv_overrides, at offset 56 in this
      // llama.cpp (devices, n_gpu_layers, split_mode = 1, main_gpu, tensor_split, progress callback and data,
      // kv_overrides before them), defaulting to false, true, false, false
      byte[] flags = params.asSlice(56, 4).toArray(JAVA_BYTE);
      if (flags[0] != 0 || flags[1] != 1 || flags[2] != 0 || flags[3] != 0) {
        throw new IllegalStateException("llama_model_params of this llama.cpp does not have vocab_only/use_mmap/use_mlock/check_tensors"
            + " = false/true/false/false at offset 56 (found " + java.util.HexFormat.ofDelimiter(" ").formatHex(params.asSlice(0, 96).toArray(JAVA_BYTE))
            + "); the oracle's layout needs updating");
      }
      params.set(JAVA_BYTE, 56, (byte) 1);
      n.logs.clear();
      MemorySegment model = (MemorySegment) n.modelLoad.invokeExact(arena.allocateFrom(gguf.toAbsolutePath().toString()), params);
      if (model.equals(MemorySegment.NULL)) {
        throw new IllegalStateException("llama.cpp could not load the vocabulary of " + gguf + ": " + String.join(" | ", n.logs));
      }
      return new LlamaCppOracle(n, model, 1, false);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Loads with two threads (this machine's cores) and an F32 KV cache. */
  public static LlamaCppOracle load(Path gguf) {
    return load(gguf, 2, false);
  }

  /** The vocabulary size. */
  public int vocabSize() {
    return vocabSize;
  }

  /** The BOS token id. */
  public int bos() {
    try {
      return (int) n.vocabBos.invokeExact(vocab);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Whether {@code token} ends generation (EOS, EOT...). */
  public boolean isEog(int token) {
    try {
      return (boolean) n.vocabIsEog.invokeExact(vocab, token);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * llama.cpp's tokenization of {@code text}.
   *
   * @param addSpecial add BOS (and EOS) as the model's metadata says
   * @param parseSpecial recognise special tokens such as {@code <s>} written in the text
   */
  public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
    try (Arena arena = Arena.ofConfined()) {
      byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
      MemorySegment textSeg = arena.allocate(utf8.length + 1);
      MemorySegment.copy(utf8, 0, textSeg, JAVA_BYTE, 0, utf8.length);
      int capacity = utf8.length + 8;
      MemorySegment out = arena.allocate(JAVA_INT, capacity);
      int count = (int) n.tokenize.invokeExact(vocab, textSeg, utf8.length, out, capacity, addSpecial, parseSpecial);
      if (count < 0) {
        throw new IllegalStateException("llama_tokenize needs " + -count + " tokens for " + utf8.length + " bytes");
      }
      return out.asSlice(0, 4L * count).toArray(JAVA_INT);
    } catch (RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The UTF-8 bytes llama.cpp renders for one token (special tokens rendered when {@code special}). */
  public byte[] piece(int token, boolean special) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(256);
      int len = (int) n.tokenToPiece.invokeExact(vocab, token, buf, 256, 0, special);
      if (len < 0) {
        buf = arena.allocate(-len);
        len = (int) n.tokenToPiece.invokeExact(vocab, token, buf, -len, 0, special);
      }
      return buf.asSlice(0, len).toArray(JAVA_BYTE);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The text of a token sequence (special tokens omitted), decoded from the concatenated pieces. */
  public String detokenize(int[] tokens) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int t : tokens) {
      bytes.writeBytes(piece(t, false));
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /**
   * llama.cpp's {@code llama_detokenize}: the text of {@code tokens}, invalid UTF-8 decoded as
   * U+FFFD.
   *
   * @param removeSpecial drop a leading BOS and trailing EOS the vocabulary adds
   * @param unparseSpecial render control tokens as their text
   */
  public String detokenize(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = arena.allocateFrom(JAVA_INT, tokens.length == 0 ? new int[1] : tokens);
      int capacity = 64 + 16 * tokens.length;
      MemorySegment out = arena.allocate(capacity);
      int len = (int) n.detokenize.invokeExact(vocab, in, tokens.length, out, capacity, removeSpecial, unparseSpecial);
      if (len < 0) {
        capacity = -len;
        out = arena.allocate(capacity);
        len = (int) n.detokenize.invokeExact(vocab, in, tokens.length, out, capacity, removeSpecial, unparseSpecial);
      }
      return new String(out.asSlice(0, len).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * llama.cpp's logits after each position of {@code tokens}, evaluated as one batch from position
   * 0 in a fresh context: {@code result[i]} is the distribution over the token after {@code tokens[i]}.
   */
  public float[][] logits(int[] tokens) {
    return logits(tokens, MemorySegment.NULL);
  }

  /**
   * {@link #logits(int[])} with llama.cpp's graph evaluation callback set ({@code cb_eval} of
   * {@code llama_context_params}: {@code bool (*)(struct ggml_tensor *, bool ask, void *)}, an
   * upcall stub such as the test helper {@code GgmlInternals.Capture} makes), to observe every intermediate
   * tensor of the forward pass; {@code NULL} for none.
   */
  public float[][] logits(int[] tokens, MemorySegment evalCallback) {
    try (Arena arena = Arena.ofConfined(); Context ctx = newContext(tokens.length, evalCallback)) {
      decode(arena, ctx.ptr, tokens, 0, true);
      float[][] result = new float[tokens.length][];
      for (int i = 0; i < tokens.length; i++) {
        result[i] = logitsAt(ctx.ptr, i);
      }
      return result;
    }
  }

  /**
   * llama.cpp's greedy continuation of {@code prompt}: {@code count} tokens, each the argmax (lowest
   * id on a tie, as llama.cpp's greedy sampler) of the logits after the previous one; EOG tokens do
   * not stop it, so the result always has {@code count} tokens.
   */
  public int[] greedy(int[] prompt, int count) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("greedy needs a prompt of at least one token");
    }
    int[] out = new int[count];
    try (Arena arena = Arena.ofConfined(); Context ctx = newContext(prompt.length + count, MemorySegment.NULL)) {
      decode(arena, ctx.ptr, prompt, 0, false);
      int pos = prompt.length;
      int last = prompt.length - 1;
      for (int i = 0; i < count; i++) {
        out[i] = argmax(logitsAt(ctx.ptr, last));
        if (i + 1 < count) {
          decode(arena, ctx.ptr, new int[] {out[i]}, pos++, false);
          last = 0;
        }
      }
    }
    return out;
  }

  /** The index of the largest value, the lowest on a tie. */
  public static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * A timed run of llama.cpp: the tokens it produced (greedy decoding) or consumed (prefill) and the
   * wall-clock nanoseconds of the timed part.
   */
  public record Timed(int[] tokens, long nanos) {
    public Timed {
      tokens = tokens.clone();
      if (nanos < 0) {
        throw new IllegalArgumentException("elapsed time " + nanos + " ns is negative");
      }
    }

    /** Tokens per second of the timed part. */
    public double tokensPerSecond() {
      return tokens.length / (nanos / 1e9);
    }
  }

  /**
   * Times llama.cpp prefilling {@code tokens} as one batch from position 0 of a fresh context on
   * this instance's threads ({@code n_threads} and {@code n_threads_batch} both), with logits for the
   * last position only, as a prompt is prefilled before generation. Only {@code llama_decode} is
   * timed, not the context's creation.
   */
  public Timed timePrefill(int[] tokens) {
    if (tokens.length == 0) {
      throw new IllegalArgumentException("a prefill needs at least one token");
    }
    try (Arena arena = Arena.ofConfined(); Context ctx = newContext(tokens.length, MemorySegment.NULL)) {
      long t0 = System.nanoTime();
      decode(arena, ctx.ptr, tokens, 0, false);
      return new Timed(tokens, System.nanoTime() - t0);
    }
  }

  /**
   * Times greedy decoding: {@code prompt} is prefilled untimed in a fresh context, then {@code
   * count} tokens are decoded one at a time, each the argmax of the logits after the previous one
   * (the tokens are those {@link #greedy} returns), and that loop is timed: per token one {@code llama_decode} of
   * one token (all of the model's weights streamed once) and the argmax over the vocabulary.
   */
  public Timed timeDecode(int[] prompt, int count) {
    if (prompt.length == 0 || count < 1) {
      throw new IllegalArgumentException("timed decoding needs a prompt (got " + prompt.length + " tokens) and at least one"
          + " token to decode (got " + count + ")");
    }
    int[] out = new int[count];
    try (Arena arena = Arena.ofConfined(); Context ctx = newContext(prompt.length + count, MemorySegment.NULL)) {
      decode(arena, ctx.ptr, prompt, 0, false);
      int next = argmax(logitsAt(ctx.ptr, prompt.length - 1));
      int[] one = new int[1];
      long t0 = System.nanoTime();
      for (int i = 0; i < count; i++) {
        out[i] = next;
        one[0] = next;
        decode(arena, ctx.ptr, one, prompt.length + i, false);
        next = argmax(logitsAt(ctx.ptr, 0));
      }
      return new Timed(out, System.nanoTime() - t0);
    }
  }

  /** The threads each call computes on. */
  public int threads() {
    return threads;
  }

  /**
   * The class-path resource of the llama.cpp library de.kherud:llama bundles for this JVM's OS and
   * architecture, e.g. {@code /de/kherud/llama/Linux/x86_64/libjllama.so}.
   *
   * @throws IllegalStateException for an OS or architecture it has no library for
   */
  public static String nativeResource() {
    String osName = System.getProperty("os.name"), archName = System.getProperty("os.arch");
    String os = osName.startsWith("Linux") ? "Linux" : osName.startsWith("Mac") ? "Mac" : osName.startsWith("Windows") ? "Windows" : null;
    String arch = switch (archName) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64", "arm64" -> "aarch64";
      default -> null;
    };
    if (os == null || arch == null) {
      throw new IllegalStateException("de.kherud:llama bundles llama.cpp for Linux, macOS and Windows on x86_64 and aarch64,"
          + " not for " + osName + " " + archName);
    }
    String file = switch (os) {
      case "Mac" -> "libjllama.dylib";
      case "Windows" -> "jllama.dll";
      default -> "libjllama.so";
    };
    return "/de/kherud/llama/" + os + "/" + arch + "/" + file;
  }

  @Override
  public void close() {
    try {
      n.modelFree.invokeExact(model);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- internals

  private record Context(Native n, MemorySegment ptr) implements AutoCloseable {
    @Override
    public void close() {
      try {
        n.free.invokeExact(ptr);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
  }

  private Context newContext(int tokens, MemorySegment evalCallback) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment p = (MemorySegment) n.contextDefaultParams.invokeExact((java.lang.foreign.SegmentAllocator) arena);
      // The leading fields and their llama.cpp defaults: a different layout would show here.
      int[] defaults = p.asSlice(0, 24).toArray(JAVA_INT);
      if (defaults[0] != 512 || defaults[1] != 2048 || defaults[2] != 512 || defaults[3] != 1) {
        throw new IllegalStateException("llama_context_params does not start with n_ctx=512, n_batch=2048, n_ubatch=512,"
            + " n_seq_max=1 in this llama.cpp (found " + java.util.Arrays.toString(defaults) + "); this binding's layout needs updating");
      }
      // type_k and type_v (enum ggml_type) at offsets 88 and 92 in this llama.cpp, after the three
      // enums defaulting to -1, the YaRN floats (beta_fast 32.0) and the eval callback pair; all checked.
      boolean kvLayout = p.get(JAVA_INT, 24) == -1 && p.get(JAVA_INT, 28) == -1 && p.get(JAVA_INT, 32) == -1
          && p.get(JAVA_FLOAT, 52) == 32f && p.get(JAVA_LONG, 72) == 0 && p.get(JAVA_LONG, 80) == 0
          && p.get(JAVA_INT, 88) == 1 && p.get(JAVA_INT, 92) == 1;
      if (!kvLayout) {
        throw new IllegalStateException("llama_context_params of this llama.cpp does not have type_k/type_v = F16 at offsets 88/92: "
            + java.util.HexFormat.ofDelimiter(" ").formatHex(p.asSlice(0, 128).toArray(JAVA_BYTE)));
      }
      int kvType = f16KvCache ? 1 /* GGML_TYPE_F16 */ : 0 /* GGML_TYPE_F32 */;
      p.set(JAVA_INT, 88, kvType);
      p.set(JAVA_INT, 92, kvType);
      int nCtx = Math.max(32, tokens + 8);
      p.setAtIndex(JAVA_INT, 0, nCtx);
      p.setAtIndex(JAVA_INT, 1, nCtx);
      p.setAtIndex(JAVA_INT, 2, nCtx);
      p.setAtIndex(JAVA_INT, 4, threads);
      p.setAtIndex(JAVA_INT, 5, threads);
      p.set(ADDRESS, 72, evalCallback); // cb_eval (checked NULL by default above; cb_eval_user_data stays NULL)
      n.logs.clear();
      MemorySegment ctx = (MemorySegment) n.initFromModel.invokeExact(model, p);
      if (ctx.equals(MemorySegment.NULL)) {
        throw new IllegalStateException("llama_init_from_model failed: " + String.join(" | ", n.logs));
      }
      return new Context(n, ctx);
    } catch (RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private void decode(Arena arena, MemorySegment ctx, int[] tokens, int firstPos, boolean allLogits) {
    int count = tokens.length;
    MemorySegment tok = arena.allocateFrom(JAVA_INT, tokens);
    MemorySegment pos = arena.allocate(JAVA_INT, count);
    MemorySegment nSeq = arena.allocate(JAVA_INT, count);
    MemorySegment seqIds = arena.allocate(ADDRESS, count);
    MemorySegment seq0 = arena.allocateFrom(JAVA_INT, 0);
    MemorySegment out = arena.allocate(JAVA_BYTE, count);
    for (int i = 0; i < count; i++) {
      pos.setAtIndex(JAVA_INT, i, firstPos + i);
      nSeq.setAtIndex(JAVA_INT, i, 1);
      seqIds.setAtIndex(ADDRESS, i, seq0);
      out.set(JAVA_BYTE, i, (byte) (allLogits || i == count - 1 ? 1 : 0));
    }
    MemorySegment batch = arena.allocate(BATCH);
    batch.set(JAVA_INT, 0, count);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("token")), tok);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("embd")), MemorySegment.NULL);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("pos")), pos);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("n_seq_id")), nSeq);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("seq_id")), seqIds);
    batch.set(ADDRESS, BATCH.byteOffset(MemoryLayout.PathElement.groupElement("logits")), out);
    int rc;
    try {
      n.logs.clear();
      rc = (int) n.decode.invokeExact(ctx, batch);
    } catch (Throwable t) {
      throw rethrow(t);
    }
    if (rc != 0) {
      throw new IllegalStateException("llama_decode of " + count + " tokens at position " + firstPos + " returned " + rc + ": "
          + String.join(" | ", n.logs));
    }
  }

  private float[] logitsAt(MemorySegment ctx, int i) {
    try {
      MemorySegment p = (MemorySegment) n.getLogitsIth.invokeExact(ctx, i);
      if (p.equals(MemorySegment.NULL)) {
        throw new IllegalStateException("llama_get_logits_ith(" + i + ") returned NULL: " + String.join(" | ", n.logs));
      }
      return p.reinterpret(4L * vocabSize).toArray(JAVA_FLOAT);
    } catch (RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) return r;
    if (t instanceof Error e) throw e;
    return new IllegalStateException(t);
  }

  /** The library and its functions, bound once per JVM. */
  private static synchronized Native library() {
    if (lib == null) {
      lib = new Native();
    }
    return lib;
  }

  private static final class Native {
    final Deque<String> logs = new java.util.concurrent.ConcurrentLinkedDeque<>();
    final MethodHandle modelDefaultParams, modelLoad, modelFree, contextDefaultParams, initFromModel, free, modelGetVocab,
        vocabNTokens, vocabBos, vocabIsEog, tokenize, tokenToPiece, decode, getLogitsIth, detokenize;

    Native() {
      String resource = nativeResource();
      Path so;
      try (InputStream in = LlamaCppOracle.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("llama.cpp's native library " + resource + " is not on the class path: add the"
              + " dependency de.kherud:llama:4.2.0 (it bundles llama.cpp for Linux, macOS and Windows; llm-runtime declares"
              + " it optional, http and llm-runtime's tests have it)");
        }
        Path dir = Files.createTempDirectory("loupe-llama-cpp");
        so = dir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
        Files.copy(in, so, StandardCopyOption.REPLACE_EXISTING);
        so.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
      } catch (IOException e) {
        throw new IllegalStateException("cannot extract " + resource + ": " + e.getMessage(), e);
      }
      SymbolLookup lookup = SymbolLookup.libraryLookup(so, Arena.global());
      modelDefaultParams = bind(lookup, "llama_model_default_params", FunctionDescriptor.of(PARAMS));
      modelLoad = bind(lookup, "llama_model_load_from_file", FunctionDescriptor.of(ADDRESS, ADDRESS, PARAMS));
      modelFree = bind(lookup, "llama_model_free", FunctionDescriptor.ofVoid(ADDRESS));
      contextDefaultParams = bind(lookup, "llama_context_default_params", FunctionDescriptor.of(PARAMS));
      initFromModel = bind(lookup, "llama_init_from_model", FunctionDescriptor.of(ADDRESS, ADDRESS, PARAMS));
      free = bind(lookup, "llama_free", FunctionDescriptor.ofVoid(ADDRESS));
      modelGetVocab = bind(lookup, "llama_model_get_vocab", FunctionDescriptor.of(ADDRESS, ADDRESS));
      vocabNTokens = bind(lookup, "llama_vocab_n_tokens", FunctionDescriptor.of(JAVA_INT, ADDRESS));
      vocabBos = bind(lookup, "llama_vocab_bos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
      vocabIsEog = bind(lookup, "llama_vocab_is_eog", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT));
      tokenize = bind(lookup, "llama_tokenize",
          FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
      tokenToPiece = bind(lookup, "llama_token_to_piece",
          FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
      detokenize = bind(lookup, "llama_detokenize",
          FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
      decode = bind(lookup, "llama_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, BATCH));
      getLogitsIth = bind(lookup, "llama_get_logits_ith", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
      try {
        // Route llama.cpp's log to a small buffer (shown in errors) instead of stderr.
        MethodHandle sink = MethodHandles.lookup().findVirtual(Native.class, "log",
            MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class)).bindTo(this);
        MemorySegment callback = LINKER.upcallStub(sink, FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS), Arena.global());
        bind(lookup, "llama_log_set", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS)).invokeExact(callback, MemorySegment.NULL);
        bind(lookup, "llama_backend_init", FunctionDescriptor.ofVoid()).invokeExact();
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }

    @SuppressWarnings("unused") // called from native code
    private void log(int level, MemorySegment text, MemorySegment user) {
      String line = text.reinterpret(Long.MAX_VALUE).getString(0).strip();
      if (Boolean.getBoolean("loupe.oracle.log")) {
        System.err.println("llama.cpp: " + line);
      }
      if (!line.isEmpty() && level >= 3 /* GGML_LOG_LEVEL_WARN */) {
        logs.addLast(line);
        while (logs.size() > 20) logs.pollFirst();
      }
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
      MemorySegment symbol = lookup.find(name).orElseThrow(() -> new IllegalStateException(
          "the bundled llama.cpp has no symbol " + name + "; this binding was written for de.kherud:llama:4.2.0"));
      return LINKER.downcallHandle(symbol, descriptor);
    }
  }
}
