package dev.loupe.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code GET /openapi.json}: the hand-written OpenAPI 3.1 description of every route, a class-path
 * resource next to this class. {@code OpenApiTest} compares it with the routes the server
 * registers, so it cannot drift from them unnoticed.
 *
 * <p>Thread-safe: the document is read once into an immutable byte array.
 */
final class OpenApi {
  /** The resource's name, relative to this class. */
  static final String RESOURCE = "openapi.json";

  private static final byte[] DOCUMENT = load();

  private OpenApi() {}

  /** The document's bytes (UTF-8 JSON), as served. */
  static byte[] document() {
    return DOCUMENT.clone();
  }

  static void serve(Context ctx) {
    ctx.contentType("application/json").result(DOCUMENT);
  }

  private static byte[] load() {
    try (InputStream in = OpenApi.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the class path lacks dev/loupe/http/" + RESOURCE + "; rebuild the http module");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dev/loupe/http/" + RESOURCE + " from the class path", e);
    }
  }
}
