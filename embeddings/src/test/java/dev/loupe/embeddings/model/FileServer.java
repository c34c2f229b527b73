package dev.loupe.embeddings.model;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A file server on loopback for the model manager's tests: serves byte arrays by path with
 * {@code Range} support, and on request cuts a response short, redirects, names a commit, or
 * holds a response until released. Records every request it sees. Thread-safe.
 */
final class FileServer implements AutoCloseable {

  /** One request as the server saw it; {@code range} is null without a Range header. */
  record Request(String path, String range) {}

  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<String, byte[]> files = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> cutsLeft = new ConcurrentHashMap<>();
  private final Map<String, Integer> cutAfter = new ConcurrentHashMap<>();
  private final List<Request> requests = new ArrayList<>();
  private volatile String redirectFrom;
  private volatile String redirectTo;
  private volatile String commit;
  private volatile String gatedPath;
  private final CountDownLatch gateReached = new CountDownLatch(1);
  private final CountDownLatch gateOpen = new CountDownLatch(1);

  FileServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** {@code http://127.0.0.1:PORT} without a trailing slash. */
  URI base() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  void put(String path, byte[] content) {
    files.put(path, content);
  }

  /** The next {@code times} responses for {@code path} send {@code bytes} of the body, then drop the connection. */
  void cut(String path, int bytes, int times) {
    cutAfter.put(path, bytes);
    cutsLeft.put(path, new AtomicInteger(times));
  }

  /** Requests under {@code from} answer 302 to the same rest under {@code to}. */
  void redirect(String from, String to) {
    redirectFrom = from;
    redirectTo = to;
  }

  /** Answers carry {@code X-Repo-Commit: commit}, as Hugging Face's do. */
  void commit(String commit) {
    this.commit = commit;
  }

  /** The response for {@code path} sends half its body, then waits for {@link #openGate}. */
  void gate(String path) {
    gatedPath = path;
  }

  void awaitGate() throws InterruptedException {
    gateReached.await();
  }

  void openGate() {
    gateOpen.countDown();
  }

  List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  List<Request> requests(String path) {
    return requests().stream().filter(r -> r.path().equals(path)).toList();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String range = exchange.getRequestHeaders().getFirst("Range");
      synchronized (requests) {
        requests.add(new Request(path, range));
      }
      if (commit != null) {
        exchange.getResponseHeaders().add("X-Repo-Commit", commit);
      }
      String from = redirectFrom;
      if (from != null && path.startsWith(from)) {
        exchange.getResponseHeaders().add("Location", redirectTo + path.substring(from.length()));
        exchange.sendResponseHeaders(302, -1);
        return;
      }
      byte[] content = files.get(path);
      if (content == null) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      int start = 0;
      if (range != null) {
        Matcher m = RANGE.matcher(range);
        if (!m.matches() || Long.parseLong(m.group(1)) >= content.length) {
          exchange.getResponseHeaders().add("Content-Range", "bytes */" + content.length);
          exchange.sendResponseHeaders(416, -1);
          return;
        }
        start = Integer.parseInt(m.group(1));
        exchange.getResponseHeaders().add(
            "Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
        exchange.sendResponseHeaders(206, content.length - start);
      } else {
        exchange.sendResponseHeaders(200, content.length);
      }
      OutputStream body = exchange.getResponseBody();
      int length = content.length - start;
      AtomicInteger cuts = cutsLeft.get(path);
      if (cuts != null && cuts.getAndDecrement() > 0) {
        body.write(content, start, Math.min(length, cutAfter.get(path)));
        body.flush();
        // A handler that throws makes the JDK server drop the connection: the client sees the
        // body end short of its Content-Length.
        throw new CutConnection();
      }
      if (path.equals(gatedPath)) {
        body.write(content, start, length / 2);
        body.flush();
        gateReached.countDown();
        try {
          gateOpen.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        body.write(content, start + length / 2, length - length / 2);
        return;
      }
      body.write(content, start, length);
    } catch (IOException e) {
      // A response cut on purpose ends here; the client sees the dropped connection.
    }
  }

  /** Thrown to cut a response short. */
  private static final class CutConnection extends RuntimeException {
    CutConnection() {
      super("cut on purpose", null, false, false);
    }
  }

  @Override
  public void close() {
    gateOpen.countDown();
    server.stop(0);
    executor.shutdownNow();
  }
}
