package dev.loupe.http;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API: every route, its handler and the one mapping from exceptions to status codes.
 * Handlers are thread-safe; they run on virtual threads and share only the thread-safe store.
 */
final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);

  /** {@code GET /api/health}. */
  record Health(String status, String version, StoreStatus store, String data, String watch) {}

  /** The store part of {@link Health}. */
  record StoreStatus(String kind, int items, int dimension, Similarity similarity) {}

  /** Every error response: a message for people and the HTTP status repeated for scripts. */
  record ErrorBody(String error, int status) {}

  private final ServerConfig config;
  private final Store store;

  Api(ServerConfig config, Store store) {
    this.config = config;
    this.store = store;
  }

  /** Declares every route. */
  static void routes(RoutesConfig routes, Api api) {
    routes.get("/api/health", api::health);
    // Javalin maps HttpResponseException (unknown routes among them) itself unless told;
    // both registrations lead to the same method.
    routes.exception(HttpResponseException.class, Api::error);
    routes.exception(Exception.class, Api::error);
  }

  void health(Context ctx) {
    IndexSpec spec = store.index().spec();
    ctx.json(
        new Health(
            "ok",
            Version.NUMBER,
            new StoreStatus(store.kind(), store.index().size(), spec.dimension(), spec.similarity()),
            config.dataDir().toString(),
            config.watchDir().toString()));
  }

  /** The one place exceptions become status codes; unknown routes arrive here as 404s. */
  static void error(Exception e, Context ctx) {
    int status =
        switch (e) {
          case HttpResponseException h -> h.getStatus();
          case IllegalArgumentException _ -> 400;
          default -> 500;
        };
    String message;
    if (status >= 500) {
      log.error("{} {} failed", ctx.method(), ctx.path(), e);
      message = "internal error; the server log has the details";
    } else if (status == 404 && e instanceof HttpResponseException) {
      message = "no route " + ctx.method() + " " + ctx.path();
    } else {
      message = e.getMessage();
    }
    ctx.status(status).json(new ErrorBody(message, status));
  }
}
