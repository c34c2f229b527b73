package dev.loupe.embeddings.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A model's {@code model.json}: its files with byte sizes and sha256 digests, where they come
 * from, and how to run it (tensor names, dimension, pooling, preprocessing and tokenizer files).
 *
 * <p>One manifest describes one embedding space: a CLIP or ImageBind model has a text and a
 * vision encoder producing comparable vectors; a passage embedder has only a text encoder.
 * Paths are relative to the model's folder and may not leave it.
 *
 * @param name short id used on the command line and in the index ({@code clip-vit-b32})
 * @param family how the encoders are run
 * @param description one line for {@code loupe models list}
 * @param dimension length of the output vectors
 * @param licence the licence of the weights
 * @param source where {@code loupe models pull} downloads the files from; null for a model that
 *     is installed only with {@code loupe models import}
 * @param files every file of the model, each verified by size and digest before use (a catalog
 *     entry may leave files unpinned: see {@link ModelFile})
 * @param text the text encoder, or null when the model takes no text
 * @param vision the image encoder, or null when the model takes no images
 */
public record ModelManifest(
    String name,
    Family family,
    String description,
    int dimension,
    String licence,
    Source source,
    List<ModelFile> files,
    TextEncoder text,
    VisionEncoder vision) {

  /** The file name of a manifest inside a model's folder. */
  public static final String FILE_NAME = "model.json";

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .build();

  /** How a model's encoders are run and pooled. */
  public enum Family {
    /** CLIP-style dual encoder: text and vision towers that output projected embeddings. */
    CLIP,
    /** ImageBind: one space for several modalities; Loupe uses its text and vision encoders. */
    IMAGEBIND,
    /** BERT-style passage encoder (MiniLM, bge): token states pooled by mean or CLS. */
    BERT;

    @com.fasterxml.jackson.annotation.JsonCreator
    static Family parse(String value) {
      try {
        return valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("model family '" + value + "' is not clip, imagebind or bert");
      }
    }

    @com.fasterxml.jackson.annotation.JsonValue
    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** How token states become one vector. */
  public enum Pooling {
    /** The output tensor is already one vector per input ({@code [batch, dim]}). */
    NONE,
    /** Mean of the token states where the attention mask is 1 ({@code [batch, seq, dim]}). */
    MEAN,
    /** The first token's state ({@code [batch, seq, dim]}). */
    CLS;

    @com.fasterxml.jackson.annotation.JsonCreator
    static Pooling parse(String value) {
      try {
        return valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("pooling '" + value + "' is not none, mean or cls");
      }
    }

    @com.fasterxml.jackson.annotation.JsonValue
    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Where the files come from.
   *
   * @param url base address; a file's address is this plus its path. {@code {revision}} is
   *     replaced by the revision.
   * @param revision the pinned commit of the source repository
   */
  public record Source(String url, String revision) {
    public Source {
      Objects.requireNonNull(url, "source.url");
      Objects.requireNonNull(revision, "source.revision");
      if (!url.startsWith("https://") && !url.startsWith("http://")) {
        throw new IllegalArgumentException("source url '" + url + "' is not an http(s) address");
      }
    }

    /** This source at another revision. */
    public Source withRevision(String revision) {
      return new Source(url, revision);
    }

    /** The download address of {@code file}. */
    public String urlOf(ModelFile file) {
      String base = url.replace("{revision}", revision);
      return base.endsWith("/") ? base + file.path() : base + "/" + file.path();
    }
  }

  /**
   * One file of a model.
   *
   * <p>A file is <em>pinned</em> when its size and digest are known, so a download or a copy
   * can be checked. Every installed model has only pinned files. A catalog entry may leave a
   * file unpinned (no {@code sha256}, and {@code bytes} absent in JSON or {@link #UNKNOWN_SIZE})
   * when this release does not know its digest; such a model is installed only on the user's
   * explicit trust, which records the digests it computed.
   *
   * @param path relative path inside the model folder, with forward slashes
   * @param bytes exact size, or {@link #UNKNOWN_SIZE} for an unpinned file whose size is unknown
   * @param sha256 lower-case hex digest of the content, or null when the file is unpinned
   */
  public record ModelFile(String path, long bytes, String sha256) {

    /** {@link #bytes} of an unpinned file whose size is not known. */
    public static final long UNKNOWN_SIZE = -1;

    public ModelFile {
      checkRelative(path);
      if (bytes < UNKNOWN_SIZE) {
        throw new IllegalArgumentException("file " + path + ": size " + bytes + " is negative");
      }
      if (sha256 != null && !SHA256.matcher(sha256).matches()) {
        throw new IllegalArgumentException("file " + path + ": sha256 '" + sha256 + "' is not 64 lower-case hex digits");
      }
      if (sha256 != null && bytes == UNKNOWN_SIZE) {
        throw new IllegalArgumentException("file " + path + " has a sha256 but no size; a pinned file needs both");
      }
    }

    /** Reads {@code bytes} as optional: JSON without it describes a file of unknown size. */
    @JsonCreator
    static ModelFile fromJson(
        @JsonProperty("path") String path,
        @JsonProperty("bytes") Long bytes,
        @JsonProperty("sha256") String sha256) {
      return new ModelFile(path, bytes == null ? UNKNOWN_SIZE : bytes, sha256);
    }

    /** Whether the size and digest are known, so the content can be checked. */
    public boolean pinned() {
      return sha256 != null;
    }
  }

  /**
   * The text encoder.
   *
   * @param onnx the ONNX file
   * @param tokenizer the Hugging Face {@code tokenizer.json}
   * @param contextLength tokens per input, padded or truncated to it (77 for CLIP)
   * @param inputIds name of the token id input ({@code int64 [batch, seq]})
   * @param attentionMask name of the attention mask input, fed only if the graph has it
   * @param tokenTypeIds name of the token type input, fed (as zeros) only if the graph has it
   * @param output name of the output to read
   * @param pooling how the output becomes one vector
   */
  public record TextEncoder(
      String onnx,
      String tokenizer,
      int contextLength,
      String inputIds,
      String attentionMask,
      String tokenTypeIds,
      String output,
      Pooling pooling) {
    public TextEncoder {
      checkRelative(onnx);
      checkRelative(tokenizer);
      if (contextLength < 2 || contextLength > 8192) {
        throw new IllegalArgumentException("text contextLength " + contextLength + " is outside [2, 8192]");
      }
      inputIds = inputIds == null ? "input_ids" : inputIds;
      attentionMask = attentionMask == null ? "attention_mask" : attentionMask;
      tokenTypeIds = tokenTypeIds == null ? "token_type_ids" : tokenTypeIds;
      Objects.requireNonNull(output, "text.output");
      Objects.requireNonNull(pooling, "text.pooling");
    }
  }

  /**
   * The image encoder.
   *
   * @param onnx the ONNX file
   * @param preprocessor the Hugging Face {@code preprocessor_config.json} (size, crop, mean, std)
   * @param input name of the pixel input ({@code float32 [batch, 3, height, width]})
   * @param output name of the output to read ({@code [batch, dim]})
   */
  public record VisionEncoder(String onnx, String preprocessor, String input, String output) {
    public VisionEncoder {
      checkRelative(onnx);
      checkRelative(preprocessor);
      input = input == null ? "pixel_values" : input;
      Objects.requireNonNull(output, "vision.output");
    }
  }

  public ModelManifest {
    checkName(name);
    Objects.requireNonNull(family, "family");
    if (dimension < 1 || dimension > 65536) {
      throw new IllegalArgumentException("model " + name + ": dimension " + dimension + " is outside [1, 65536]");
    }
    description = description == null ? "" : description;
    licence = licence == null ? "unknown" : licence;
    files = List.copyOf(files == null ? List.of() : files);
    if (text == null && vision == null) {
      throw new IllegalArgumentException("model " + name + " has neither a text nor a vision encoder");
    }
    if (family == Family.BERT && vision != null) {
      throw new IllegalArgumentException("model " + name + ": a bert model has no vision encoder");
    }
    Set<String> paths = new HashSet<>();
    for (ModelFile f : files) {
      if (!paths.add(f.path())) {
        throw new IllegalArgumentException("model " + name + " lists file " + f.path() + " twice");
      }
    }
    if (text != null) {
      requireListed(name, paths, text.onnx());
      requireListed(name, paths, text.tokenizer());
    }
    if (vision != null) {
      requireListed(name, paths, vision.onnx());
      requireListed(name, paths, vision.preprocessor());
    }
  }

  /** The listed file at {@code path}. */
  public ModelFile file(String path) {
    return files.stream().filter(f -> f.path().equals(path)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("model " + name + " has no file " + path));
  }

  /** Total size of the files in bytes, or {@link ModelFile#UNKNOWN_SIZE} if a file's size is unknown. */
  public long totalBytes() {
    if (files.stream().anyMatch(f -> f.bytes() == ModelFile.UNKNOWN_SIZE)) {
      return ModelFile.UNKNOWN_SIZE;
    }
    return files.stream().mapToLong(ModelFile::bytes).sum();
  }

  /** Whether every file is pinned by size and digest; only such a manifest is ever installed. */
  public boolean pinned() {
    return files.stream().allMatch(ModelFile::pinned);
  }

  /** This manifest with {@code files} in place of its own, the encoders unchanged. */
  public ModelManifest withFiles(List<ModelFile> files) {
    return new ModelManifest(name, family, description, dimension, licence, source, files, text, vision);
  }

  /** This manifest with another source, for example one pinned to the commit a download came from. */
  public ModelManifest withSource(Source source) {
    return new ModelManifest(name, family, description, dimension, licence, source, files, text, vision);
  }

  /** Reads and validates a manifest; the message of any error names the file. */
  public static ModelManifest read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return parse(in, file.toString());
    }
  }

  /** Parses and validates a manifest; {@code origin} names it in error messages. */
  public static ModelManifest parse(InputStream in, String origin) throws IOException {
    try {
      return JSON.readValue(in, ModelManifest.class);
    } catch (JacksonException e) {
      Throwable cause = e.getCause();
      String why = cause instanceof IllegalArgumentException iae ? iae.getMessage() : e.getOriginalMessage();
      throw new IllegalArgumentException(origin + " is not a valid model manifest: " + why, e);
    }
  }

  /** The manifest as pretty-printed JSON, as written into an installed model's folder. */
  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (JacksonException e) {
      throw new IllegalStateException("cannot write manifest of " + name, e);
    }
  }

  private static void requireListed(String name, Set<String> paths, String path) {
    if (!paths.contains(path)) {
      throw new IllegalArgumentException("model " + name + " uses " + path + " but does not list it under files");
    }
  }

  /** A model name: 1-64 of a-z 0-9 . _ - starting with a letter or digit, so it is also a safe folder name. */
  static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("model name '" + name + "' must be 1-64 of a-z 0-9 . _ - starting with a letter or digit");
    }
    return name;
  }

  /** A relative path that stays inside the model folder: no absolute paths, no {@code ..}, no backslashes. */
  static void checkRelative(String path) {
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("file path must not be empty");
    }
    if (path.startsWith("/") || path.contains("\\") || path.contains(":") || path.contains("\0")) {
      throw new IllegalArgumentException("file path '" + path + "' must be relative with forward slashes");
    }
    for (String part : path.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        throw new IllegalArgumentException("file path '" + path + "' may not contain empty, '.' or '..' parts");
      }
    }
  }
}
