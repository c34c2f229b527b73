package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.indexer.Ingester;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code loupe status} while {@code loupe serve} holds the data folder: finds the server through
 * {@code <data>/serve.json} ({@link ServeFile}) and asks it, over loopback, for {@code GET
 * /api/ingest/status} and {@code GET /api/ingest/failures}.
 *
 * <p>Every failure is an {@link IOException} whose message is one line naming the data folder,
 * the URL and what went wrong. Not thread-safe; one per command.
 */
final class LiveStatus {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(10);

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private LiveStatus() {}

  /**
   * Prints the running server's status, as {@link IngestCommand#status} prints the journal's plus
   * the live fields: state, files in progress, rate and time left.
   *
   * @param held why the journal could not be opened; thrown as it is when no server has left {@code serve.json}
   */
  static int print(Path dataDir, IOException held, PrintStream out) throws IOException, InterruptedException {
    Optional<ServeFile> found = ServeFile.read(dataDir);
    if (found.isEmpty()) {
      throw held; // a `loupe ingest`, or a server still starting: the folder is simply in use
    }
    ServeFile serve = found.get();
    Api.IngestView s;
    List<Api.FailureView> failures;
    try (HttpClient client = HttpClient.newBuilder()
        .connectTimeout(CONNECT_TIMEOUT)
        .proxy(HttpClient.Builder.NO_PROXY) // loopback only, whatever the proxy settings say
        .build()) {
      s = get(client, serve, dataDir, "api/ingest/status", Api.IngestView.class);
      failures = List.of(get(client, serve, dataDir, "api/ingest/failures", Api.FailureView[].class));
    }
    out.printf(Locale.ROOT, "loupe serve at %s (pid %d) is %s%n", serve.url(), serve.pid(), s.state());
    out.printf(Locale.ROOT, "%d files: %d done, %d pending, %d failed; %d items%n", s.seen(), s.done(), s.pending(), s.failed(), s.items());
    s.failedByReason().forEach((reason, n) -> out.printf(Locale.ROOT, "  %s: %d%n", reason, n));
    for (Api.FailureView f : failures) {
      out.printf(Locale.ROOT, "  failed %s: %s%n", f.path(), f.message());
    }
    out.println(progress(s));
    return 0;
  }

  static String progress(Api.IngestView s) {
    String rate = String.format(Locale.ROOT, "%.1f files/s, %.1f items/s over the last %d s", s.filesPerSecond(), s.itemsPerSecond(),
        Ingester.RATE_WINDOW_SECONDS);
    if (s.pending() == 0) {
      return "nothing in progress; " + rate;
    }
    String eta = s.etaSeconds() == null ? "time left not known yet" : "about " + s.etaSeconds() + " s left";
    return String.format(Locale.ROOT, "%d in progress; %s; %s", s.pending(), rate, eta);
  }

  private static <T> T get(HttpClient client, ServeFile serve, Path dataDir, String path, Class<T> type)
      throws IOException, InterruptedException {
    URI uri = serve.url().resolve(path);
    // API keys (a later issue) go here: the request will carry the key the server names to its
    // own user, for instance beside serve.json in a file only that user can read.
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(ANSWER_TIMEOUT).header("Accept", "application/json").GET().build();
    HttpResponse<String> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IOException("the data folder " + dataDir + " is in use, but the `loupe serve` that " + ServeFile.path(dataDir)
          + " names does not answer at " + uri + " (" + problem(e) + ")" + processHint(serve.pid()), e);
    }
    if (response.statusCode() != 200) {
      throw new IOException("loupe serve at " + uri + " answered HTTP " + response.statusCode() + ": " + oneLine(response.body()));
    }
    try {
      return JSON.readValue(response.body(), type);
    } catch (JacksonException e) {
      throw new IOException("loupe serve at " + uri + " answered what is not its ingest status: " + oneLine(e.getOriginalMessage()), e);
    }
  }

  private static String problem(IOException e) {
    return switch (e) {
      case HttpConnectTimeoutException _ -> "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
      case HttpTimeoutException _ -> "no answer within " + ANSWER_TIMEOUT.toSeconds() + " s";
      case ConnectException _ -> "connection refused";
      default -> e.getMessage() == null ? e.getClass().getSimpleName() : oneLine(e.getMessage());
    };
  }

  private static String processHint(long pid) {
    boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    return alive ? "; process " + pid + " is running, so it may still be starting or be stuck"
        : "; process " + pid + " has exited, so that file is stale and another process holds the folder";
  }

  private static String oneLine(String text) {
    if (text == null || text.isBlank()) {
      return "(empty)";
    }
    String line = text.strip().lines().findFirst().orElse("");
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
