package dev.loupe.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.model.ModelManager;
import dev.loupe.ui.WebAssets;
import io.javalin.Javalin;
import io.javalin.http.staticfiles.Location;
import io.javalin.http.staticfiles.StaticFileConfig;
import io.javalin.json.JavalinJackson;
import io.javalin.util.JavalinBindException;
import java.io.Closeable;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Loupe HTTP server: Javalin on virtual threads, serving {@link Api} from one {@link
 * Store}. It owns the store from {@link #start} on and closes it in {@link #close}.
 *
 * <p>Thread-safe: {@link #close} may race with a shutdown hook; the first call stops the server.
 */
public final class LoupeServer implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(LoupeServer.class);

  private final Javalin app;
  private final Store store;
  private final Pipeline ingest;
  private final InetSocketAddress address;
  private final Path dataDir;
  private final CountDownLatch closed = new CountDownLatch(1);
  private boolean closing;
  private volatile ServeFile serveFile;
  private ChatApi chatApi;
  /** The language model chat answers with, closed after the server stops; null without one. */
  private volatile AutoCloseable chatModel;

  private LoupeServer(Javalin app, Store store, Pipeline ingest, InetSocketAddress address, Path dataDir) {
    this.app = app;
    this.store = store;
    this.ingest = ingest;
    this.address = address;
    this.dataDir = dataDir;
  }

  /**
   * Starts serving {@code store} as {@code config} says and logs the URL. On failure the store
   * is left open for the caller to close.
   *
   * <p>On a host that is not loopback every data route needs an API key (see {@link Auth}).
   *
   * @throws BindException if the port is taken
   * @throws IllegalArgumentException if the host is not loopback and the data folder has no API key
   */
  public static LoupeServer start(ServerConfig config, Store store) throws IOException {
    return start(config, store, null);
  }

  /**
   * As {@link #start(ServerConfig, Store)}, also owning {@code ingest} (the ingest pipeline, or
   * null), which {@link #close} stops before it closes the store. With a pipeline the server holds
   * the data folder, so it also writes {@code <data>/serve.json} ({@link ServeFile}) for {@code
   * loupe status}, and deletes it when it closes.
   */
  static LoupeServer start(ServerConfig config, Store store, Pipeline ingest) throws IOException {
    return start(config, store, ingest, null);
  }

  /**
   * As {@link #start(ServerConfig, Store, Pipeline)}, answering chat with {@code chat} (null: chat
   * answers 503 with how to load a model). The server does not own the chat engine's model.
   */
  static LoupeServer start(ServerConfig config, Store store, Pipeline ingest, dev.loupe.rag.chat.ChatEngine chat)
      throws IOException {
    ChatApi chatApi = new ChatApi(chat);
    ModelManager models = new ModelManager(ModelManager.modelsDir(config.dataDir()));
    Api api = new Api(config, store, models, ingest == null ? null : ingest.ingester(),
        new SearchApi(ingest == null ? null : ingest.searcher(), config.dataDir(), models));
    Auth auth = Auth.forServer(config); // null on loopback
    Metrics metrics = new Metrics(() -> indexSizes(store, ingest), ingest == null ? null : ingest.ingester());
    OpenAiApi openAi = new OpenAiApi(ingest == null ? java.util.List.of() : ingest.models(),
        new ModelManager(ModelManager.modelsDir(config.dataDir())), chat == null ? null : chat.model().file().path());
    Javalin app =
        Javalin.create(
            c -> {
              c.concurrency.useVirtualThreads = true;
              c.startup.showJavalinBanner = false;
              c.startup.showOldJavalinVersionWarning = false;
              c.jsonMapper(new JavalinJackson(new ObjectMapper(), true));
              c.staticFiles.add(LoupeServer::browserUi);
              Api.routes(c.routes, api);
              metrics.install(c);
              OpenAiApi.routes(c.routes, openAi);
              ChatApi.routes(c.routes, chatApi);
              if (auth != null) {
                Auth.routes(c.routes, auth);
              }
            });
    try {
      app.start(config.host(), config.port());
    } catch (JavalinBindException e) {
      app.stop();
      BindException bind =
          new BindException(
              "port " + config.port() + " on " + config.host()
                  + " is in use; choose another with --port N (0 picks a free one)");
      bind.initCause(e);
      throw bind;
    }
    LoupeServer server = new LoupeServer(app, store, ingest, boundAddress(app), config.dataDir());
    server.chatApi = chatApi;
    log.info(
        "Loupe {} serving {} (store {} with {} items in {}, watching {})",
        Version.NUMBER,
        server.url(),
        store.kind(),
        store.index().size(),
        config.dataDir(),
        config.watchDirs());
    Api.ModelStatus clip = api.clipStatus();
    if (clip.installed()) {
      log.info("CLIP model {} installed and verified", clip.name());
    } else {
      log.warn(clip.message());
    }
    if (ingest != null) {
      server.writeServeFile();
    }
    return server;
  }

  /** Items per index for {@code /metrics}: the visual store, and the passage index when the pipeline runs. */
  private static java.util.Map<String, Integer> indexSizes(Store store, Pipeline ingest) {
    java.util.Map<String, Integer> sizes = new java.util.TreeMap<>();
    sizes.put("visual", store.index().size());
    if (ingest != null) {
      sizes.put("text", ingest.textIndex().size());
    }
    return sizes;
  }

  /**
   * The browser UI from the {@code ui} module's class-path folder at {@code /}. The policy keeps
   * the page to this server: no other origin's scripts, styles, fonts or requests.
   */
  private static void browserUi(StaticFileConfig files) {
    files.hostedPath = "/";
    files.directory = WebAssets.CLASSPATH_DIRECTORY;
    files.location = Location.CLASSPATH;
    files.headers = Map.of(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options", "nosniff",
        "Cache-Control", "no-cache");
  }

  private static InetSocketAddress boundAddress(Javalin app) throws IOException {
    for (Connector connector : app.jettyServer().server().getConnectors()) {
      if (connector instanceof ServerConnector sc
          && sc.getTransport() instanceof ServerSocketChannel channel) {
        return (InetSocketAddress) channel.getLocalAddress();
      }
    }
    throw new IllegalStateException("Javalin started without a TCP connector");
  }

  /** The port the server listens on; the real one when the configuration asked for 0. */
  public int port() {
    return address.getPort();
  }

  /** The address the listening socket is bound to, as the operating system reports it. */
  public InetSocketAddress address() {
    return address;
  }

  /** The base URL, for example {@code http://127.0.0.1:8080/}. */
  public URI url() {
    return url(address);
  }

  /**
   * The base URL to reach the server from this machine: {@link #url()}, except that a wildcard
   * bind address ({@code 0.0.0.0}, {@code ::}) becomes {@code 127.0.0.1}.
   */
  URI localUrl() {
    return localUrl(address);
  }

  static URI localUrl(InetSocketAddress bound) {
    if (bound.getAddress().isAnyLocalAddress()) {
      return URI.create("http://127.0.0.1:" + bound.getPort() + "/");
    }
    return url(bound);
  }

  private static URI url(InetSocketAddress bound) {
    String host = bound.getAddress().getHostAddress();
    if (bound.getAddress() instanceof Inet6Address) {
      host = "[" + host.replaceFirst("%.*$", "") + "]";
    }
    return URI.create("http://" + host + ":" + bound.getPort() + "/");
  }

  // A server that cannot write serve.json still serves; only `loupe status` misses it, and says so.
  private void writeServeFile() {
    ServeFile file = ServeFile.ofThisProcess(localUrl());
    try {
      file.write(dataDir);
      serveFile = file;
    } catch (IOException e) {
      log.warn("cannot write {}; `loupe status` will not find this server: {}", ServeFile.path(dataDir), e.toString());
    }
  }

  /** The HTTP routes Javalin has registered, as "METHOD /path" (before/after handlers left out); for tests. */
  java.util.List<String> routes() {
    return app.unsafe.internalRouter.allHttpHandlers().stream().map(p -> p.endpoint)
        .filter(e -> e.method.isHttpMethod()).map(e -> e.method.name() + " " + e.path).toList();
  }

  /** The chat routes' handlers, for tests. */
  ChatApi chatApi() {
    return chatApi;
  }

  /** Hands the server the chat engine's model to close after it stops. */
  void ownChatModel(AutoCloseable model) {
    chatModel = model;
  }

  /** The ingest pipeline this server owns, or null. */
  Pipeline pipeline() {
    return ingest;
  }

  /** Blocks until {@link #close} has finished. */
  public void awaitClose() throws InterruptedException {
    closed.await();
  }

  private void deleteServeFile() {
    if (serveFile == null) {
      return;
    }
    try {
      serveFile.deleteIfMine(dataDir);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", ServeFile.path(dataDir), e.toString());
    }
  }

  /** Stops accepting requests, lets running ones finish, then closes the store (which commits). */
  @Override
  public void close() throws IOException {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
    }
    try {
      app.stop();
      if (ingest != null) {
        try {
          ingest.close();
        } catch (Exception e) {
          log.error("the ingest pipeline did not stop cleanly; the journal recovers at the next start", e);
        }
      }
      store.index().close();
      AutoCloseable model = chatModel;
      if (model != null) {
        try {
          model.close();
        } catch (Exception e) {
          log.warn("the language model did not close cleanly", e);
        }
      }
      log.info("Loupe stopped; store committed");
    } finally {
      // After the pipeline has let go of the data folder: while its lock is held, status looks here.
      deleteServeFile();
      closed.countDown();
    }
  }
}
