package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.embeddings.model.ModelUnavailableException;
import dev.loupe.embeddings.text.Tokenizer;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI-compatible endpoints, so that existing OpenAI clients embed with Loupe's models unchanged:
 * {@code GET /v1/models}, {@code GET /v1/models/{id}} and {@code POST /v1/embeddings}.
 *
 * <p>The models served are those the ingest {@link Pipeline} opened (the passage model and the
 * CLIP model, when installed); requests share their embedders, so no request opens a session. The
 * models list also names the language model that answers {@code /v1/chat/completions} ({@link
 * ChatApi}), by its GGUF file name, when the server runs with one.
 *
 * <p>Loupe's extension: an input string that is a {@code data:image/...;base64,...} URL is decoded
 * as an image ({@link ImageDecoder}, with {@link #IMAGE_LIMITS}) and embedded with the image tower
 * of a model that takes images (CLIP); a text-only model refuses it with a 400.
 *
 * <p>{@code usage.prompt_tokens} counts the tokens each text made with the model's own tokenizer,
 * special tokens included, after truncation at its context length (what the model read); an image
 * counts 0 tokens.
 *
 * <p>Errors have OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}, with
 * Loupe's statuses: 400 a bad request, 404 an unknown model, 413 a body or image over the limits,
 * 415 a body that is not JSON or a data URL of an unsupported type, 503 a catalog model that is
 * not installed (the message has the command that installs it). Failures raised here are {@link
 * Failure}s, rendered by {@link #failure}; everything else under {@code /v1/} (auth, unknown
 * routes) reaches {@link Api#error}, which renders it with {@link #error} in the same shape.
 *
 * <p>Thread-safe: it holds only immutable state and thread-safe embedders and tokenizers.
 */
final class OpenAiApi {
  private static final Logger log = LoggerFactory.getLogger(OpenAiApi.class);

  /** The most inputs one request may carry. */
  static final int MAX_INPUTS = 256;
  /** The largest request body, in bytes: room for a few images as base64. */
  static final long MAX_BODY_BYTES = 32L << 20;
  /** The most an image of a data URL may cost: 16 MiB encoded, 40 megapixels decoded. */
  static final ImageDecoder.Limits IMAGE_LIMITS = new ImageDecoder.Limits(40_000_000L, 16L << 20);
  /** The media types a data URL may declare; the content itself is sniffed by the decoder. */
  static final Set<String> IMAGE_TYPES =
      Set.of("image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif", "image/bmp", "image/tiff");

  /** Who {@code owned_by} says owns the models. */
  static final String OWNER = "loupe";

  // Record components are named as OpenAI's wire format names its fields.

  /** One entry of {@code GET /v1/models}. */
  record ModelObject(String id, String object, long created, String owned_by) {}

  /** {@code GET /v1/models}. */
  record ModelList(String object, List<ModelObject> data) {}

  /** One vector of {@code POST /v1/embeddings}: {@code embedding} is a {@code float[]} or a base64 string. */
  record EmbeddingObject(String object, int index, Object embedding) {}

  /** Token counts of {@code POST /v1/embeddings}. */
  record Usage(int prompt_tokens, int total_tokens) {}

  /** {@code POST /v1/embeddings}. */
  record EmbeddingList(String object, List<EmbeddingObject> data, String model, Usage usage) {}

  /** OpenAI's error body. */
  record ErrorBody(Detail error) {}

  /** What an {@link ErrorBody} says; {@code param} and {@code code} may be null. */
  record Detail(String message, String type, String param, String code) {}

  /**
   * A request the endpoints refuse, with its HTTP status and what OpenAI's error body names: the
   * request field at fault ({@code param}) and a machine-readable {@code code}, either may be null.
   */
  static final class Failure extends RuntimeException {
    final int status;
    final String param;
    final String code;

    Failure(int status, String message, String param, String code) {
      super(message);
      this.status = status;
      this.param = param;
      this.code = code;
    }

    Failure(int status, String message, String param, String code, Throwable cause) {
      this(status, message, param, code);
      initCause(cause);
    }
  }

  /** A served model: its embedder, tokenizer (null when it reads no text) and install time. */
  private record Served(Embedder embedder, Tokenizer tokenizer, long created) {}

  /** Strings up to the whole body (a data URL of the largest image); Jackson's default stops at 20 MB. */
  private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxStringLength((int) MAX_BODY_BYTES).build())
      .build());

  private final Map<String, Served> served;
  private final ModelManager models;
  /** The language model of {@code /v1/chat/completions}, listed after the embedders; null without one. */
  private final ModelObject chatModel;
  private final ImageDecoder decoder = new ImageDecoder(IMAGE_LIMITS);

  /**
   * Serves {@code opened} (the pipeline's models; empty without a pipeline); {@code models} is
   * asked about the names it does not serve, to tell "not installed" from "unknown".
   */
  OpenAiApi(List<Pipeline.OpenModel> opened, ModelManager models) {
    this(opened, models, null);
  }

  /**
   * As {@link #OpenAiApi(List, ModelManager)}, also listing {@code chat} (the language model that
   * answers {@code /v1/chat/completions}, by its file name; null without one).
   */
  OpenAiApi(List<Pipeline.OpenModel> opened, ModelManager models, java.nio.file.Path chat) {
    this.chatModel = chat == null ? null : new ModelObject(chat.getFileName().toString(), "model", modifiedAt(chat), OWNER);
    Map<String, Served> map = new LinkedHashMap<>();
    for (Pipeline.OpenModel m : opened) {
      map.put(m.embedder().info().modelId(), new Served(m.embedder(), m.tokenizer(), installedAt(m)));
    }
    this.served = map;
    this.models = models;
  }

  /** A file's modification time in seconds since the epoch, 0 when it cannot be read. */
  private static long modifiedAt(java.nio.file.Path file) {
    try {
      return Files.getLastModifiedTime(file).toMillis() / 1000;
    } catch (IOException e) {
      return 0;
    }
  }

  /** The model folder's manifest time: when it was installed, in seconds since the epoch. */
  private static long installedAt(Pipeline.OpenModel m) {
    try {
      return Files.getLastModifiedTime(m.installed().dir().resolve("model.json")).toMillis() / 1000;
    } catch (IOException e) {
      return 0;
    }
  }

  /** Declares the routes. */
  static void routes(RoutesConfig routes, OpenAiApi api) {
    routes.get("/v1/models", api::listModels);
    routes.get("/v1/models/{id}", api::getModel);
    routes.post("/v1/embeddings", api::embeddings);
    routes.exception(Failure.class, OpenAiApi::failure);
  }

  void listModels(Context ctx) {
    List<ModelObject> data = new ArrayList<>();
    served.forEach((id, s) -> data.add(new ModelObject(id, "model", s.created(), OWNER)));
    if (chatModel != null) data.add(chatModel);
    ctx.json(new ModelList("list", data));
  }

  void getModel(Context ctx) {
    String id = ctx.pathParam("id");
    Served s = served.get(id);
    if (s == null && chatModel != null && chatModel.id().equals(id)) {
      ctx.json(chatModel);
      return;
    }
    if (s == null) {
      throw notServed(id, 404);
    }
    ctx.json(new ModelObject(id, "model", s.created(), OWNER));
  }

  void embeddings(Context ctx) throws IOException {
    JsonNode body = readBody(ctx);
    String model = text(body, "model", true);
    Served s = served.get(model);
    if (s == null) {
      throw notServed(model, 503);
    }
    Embedder embedder = s.embedder();
    String format = text(body, "encoding_format", false);
    boolean base64 = switch (format == null ? "float" : format) {
      case "float" -> false;
      case "base64" -> true;
      default -> throw new Failure(400, "encoding_format '" + format + "' is not float or base64", "encoding_format", null);
    };
    JsonNode dimensions = body.get("dimensions");
    if (dimensions != null && !dimensions.isNull()) {
      int dimension = embedder.info().dimension();
      if (!dimensions.isIntegralNumber() || dimensions.asLong() != dimension) {
        throw new Failure(400, "model " + model + " makes " + dimension + "-dimensional vectors and cannot shorten them;"
            + " dimensions " + dimensions + " is not supported (leave it out, or send " + dimension + ")", "dimensions", null);
      }
    }
    List<String> inputs = inputs(body.get("input"));
    List<Media> media = new ArrayList<>(inputs.size());
    List<String> texts = new ArrayList<>();
    List<Integer> textPositions = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      String input = inputs.get(i);
      if (isDataUrl(input)) {
        if (!embedder.info().accepts(Modality.IMAGE)) {
          throw new Failure(400, "input " + i + " is an image (a data URL), but model " + model
              + " takes text only; embed images with a model that takes them: " + imageModels(), "input", "image_not_supported");
        }
        media.add(new Media.Image(decodeDataUrl(input, i)));
      } else {
        if (!embedder.info().accepts(Modality.TEXT)) {
          throw new Failure(400, "input " + i + " is text, but model " + model + " takes images only (as data URLs)", "input", null);
        }
        media.add(new Media.Text(input));
        texts.add(input);
        textPositions.add(i);
      }
    }
    int tokens = 0;
    List<float[]> vectors;
    try {
      if (s.tokenizer() != null && !texts.isEmpty()) {
        for (int count : s.tokenizer().encode(texts, textPositions::get).tokenCounts()) {
          tokens += count;
        }
      }
      vectors = embedder.embedAll(media);
    } catch (IllegalArgumentException e) { // blank text, text of special tokens only: named by position
      throw new Failure(400, e.getMessage(), "input", null, e);
    }
    List<EmbeddingObject> data = new ArrayList<>(vectors.size());
    for (int i = 0; i < vectors.size(); i++) {
      data.add(new EmbeddingObject("embedding", i, base64 ? base64(vectors.get(i)) : vectors.get(i)));
    }
    ctx.json(new EmbeddingList("list", data, model, new Usage(tokens, tokens)));
  }

  /** The body as JSON, read up to {@link #MAX_BODY_BYTES}. */
  private static JsonNode readBody(Context ctx) throws IOException {
    String type = ctx.contentType();
    if (type != null && !type.toLowerCase(Locale.ROOT).strip().startsWith("application/json")) {
      throw new Failure(415, "the body must be JSON: send Content-Type: application/json, not " + type, null, "unsupported_media_type");
    }
    long length = ctx.req().getContentLengthLong();
    if (length > MAX_BODY_BYTES) {
      throw tooLarge(length + " bytes");
    }
    byte[] bytes;
    try (InputStream in = ctx.bodyInputStream()) {
      bytes = in.readNBytes((int) MAX_BODY_BYTES + 1);
    }
    if (bytes.length > MAX_BODY_BYTES) {
      throw tooLarge("more than " + MAX_BODY_BYTES + " bytes");
    }
    JsonNode body;
    try {
      body = JSON.readTree(bytes);
    } catch (JacksonException e) {
      throw new Failure(400, "the body is not valid JSON: " + e.getOriginalMessage(), null, null, e);
    }
    if (body == null || !body.isObject()) {
      throw new Failure(400, "the body must be a JSON object like {\"model\": \"clip-vit-b32\", \"input\": \"a red bicycle\"}", null, null);
    }
    return body;
  }

  private static Failure tooLarge(String size) {
    return new Failure(413, "the request body is " + size + ", over the limit of " + MAX_BODY_BYTES
        + " bytes; send fewer or smaller inputs per request", null, "request_too_large");
  }

  /** The string field {@code name}; null when absent and not {@code required}. */
  private static String text(JsonNode body, String name, boolean required) {
    JsonNode node = body.get(name);
    if (node == null || node.isNull()) {
      if (required) {
        throw new Failure(400, "the body has no '" + name + "'", name, null);
      }
      return null;
    }
    if (!node.isTextual()) {
      throw new Failure(400, "'" + name + "' must be a string, not " + node.getNodeType().name().toLowerCase(Locale.ROOT), name, null);
    }
    return node.asText();
  }

  /** {@code input} as a list of strings: one string, or an array of strings. */
  private static List<String> inputs(JsonNode input) {
    if (input == null || input.isNull()) {
      throw new Failure(400, "the body has no 'input': give a string or an array of strings", "input", null);
    }
    if (input.isTextual()) {
      return List.of(input.asText());
    }
    if (!input.isArray()) {
      throw new Failure(400, "'input' must be a string or an array of strings", "input", null);
    }
    if (input.isEmpty()) {
      throw new Failure(400, "'input' is an empty array: give at least one string", "input", null);
    }
    if (input.size() > MAX_INPUTS) {
      throw new Failure(400, "'input' has " + input.size() + " items, over the limit of " + MAX_INPUTS
          + " per request; send them in several requests", "input", null);
    }
    List<String> strings = new ArrayList<>(input.size());
    for (int i = 0; i < input.size(); i++) {
      JsonNode item = input.get(i);
      if (item.isTextual()) {
        strings.add(item.asText());
      } else if (item.isNumber() || item.isArray()) {
        throw new Failure(400, "input " + i + " is token ids: token ids are not supported, since each model has its own"
            + " tokenizer; send the text itself", "input", "token_ids_not_supported");
      } else {
        throw new Failure(400, "input " + i + " is " + item.getNodeType().name().toLowerCase(Locale.ROOT)
            + ", not a string", "input", null);
      }
    }
    return strings;
  }

  private static boolean isDataUrl(String input) {
    return input.regionMatches(true, 0, "data:", 0, 5);
  }

  /** Decodes {@code data:image/TYPE[;...];base64,DATA}; the pixels come from the content, whatever TYPE says. */
  private RgbImage decodeDataUrl(String url, int position) {
    int comma = url.indexOf(',');
    if (comma < 0) {
      throw new Failure(400, "input " + position + " is a data URL without a ',' before its data", "input", null);
    }
    String[] header = url.substring(5, comma).split(";");
    String type = header[0].strip().toLowerCase(Locale.ROOT);
    if (!IMAGE_TYPES.contains(type)) {
      throw new Failure(415, "input " + position + " is a data URL of type '" + type + "'; only images are embedded ("
          + String.join(", ", IMAGE_TYPES.stream().sorted().toList()) + ")", "input", "unsupported_media_type");
    }
    if (!type.equals("image/jpg") && !ImageIO.getImageReadersByMIMEType(type).hasNext()) {
      throw new Failure(415, "input " + position + " is " + type + ", which this server cannot decode", "input", "unsupported_media_type");
    }
    boolean isBase64 = false;
    for (int i = 1; i < header.length; i++) {
      isBase64 |= header[i].strip().equalsIgnoreCase("base64");
    }
    if (!isBase64) {
      throw new Failure(400, "input " + position + " is a data URL that is not base64: write it as data:" + type + ";base64,...", "input", null);
    }
    String data = url.substring(comma + 1);
    long bytes = data.length() / 4L * 3;
    if (bytes > IMAGE_LIMITS.maxBytes() + 3) {
      throw new Failure(413, "input " + position + " is an image of about " + bytes + " bytes, over the limit of "
          + IMAGE_LIMITS.maxBytes() + " bytes for one image", "input", "image_too_large");
    }
    byte[] encoded;
    try {
      encoded = Base64.getMimeDecoder().decode(data);
    } catch (IllegalArgumentException e) {
      throw new Failure(400, "input " + position + " is a data URL whose base64 is malformed: " + e.getMessage(), "input", null, e);
    }
    if (encoded.length > IMAGE_LIMITS.maxBytes()) {
      throw new Failure(413, "input " + position + " is an image of " + encoded.length + " bytes, over the limit of "
          + IMAGE_LIMITS.maxBytes() + " bytes for one image", "input", "image_too_large");
    }
    try {
      return decoder.decode(encoded, "input " + position + " (" + type + ")");
    } catch (IllegalArgumentException e) {
      throw new Failure(400, e.getMessage(), "input", "invalid_image", e);
    }
  }

  /** Little-endian float32s, base64: what OpenAI's {@code encoding_format: base64} answers. */
  static String base64(float[] vector) {
    ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(vector);
    return Base64.getEncoder().encodeToString(bytes.array());
  }

  private String imageModels() {
    List<String> names = served.entrySet().stream()
        .filter(e -> e.getValue().embedder().info().accepts(Modality.IMAGE)).map(Map.Entry::getKey).toList();
    return names.isEmpty() ? "none is installed (" + models.fixCommand(Pipeline.VISUAL_MODEL) + " installs CLIP)" : String.join(", ", names);
  }

  /**
   * Why {@code id} is not served: a catalog model that is not installed (or damaged) is {@code
   * unavailable} (503 for embeddings, which could work once installed), with the command that
   * installs it; any other name is unknown (404).
   */
  private Failure notServed(String id, int unavailable) {
    String serving = served.isEmpty() ? "this server serves no model yet" : "this server serves " + String.join(", ", served.keySet());
    boolean known;
    try {
      known = models.catalog().find(id).isPresent() || models.status(id) instanceof ModelManager.Status.Installed;
    } catch (IllegalArgumentException | IOException e) { // not a model name at all, or its folder cannot be read
      known = false;
    }
    if (!known) {
      return new Failure(404, "The model '" + id + "' does not exist; " + serving, "model", "model_not_found");
    }
    try {
      models.installedModel(id);
    } catch (ModelUnavailableException e) {
      return new Failure(unavailable, e.getMessage(), "model", "model_not_installed");
    } catch (IOException e) {
      log.warn("cannot check model {}: {}", id, e.toString());
      return new Failure(unavailable, "model " + id + " cannot be checked: " + e.getMessage(), "model", "model_not_installed");
    }
    boolean loadable = id.equals(Pipeline.TEXT_MODEL) || id.equals(Pipeline.VISUAL_MODEL);
    return new Failure(unavailable, "model " + id + " is installed but this server has not loaded it (" + serving + "); "
        + (loadable ? "restart ./loupe serve to load it" : "it loads only " + Pipeline.TEXT_MODEL + " and " + Pipeline.VISUAL_MODEL),
        "model", "model_not_loaded");
  }

  /** Renders a {@link Failure}. */
  static void failure(Failure f, Context ctx) {
    if (f.status >= 500) {
      log.warn("{} {}: {} {}", ctx.method(), ctx.path(), f.status, f.getMessage());
    }
    ctx.status(f.status).json(body(f.status, f.getMessage(), f.param, f.code));
  }

  /** Renders an error {@link Api#error} mapped, under {@code /v1/}, in OpenAI's shape. */
  static void error(Context ctx, int status, String message) {
    String code = switch (status) {
      case 401 -> "invalid_api_key";
      case 403 -> "permission_denied";
      case 404 -> "not_found";
      default -> null;
    };
    ctx.status(status).json(body(status, message, null, code));
  }

  private static ErrorBody body(int status, String message, String param, String code) {
    String type = switch (status) {
      case 401 -> "authentication_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
    return new ErrorBody(new Detail(message, type, param, code));
  }
}
