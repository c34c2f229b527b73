package dev.loupe.http;

import dev.loupe.embeddings.model.ModelCatalog;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.indexer.IngestStatus;
import dev.loupe.indexer.Ingester;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API: every route, its handler and the one mapping from exceptions to status codes.
 * Handlers are thread-safe; they run on virtual threads and share only the thread-safe store.
 */
final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);

  /** {@code GET /api/health}. */
  record Health(
      String status, String version, StoreStatus store, String data, List<String> watch, ModelsStatus models) {}

  /** The store part of {@link Health}. */
  record StoreStatus(String kind, int items, int dimension, Similarity similarity) {}

  /** The models part of {@link Health}: where models live and whether the default CLIP model is usable. */
  record ModelsStatus(String dir, ModelStatus clip) {}

  /**
   * One model's part of {@link Health}. When it is not installed, {@code fix} is the command that
   * installs it and {@code message} says, for people (and the page), what works meanwhile.
   */
  record ModelStatus(String name, boolean installed, String status, String fix, String message) {}

  /**
   * {@code GET /api/ingest/status}: the ingest pipeline's counts (see {@link IngestStatus});
   * {@code etaSeconds} is null while no rate is known.
   */
  record IngestView(String state, int seen, int pending, int done, int failed, java.util.Map<String, Integer> failedByReason,
      long items, double filesPerSecond, double itemsPerSecond, Long etaSeconds) {
    static IngestView of(IngestStatus s) {
      return new IngestView(s.state().name().toLowerCase(java.util.Locale.ROOT), s.seen(), s.pending(), s.done(), s.failed(),
          s.failedByReason(), s.items(), s.filesPerSecond(), s.itemsPerSecond(), s.eta() == null ? null : s.eta().toSeconds());
    }
  }

  /** One entry of {@code GET /api/ingest/failures}: a failed file, its reason ({@code corrupt}, {@code io}, …) and message. */
  record FailureView(String path, String reason, String message) {}

  /** Every error response: a message for people and the HTTP status repeated for scripts. */
  record ErrorBody(String error, int status) {}

  private final ServerConfig config;
  private final Store store;
  private final ModelManager models;
  private final Ingester ingest;
  private final SearchApi search;

  /** {@code ingest} is the running pipeline, or null when the server runs without one. */
  Api(ServerConfig config, Store store, ModelManager models, Ingester ingest) {
    this(config, store, models, ingest, new SearchApi(null, config.dataDir(), models));
  }

  /** As above, with the search routes' handlers. */
  Api(ServerConfig config, Store store, ModelManager models, Ingester ingest, SearchApi search) {
    this.config = config;
    this.store = store;
    this.models = models;
    this.ingest = ingest;
    this.search = search;
  }

  /** Declares every route. */
  static void routes(RoutesConfig routes, Api api) {
    routes.get("/api/health", api::health);
    routes.get("/openapi.json", OpenApi::serve);
    routes.get("/api/ingest/status", api::ingestStatus);
    routes.get("/api/status", api::ingestStatus); // the name for the same answer
    routes.get("/api/ingest/failures", api::ingestFailures);
    routes.post("/api/ingest/pause", api::ingestPause);
    routes.post("/api/ingest/resume", api::ingestResume);
    routes.post("/api/ingest/retry", api::ingestRetry);
    routes.post("/api/files/retry", api::ingestRetry); // the name for the same action
    SearchApi.routes(routes, api.search);
    UploadApi.routes(routes, UploadApi.of(api.config, api.ingest));
    // Javalin maps HttpResponseException (unknown routes among them) itself unless told;
    // both registrations lead to the same method.
    routes.exception(HttpResponseException.class, Api::error);
    routes.exception(Exception.class, Api::error);
  }

  void ingestStatus(Context ctx) {
    ctx.json(IngestView.of(ingester().status()));
  }

  /** {@code GET /api/ingest/failures}: the files that failed, sorted by path. */
  void ingestFailures(Context ctx) {
    ctx.json(ingester().failures().stream()
        .map(f -> new FailureView(f.path(), f.failure().reason(), f.failure().message()))
        .toList());
  }

  /** {@code POST /api/ingest/pause}: files in flight finish, no new one starts; answers the status. */
  void ingestPause(Context ctx) {
    ingester().pause();
    ctx.json(IngestView.of(ingest.status()));
  }

  /** {@code POST /api/ingest/resume}: takes files again; answers the status. */
  void ingestResume(Context ctx) {
    ingester().resume();
    ctx.json(IngestView.of(ingest.status()));
  }

  /** {@code POST /api/ingest/retry} with {@code {"path": "/abs/file"}}: a failed file inside a watch folder, again. */
  void ingestRetry(Context ctx) throws IOException, InterruptedException {
    Ingester ingester = ingester();
    RetryRequest request;
    try {
      request = BODIES.readValue(ctx.body(), RetryRequest.class);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException("the body must be JSON like {\"path\": \"/absolute/file\"}: " + e.getOriginalMessage(), e);
    }
    if (request == null || request.path() == null || request.path().isBlank()) {
      throw new IllegalArgumentException("the body must name the file: {\"path\": \"/absolute/file\"}");
    }
    Path path = Path.of(request.path());
    if (!path.isAbsolute() || !path.normalize().equals(path)) {
      throw new IllegalArgumentException("path '" + request.path() + "' must be absolute and normalized");
    }
    if (config.watchDirs().stream().noneMatch(path::startsWith)) {
      throw new IllegalArgumentException("path '" + request.path() + "' is not inside a watch folder " + config.watchDirs());
    }
    if (!java.nio.file.Files.isRegularFile(path)) {
      throw new java.nio.file.NoSuchFileException(request.path(), null, "no such file in the watch folders");
    }
    ctx.json(new RetryAnswer(request.path(), ingester.retry(path).name().toLowerCase(java.util.Locale.ROOT)));
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper BODIES = new com.fasterxml.jackson.databind.ObjectMapper();

  /** The body of {@code POST /api/ingest/retry}. */
  record RetryRequest(String path) {}

  /** What a retry did: {@code ingest} (queued again), {@code hash} (read again) or {@code unchanged} (it had not failed). */
  record RetryAnswer(String path, String action) {}

  private Ingester ingester() {
    if (ingest == null) {
      throw new IllegalStateException("this server runs no ingest pipeline");
    }
    return ingest;
  }

  void health(Context ctx) {
    IndexSpec spec = store.index().spec();
    ctx.json(
        new Health(
            "ok",
            Version.NUMBER,
            new StoreStatus(store.kind(), store.index().size(), spec.dimension(), spec.similarity()),
            config.dataDir().toString(),
            config.watchDirs().stream().map(Path::toString).toList(),
            new ModelsStatus(models.modelsDir().toString(), clipStatus())));
  }

  /**
   * Whether the default CLIP model is installed and its files check out (sha256 results are
   * cached by size and time, so this is a few stat calls once the model has been verified).
   */
  ModelStatus clipStatus() {
    String name = ModelCatalog.DEFAULT_MODEL;
    ModelManager.Status status;
    try {
      status = models.status(name);
    } catch (IOException e) {
      log.warn("cannot check model {} in {}", name, models.modelsDir(), e);
      return new ModelStatus(name, false, "cannot be checked: " + e.getMessage(), models.fixCommand(name),
          "Image search is off: the CLIP model " + name + " cannot be checked (" + e.getMessage() + ").");
    }
    if (status instanceof ModelManager.Status.Installed) {
      return new ModelStatus(name, true, status.describe(), null, null);
    }
    String fix = models.fixCommand(name);
    String state =
        switch (status) {
          case ModelManager.Status.Corrupt(String file, String problem) -> "is damaged (" + file + " " + problem + ")";
          case ModelManager.Status.Incomplete _ -> "is not installed: " + status.describe();
          default -> "is not installed";
        };
    return new ModelStatus(name, false, status.describe(), fix,
        "Image search is off: the CLIP model " + name + " " + state
            + ". Document search works meanwhile, with BM25. Install the model with " + fix
            + ", or on a machine without internet copy its files by hand and run "
            + ModelManager.COMMAND + " import DIR.");
  }

  /** The one place exceptions become status codes; unknown routes arrive here as 404s. */
  static void error(Exception e, Context ctx) {
    int status =
        switch (e) {
          case HttpError h -> h.status();
          case HttpResponseException h -> h.getStatus();
          case IllegalArgumentException _ -> 400;
          case java.nio.file.NoSuchFileException _ -> 404;
          default -> 500;
        };
    String message;
    if (status >= 500 && (e instanceof HttpError || e instanceof HttpResponseException)) {
      // Raised on purpose with a message for the client (a model not installed, a damaged key file).
      log.warn("{} {}: {} {}", ctx.method(), ctx.path(), status, e.getMessage());
      message = e.getMessage();
    } else if (status >= 500) {
      log.error("{} {} failed", ctx.method(), ctx.path(), e);
      message = "internal error; the server log has the details";
    } else if (status == 404 && e instanceof HttpResponseException) {
      message = "no route " + ctx.method() + " " + ctx.path();
    } else {
      message = e.getMessage();
    }
    if (ctx.path().startsWith("/v1/")) { // OpenAI clients read their own error shape
      OpenAiApi.error(ctx, status, message);
      return;
    }
    ctx.status(status).json(new ErrorBody(message, status));
  }
}
