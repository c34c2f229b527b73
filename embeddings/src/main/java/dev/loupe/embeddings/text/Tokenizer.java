package dev.loupe.embeddings.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.function.IntUnaryOperator;

/**
 * A model's own Hugging Face tokenizer ({@code tokenizer.json}, run by the Rust {@code tokenizers}
 * library through DJL) that encodes batches of texts into padded id matrices of at most the
 * model's context length.
 *
 * <p>Texts longer than the context are truncated by the tokenizer itself, which keeps the closing
 * special token ({@code <|endoftext|>} for CLIP, {@code [SEP]} for BERT). Empty or blank texts,
 * and texts that leave no token besides the special ones, are rejected.
 *
 * <p>The padding id is, in this order: the {@code padding.pad_id} of {@code tokenizer.json}; the
 * {@code pad_token} of a {@code tokenizer_config.json} or {@code special_tokens_map.json} beside
 * it; a {@code [PAD]} or {@code <pad>} token; CLIP's {@code <|endoftext|>} (what Hugging Face's
 * {@code CLIPTokenizer} pads with); else 0. With a correct attention mask the padding id does not
 * change a model's output, but matching the reference keeps tensors comparable.
 *
 * <p>Thread-safe: the native tokenizer is immutable once built. {@link #close()} frees it and must
 * not race with {@link #encode}.
 *
 * <p>DJL extracts its bundled native library into {@code DJL_CACHE_DIR} (default
 * {@code ~/.djl.ai}). This class turns on DJL's offline mode ({@code ai.djl.offline=true}) unless
 * it was set otherwise: on a machine with a GPU DJL would else try to download a CUDA build of
 * the library, and Loupe downloads nothing at run time.
 *
 * <p>It also sets {@code TOKENIZERS_PARALLELISM=false} in the process environment (through libc's
 * {@code setenv}, unless it is already set): a batch is then encoded on the calling thread instead
 * of the library's own pool of threads. That pool is started once, at normal priority, by whichever
 * thread encodes first, and would tokenize ingestion's passages beside the server's searches; on
 * the calling thread they run at the ingester's background priority. Batches here are small, so the
 * pool bought little.
 */
public final class Tokenizer implements AutoCloseable {

  static {
    if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    setNativeEnvIfAbsent("TOKENIZERS_PARALLELISM", "false");
  }

  /**
   * Sets a variable in the native environment, where the tokenizer library reads it ({@link
   * System#getenv} keeps its own copy and does not see it). Does nothing where libc's {@code
   * setenv} cannot be called (no native access).
   */
  static boolean setNativeEnvIfAbsent(String name, String value) {
    try (Arena arena = Arena.ofConfined()) {
      Linker linker = Linker.nativeLinker();
      MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
      return (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0) == 0;
    } catch (Throwable t) {
      return false;
    }
  }

  /** The native environment's value of {@code name}, or null (for tests). */
  static String nativeEnv(String name) {
    try (Arena arena = Arena.ofConfined()) {
      Linker linker = Linker.nativeLinker();
      MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().find("getenv").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
      MemorySegment v = (MemorySegment) getenv.invokeExact(arena.allocateFrom(name));
      return v.equals(MemorySegment.NULL) ? null : v.reinterpret(Long.MAX_VALUE).getString(0);
    } catch (Throwable t) {
      return null;
    }
  }

  /** How a batch is padded. */
  public enum Padding {
    /** Every row has exactly the context length (CLIP, whose exports expect 77 tokens). */
    FIXED,
    /** Rows are padded to the longest row of the batch (BERT encoders, which mask padding). */
    LONGEST
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer tokenizer;
  private final Path file;
  private final int contextLength;
  private final Padding padding;
  private final long padId;
  private volatile boolean closed;

  private Tokenizer(HuggingFaceTokenizer tokenizer, Path file, int contextLength, Padding padding, long padId) {
    this.tokenizer = tokenizer;
    this.file = file;
    this.contextLength = contextLength;
    this.padding = padding;
    this.padId = padId;
  }

  /**
   * Loads {@code tokenizerJson}.
   *
   * @param contextLength tokens per text at most, special tokens included (77 for CLIP)
   * @throws NoSuchFileException when the file is absent
   * @throws IllegalArgumentException when it is not a tokenizer the library can load, naming it
   */
  public static Tokenizer load(Path tokenizerJson, int contextLength, Padding padding) throws IOException {
    Objects.requireNonNull(padding, "padding");
    if (contextLength < 2) {
      throw new IllegalArgumentException("context length " + contextLength + " leaves no room for a token between the special ones");
    }
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new NoSuchFileException(tokenizerJson.toString(), null, "tokenizer file is missing");
    }
    long padId = padId(tokenizerJson);
    // Truncation and padding are set explicitly so that settings stored in tokenizer.json (MiniLM's
    // pads every text to 128) do not apply; DJL also caps maxLength at modelMaxLength (512 unless given).
    Map<String, String> options = Map.of(
        "tokenizerPath", tokenizerJson.toString(),
        "addSpecialTokens", "true",
        "truncation", "true",
        "padding", "false",
        "maxLength", Integer.toString(contextLength),
        "modelMaxLength", Integer.toString(contextLength));
    HuggingFaceTokenizer hf;
    try {
      hf = HuggingFaceTokenizer.builder(options).build();
    } catch (RuntimeException e) {
      // The native library reports a malformed file as a RuntimeException with its parser's message.
      throw new IllegalArgumentException(tokenizerJson + " is not a tokenizer the Hugging Face library can load: " + e.getMessage(), e);
    }
    if (hf.getMaxLength() != contextLength) {
      hf.close();
      throw new IllegalStateException("tokenizer " + tokenizerJson + " truncates at " + hf.getMaxLength()
          + " tokens instead of the context length " + contextLength);
    }
    return new Tokenizer(hf, tokenizerJson, contextLength, padding, padId);
  }

  /** The file this tokenizer was loaded from. */
  public Path file() {
    return file;
  }

  /** Tokens per text at most, special tokens included. */
  public int contextLength() {
    return contextLength;
  }

  public Padding padding() {
    return padding;
  }

  /** The id written after a text's tokens up to the row length. */
  public long padId() {
    return padId;
  }

  /** Encodes {@code texts}; an error names a text by its index in the list. */
  public TokenBatch encode(List<String> texts) {
    return encode(texts, i -> i);
  }

  /**
   * Encodes {@code texts} into one padded batch.
   *
   * @param position maps an index in {@code texts} to the position an error message gives, so a
   *     caller that encodes part of a larger list can name the caller's input
   * @throws IllegalArgumentException naming the first text that is empty, blank or has no tokens
   */
  public TokenBatch encode(List<String> texts, IntUnaryOperator position) {
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("no texts to encode");
    }
    for (int i = 0; i < texts.size(); i++) {
      checkText(texts.get(i), position.applyAsInt(i));
    }
    if (closed) {
      throw new IllegalStateException("tokenizer " + file + " is closed");
    }
    Encoding[] encodings = tokenizer.batchEncode(texts);
    int length = contextLength;
    if (padding == Padding.LONGEST) {
      length = 0;
      for (Encoding e : encodings) {
        length = Math.max(length, e.getIds().length);
      }
    }
    int rows = texts.size();
    long[] ids = new long[rows * length];
    long[] mask = new long[rows * length];
    long[] types = new long[rows * length];
    int[] counts = new int[rows];
    Arrays.fill(ids, padId);
    for (int r = 0; r < rows; r++) {
      Encoding e = encodings[r];
      long[] rowIds = e.getIds();
      assert rowIds.length <= length : "tokenizer returned " + rowIds.length + " tokens, over " + length;
      if (!hasContentToken(e.getSpecialTokenMask())) {
        throw new IllegalArgumentException("input " + position.applyAsInt(r) + " ('" + abbreviate(texts.get(r))
            + "') has no token besides the special ones; there is nothing to embed");
      }
      System.arraycopy(rowIds, 0, ids, r * length, rowIds.length);
      System.arraycopy(e.getTypeIds(), 0, types, r * length, rowIds.length);
      Arrays.fill(mask, r * length, r * length + rowIds.length, 1L);
      counts[r] = rowIds.length;
    }
    return new TokenBatch(rows, length, ids, mask, types, counts);
  }

  /**
   * The number of tokens {@code text} makes, special tokens excluded and without truncation at
   * the context length: what a chunker measures passages with. Empty or blank text makes 0.
   */
  public int count(String text) {
    Objects.requireNonNull(text, "text");
    if (closed) {
      throw new IllegalStateException("tokenizer " + file + " is closed");
    }
    return count(tokenizer.encode(text, false, true));
  }

  /** {@link #count(String)} of each text, in one call to the native library. */
  public int[] count(List<String> texts) {
    if (texts.isEmpty()) {
      return new int[0];
    }
    for (int i = 0; i < texts.size(); i++) {
      Objects.requireNonNull(texts.get(i), "text " + i);
    }
    if (closed) {
      throw new IllegalStateException("tokenizer " + file + " is closed");
    }
    Encoding[] encodings = tokenizer.batchEncode(texts, false, true);
    int[] counts = new int[encodings.length];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = count(encodings[i]);
    }
    return counts;
  }

  /** Tokens of an encoding and of the pieces truncation cut off it (stride 0: they do not overlap). */
  private static int count(Encoding e) {
    int n = e.getIds().length;
    Encoding[] overflowing = e.getOverflowing();
    if (overflowing != null) {
      for (Encoding o : overflowing) {
        n += o.getIds().length;
      }
    }
    return n;
  }

  /**
   * Throws when {@code text} is null, empty or only whitespace, naming it as input {@code position};
   * callers check a whole request with it before any work starts.
   */
  public static void checkText(String text, int position) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("input " + position + " is "
          + (text == null ? "null" : text.isEmpty() ? "empty text" : "blank text (only whitespace)")
          + "; there is nothing to embed");
    }
  }

  /** Frees the native tokenizer; later calls to {@link #encode} fail. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      tokenizer.close();
    }
  }

  private static boolean hasContentToken(long[] specialTokenMask) {
    for (long special : specialTokenMask) {
      if (special == 0) {
        return true;
      }
    }
    return false;
  }

  private static String abbreviate(String text) {
    String t = text.length() <= 40 ? text : text.substring(0, 40) + "…";
    StringBuilder sb = new StringBuilder();
    t.codePoints().forEach(c -> {
      if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
        sb.append(String.format("\\u%04x", c));
      } else {
        sb.appendCodePoint(c);
      }
    });
    return sb.toString();
  }

  /** The padding id, as the class comment says. */
  static long padId(Path tokenizerJson) throws IOException {
    JsonNode root = readJson(tokenizerJson);
    JsonNode padding = root.path("padding");
    if (padding.path("pad_id").canConvertToLong()) {
      return padding.path("pad_id").asLong();
    }
    for (String sibling : List.of("tokenizer_config.json", "special_tokens_map.json")) {
      Path config = tokenizerJson.resolveSibling(sibling);
      if (Files.isRegularFile(config)) {
        JsonNode pad = readJson(config).path("pad_token");
        String token = pad.isTextual() ? pad.asText() : pad.path("content").isTextual() ? pad.path("content").asText() : null;
        if (token != null) {
          return tokenId(root, token).orElseThrow(() -> new IllegalArgumentException(
              config + " names pad token '" + token + "', which " + tokenizerJson + " does not have"));
        }
      }
    }
    for (String token : List.of("[PAD]", "<pad>", "<|endoftext|>")) {
      OptionalLong id = tokenId(root, token);
      if (id.isPresent()) {
        return id.getAsLong();
      }
    }
    return 0;
  }

  /** The id of {@code token} among the added tokens or in the model's vocabulary. */
  private static OptionalLong tokenId(JsonNode root, String token) {
    for (JsonNode added : root.path("added_tokens")) {
      if (token.equals(added.path("content").asText(null))) {
        return OptionalLong.of(added.path("id").asLong());
      }
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isObject() && vocab.has(token)) {
      return OptionalLong.of(vocab.get(token).asLong());
    }
    if (vocab.isArray()) { // Unigram: [[piece, score], ...], the id is the index
      for (int i = 0; i < vocab.size(); i++) {
        if (token.equals(vocab.get(i).path(0).asText(null))) {
          return OptionalLong.of(i);
        }
      }
    }
    return OptionalLong.empty();
  }

  private static JsonNode readJson(Path file) throws IOException {
    try {
      return JSON.readTree(file.toFile());
    } catch (JacksonException e) {
      throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }
}
