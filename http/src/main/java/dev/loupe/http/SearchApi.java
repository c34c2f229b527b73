package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.indexer.extract.MediaTypes;
import dev.loupe.rag.search.ItemTypes;
import dev.loupe.rag.search.Query;
import dev.loupe.rag.search.SearchMode;
import dev.loupe.rag.search.SearchRequest;
import dev.loupe.rag.search.SearchResult;
import dev.loupe.rag.search.SearchUnavailableException;
import dev.loupe.rag.search.Searcher;
import dev.loupe.vectorstore.Metadata;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The search routes: {@code GET|POST /api/search}, {@code GET /api/items/{id}} and the item's
 * {@code /thumbnail} and {@code /content}. Files are only ever found from an item id through the
 * indexes and the journal, never from a path in the request.
 *
 * <p>Thread-safe: holds only the thread-safe {@link Searcher} and immutable configuration.
 */
final class SearchApi {
  /** Largest image a query may upload. */
  static final int MAX_IMAGE_BYTES = 20 << 20;
  /** Largest JSON body: an image of {@link #MAX_IMAGE_BYTES} in base64, and room for the rest. */
  static final int MAX_JSON_BYTES = MAX_IMAGE_BYTES / 3 * 4 + (64 << 10);

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ITEM_ID = Pattern.compile("([0-9a-f]{64})#([0-9]{1,9})");
  private static final String MULTIPART_CONFIG = "org.eclipse.jetty.multipartConfig";

  /** {@code GET|POST /api/search}. {@code took_ms} is the search's own time, query embedding included. */
  record SearchResponse(List<HitView> hits, int k, int offset, boolean more, double took_ms, List<SideView> sides) {}

  /**
   * One hit. {@code score} is the item's own-space score (cosine, BM25 or fusion; not comparable
   * across types), {@code rank} the fused position; {@code snippet} is plain text and {@code
   * highlights} the {@code [start, end)} offsets of the query terms in it; {@code thumbnail} a URL.
   */
  record HitView(String id, String type, float score, int rank, String path, List<String> paths, int page,
      long timestamp, String snippet, List<int[]> highlights, String thumbnail, Map<String, String> fields) {}

  /** What one space did; {@code fix} is the command that installs the missing model. */
  record SideView(String space, String method, String note, String fix) {}

  /** {@code GET /api/items/{id}}: {@code text} is the passage's text (a visual's file name). */
  record ItemView(String id, String type, String path, List<String> paths, int page, long timestamp, String text,
      String thumbnail, String content, Map<String, String> fields) {}

  private final Searcher searcher;
  private final Path dataDir;
  private final ModelManager models;
  private final ImageDecoder decoder = new ImageDecoder();

  /** {@code searcher} is null when the server runs without an ingest pipeline; search then answers 503. */
  SearchApi(Searcher searcher, Path dataDir, ModelManager models) {
    this.searcher = searcher;
    this.dataDir = dataDir.toAbsolutePath().normalize();
    this.models = models;
  }

  static void routes(RoutesConfig routes, SearchApi api) {
    routes.get("/api/search", api::searchGet);
    routes.post("/api/search", api::searchPost);
    routes.get("/api/items/{id}", api::item);
    routes.get("/api/items/{id}/thumbnail", api::thumbnail);
    routes.get("/api/items/{id}/content", api::content);
  }

  // ---------------------------------------------------------------------------------- search

  /** {@code GET /api/search?q=&similar_to=&k=&offset=&types=&path=&from=&to=&min_score=&mode=}. */
  void searchGet(Context ctx) {
    String q = ctx.queryParam("q");
    String similar = ctx.queryParam("similar_to");
    Query query = query(q, similar, null);
    answer(ctx, request(query, ctx::queryParam));
  }

  /**
   * {@code POST /api/search}: a JSON body {@code {"q" | "similar_to" | "image": ..., "k": ...}}
   * (the image base64 or a data URL), or a multipart form with an image file part and the
   * parameters as fields.
   */
  void searchPost(Context ctx) throws IOException, ServletException {
    String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
    long length = ctx.req().getContentLengthLong();
    if (type.startsWith("multipart/form-data")) {
      if (length > MAX_IMAGE_BYTES + (64 << 10)) throw tooLarge(length);
      ctx.req().setAttribute(MULTIPART_CONFIG, new MultipartConfigElement(
          System.getProperty("java.io.tmpdir"), MAX_IMAGE_BYTES, MAX_IMAGE_BYTES + (64 << 10), 1 << 20));
      List<Part> parts;
      try {
        parts = new ArrayList<>(ctx.req().getParts());
      } catch (IllegalStateException e) { // Jetty's answer to a part or request over the limits
        throw tooLarge(length);
      }
      Part file = parts.stream().filter(p -> p.getSubmittedFileName() != null).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("the multipart form has no file part; send the image as one"));
      if (file.getSize() > MAX_IMAGE_BYTES) throw tooLarge(file.getSize());
      byte[] bytes;
      try (InputStream in = file.getInputStream()) {
        bytes = in.readAllBytes();
      }
      Query query = new Query.Image(decode(bytes, "uploaded file '" + file.getSubmittedFileName() + "'"));
      answer(ctx, request(query, ctx::formParam));
      return;
    }
    if (!type.isEmpty() && !type.startsWith("application/json")) {
      throw new HttpError(415, "content type '" + ctx.contentType()
          + "' is not accepted; send application/json or multipart/form-data");
    }
    if (length > MAX_JSON_BYTES) throw tooLarge(length);
    byte[] body;
    try (InputStream in = ctx.req().getInputStream()) {
      body = in.readNBytes(MAX_JSON_BYTES + 1);
    }
    if (body.length > MAX_JSON_BYTES) throw tooLarge(body.length);
    JsonNode json;
    try {
      json = JSON.readTree(body);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("the body is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (json == null || !json.isObject()) {
      throw new IllegalArgumentException("the body must be a JSON object like {\"q\": \"red bicycle\"}");
    }
    RgbImage image = null;
    if (json.hasNonNull("image")) {
      image = decode(base64(json.get("image").asText()), "the image in the body");
    }
    Query query = query(text(json, "q"), text(json, "similar_to"), image);
    answer(ctx, request(query, name -> text(json, name)));
  }

  private void answer(Context ctx, SearchRequest request) {
    Searcher s = searcher();
    SearchResult result;
    try {
      result = s.search(request);
    } catch (SearchUnavailableException e) {
      throw new HttpError(503, e.getMessage()
          + (e.model() == null ? "" : "; install it with " + models.fixCommand(e.model())));
    } catch (NoSuchElementException e) {
      throw new HttpError(404, e.getMessage());
    }
    List<HitView> hits = result.hits().stream().map(h -> new HitView(h.id(), h.type(), h.score(), h.rank(), h.path(),
        h.paths(), h.page(), h.timestamp(), h.snippet(), h.highlights(),
        h.thumbnail() == null ? null : itemUrl(h.id()) + "/thumbnail", h.fields())).toList();
    List<SideView> sides = result.sides().stream().map(side -> new SideView(side.space(), side.method(), side.note(),
        side.modelMissing() ? models.fixCommand(side.space().equals("text") ? Pipeline.TEXT_MODEL : Pipeline.VISUAL_MODEL)
            : null)).toList();
    ctx.json(new SearchResponse(hits, request.k(), request.offset(), result.more(), result.tookMillis(), sides));
  }

  /** Exactly one of the three kinds of query. */
  private static Query query(String q, String similarTo, RgbImage image) {
    int given = (q != null ? 1 : 0) + (similarTo != null ? 1 : 0) + (image != null ? 1 : 0);
    if (given != 1) {
      throw new IllegalArgumentException(given == 0
          ? "say what to search for: q (text), similar_to (an item id) or an image"
          : "give only one of q, similar_to and image");
    }
    if (q != null) return new Query.Text(q);
    if (similarTo != null) return new Query.Similar(similarTo);
    return new Query.Image(image);
  }

  /** The request's parameters, read by name from the query string, the form or the JSON body. */
  static SearchRequest request(Query query, Function<String, String> param) {
    int k = integer(param, "k", SearchRequest.DEFAULT_K);
    int offset = integer(param, "offset", 0);
    Set<String> types = new LinkedHashSet<>();
    String typeList = param.apply("types");
    if (typeList != null) {
      for (String t : typeList.split(",")) {
        if (!t.isBlank()) types.add(wrap("types", typeList, () -> ItemTypes.indexType(t)));
      }
    }
    Long from = date(param, "from", false);
    Long to = date(param, "to", true);
    if (from != null && to != null && from > to) {
      throw new IllegalArgumentException("from '" + param.apply("from") + "' is after to '" + param.apply("to") + "'");
    }
    String min = param.apply("min_score");
    Float minScore = min == null || min.isBlank() ? null : wrap("min_score", min, () -> {
      float f = Float.parseFloat(min.strip());
      if (!Float.isFinite(f)) throw new NumberFormatException();
      return f;
    });
    String mode = param.apply("mode");
    SearchMode searchMode = mode == null || mode.isBlank() ? SearchMode.HYBRID : SearchMode.parse(mode);
    String path = param.apply("path");
    try {
      return new SearchRequest(query, k, offset, types, path, from, to, minScore, searchMode);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad search parameter: " + e.getMessage(), e);
    }
  }

  private static int integer(Function<String, String> param, String name, int otherwise) {
    String v = param.apply(name);
    return v == null || v.isBlank() ? otherwise : wrap(name, v, () -> Integer.parseInt(v.strip()));
  }

  /** Epoch milliseconds, an ISO instant, or an ISO date (its first or, for {@code to}, last millisecond, UTC). */
  static Long date(Function<String, String> param, String name, boolean end) {
    String v = param.apply(name);
    if (v == null || v.isBlank()) return null;
    String s = v.strip();
    if (s.matches("-?[0-9]{1,19}")) return wrap(name, v, () -> Long.parseLong(s));
    try {
      if (s.length() == 10) {
        LocalDate d = LocalDate.parse(s);
        return end ? d.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli() - 1
            : d.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
      }
      return Instant.parse(s).toEpochMilli();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(name + " '" + v
          + "' is not a date: give epoch milliseconds, 2024-05-31 or 2024-05-31T12:00:00Z");
    }
  }

  private interface Parse<T> {
    T get();
  }

  private static <T> T wrap(String name, String value, Parse<T> parse) {
    try {
      return parse.get();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " '" + value + "' is not a number");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + " '" + value + "': " + e.getMessage(), e);
    }
  }

  private static String text(JsonNode json, String name) {
    JsonNode v = json.get(name);
    if (v == null || v.isNull()) return null;
    if (v.isArray()) { // "types": ["image", "page"]
      List<String> all = new ArrayList<>();
      v.forEach(e -> all.add(e.asText()));
      return String.join(",", all);
    }
    if (v.isContainerNode()) {
      throw new IllegalArgumentException("'" + name + "' must be a string or a number, not " + v.getNodeType());
    }
    return v.asText();
  }

  /** The bytes of base64 text or of a {@code data:...;base64,} URL. */
  private static byte[] base64(String value) {
    String s = value.strip();
    if (s.startsWith("data:")) {
      int comma = s.indexOf(',');
      if (comma < 0 || !s.substring(0, comma).endsWith(";base64")) {
        throw new IllegalArgumentException("image data URL must be base64: data:image/png;base64,...");
      }
      s = s.substring(comma + 1);
    }
    byte[] bytes;
    try {
      bytes = Base64.getMimeDecoder().decode(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("image is not valid base64: " + e.getMessage(), e);
    }
    if (bytes.length > MAX_IMAGE_BYTES) throw tooLarge(bytes.length);
    return bytes;
  }

  /** Decodes an uploaded image; anything that does not decode is unsupported media, whatever it claims to be. */
  private RgbImage decode(byte[] bytes, String source) {
    try {
      return decoder.decode(bytes, source);
    } catch (IllegalArgumentException e) {
      throw new HttpError(415, source + " is not an image Loupe can decode (JPEG, PNG, GIF, BMP, WebP, TIFF): "
          + e.getMessage());
    }
  }

  private static HttpError tooLarge(long bytes) {
    return new HttpError(413, "the upload of " + bytes + " bytes is over the limit of " + MAX_IMAGE_BYTES
        + " bytes for a query image");
  }

  // ---------------------------------------------------------------------------------- items

  /** {@code GET /api/items/{id}}: the item's metadata and the files that hold it now. */
  void item(Context ctx) {
    String id = ctx.pathParam("id");
    Metadata m = indexed(id);
    String thumb = m.fields().get("thumbnail");
    ctx.json(new ItemView(id, ItemTypes.shown(m.type()), searcher.currentPaths(id, m).getFirst(),
        searcher.currentPaths(id, m), m.page(), m.timestamp(), m.text(),
        thumb == null ? null : itemUrl(id) + "/thumbnail", itemUrl(id) + "/content", m.fields()));
  }

  /** {@code GET /api/items/{id}/thumbnail}: the JPEG the ingester wrote, found from the id alone. */
  void thumbnail(Context ctx) throws IOException {
    String id = ctx.pathParam("id");
    Metadata m = indexed(id);
    var match = ITEM_ID.matcher(id);
    String expected = match.matches() ? "thumbs/" + match.group(1) + "/" + Integer.parseInt(match.group(2)) + ".jpg" : null;
    if (expected == null || !expected.equals(m.fields().get("thumbnail"))) {
      throw new HttpError(404, "item '" + id + "' has no thumbnail");
    }
    Path file = dataDir.resolve(expected);
    if (!file.normalize().startsWith(dataDir.resolve("thumbs")) || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new HttpError(404, "the thumbnail of item '" + id + "' is gone");
    }
    ctx.header("Cache-Control", "private, max-age=3600");
    ctx.header("X-Content-Type-Options", "nosniff");
    ctx.contentType("image/jpeg");
    ctx.result(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS));
  }

  /**
   * {@code GET /api/items/{id}/content}: the first file that holds the item's content now, as the
   * journal knows it, with its sniffed media type. Served sandboxed, so an HTML or SVG file cannot
   * run script in this origin.
   */
  void content(Context ctx) throws IOException {
    String id = ctx.pathParam("id");
    Metadata m = indexed(id);
    for (String p : searcher.currentPaths(id, m)) {
      Path file = Path.of(p);
      // Not through a link: a file replaced by a link out of the watch folders is not indexed content.
      if (!file.isAbsolute() || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) continue;
      // Nor through a folder swapped for a link: the ingester records files under their folder's
      // real path, so a folder that resolves elsewhere now is not the one that was indexed.
      if (!realFolder(file)) continue;
      ctx.header("X-Content-Type-Options", "nosniff");
      ctx.header("Content-Security-Policy", "sandbox");
      String name = file.getFileName().toString().replaceAll("[^A-Za-z0-9._ -]", "_");
      ctx.header("Content-Disposition", "inline; filename=\"" + name + "\"");
      ctx.contentType(MediaTypes.detect(file));
      sendRange(ctx, file);
      return;
    }
    throw new HttpError(404, "the files of item '" + id + "' are gone: " + searcher.currentPaths(id, m));
  }

  /**
   * Sends {@code file}, or the byte range the request asks for (206, so a browser can seek in a
   * video to a frame's {@code #t=} and fetch a PDF's pages), opened with {@code O_NOFOLLOW}: no
   * link swapped in since the caller's check.
   */
  private static void sendRange(Context ctx, Path file) throws IOException {
    SeekableByteChannel channel = Files.newByteChannel(file, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
    long size = channel.size();
    ctx.header("Accept-Ranges", "bytes");
    switch (ByteRange.parse(ctx.header("Range"), size)) {
      case ByteRange.Whole w -> {
        ctx.header("Content-Length", Long.toString(size));
        ctx.result(Channels.newInputStream(channel));
      }
      case ByteRange.Part(ByteRange r) -> {
        channel.position(r.first());
        ctx.status(206);
        ctx.header("Content-Range", r.contentRange(size));
        ctx.header("Content-Length", Long.toString(r.length()));
        ctx.result(new BoundedInputStream(Channels.newInputStream(channel), r.length()));
      }
      case ByteRange.Unsatisfiable u -> {
        channel.close();
        ctx.header("Content-Range", "bytes */" + size);
        throw new HttpError(416, "the range '" + ctx.header("Range") + "' lies beyond the file's " + size + " bytes");
      }
    }
  }

  /** At most {@code limit} bytes of {@code in}. */
  private static final class BoundedInputStream extends java.io.FilterInputStream {
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) return -1;
      int b = in.read();
      if (b >= 0) left--;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) return -1;
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) left -= n;
      return n;
    }
  }

  /** Whether {@code file}'s folder is still its own real path (no link anywhere above the file). */
  private static boolean realFolder(Path file) {
    try {
      return file.getParent().toRealPath().equals(file.getParent());
    } catch (IOException e) {
      return false;
    }
  }

  /** The item {@code id} from either index; 404 for an id no index holds. */
  private Metadata indexed(String id) {
    return searcher().item(id).orElseThrow(() -> new HttpError(404, "no indexed item has the id '" + id + "'"));
  }

  private Searcher searcher() {
    if (searcher == null) {
      throw new HttpError(503, "this server runs no search pipeline");
    }
    return searcher;
  }

  /** {@code /api/items/<id>}, the id percent-encoded ({@code #} is {@code %23}). */
  static String itemUrl(String id) {
    return "/api/items/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
