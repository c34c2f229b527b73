package dev.loupe.embeddings.model;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads one file over HTTP into a partial file, resuming with a {@code Range} request from
 * whatever the partial file already holds, following redirects, retrying a cut or stalled
 * connection, and computing the sha256 of the whole file as it goes. It does not judge the
 * result: the caller compares size and digest with the pin.
 *
 * <p>Not thread-safe; one download at a time. Owns its {@link HttpClient}; close it. Public for
 * the language models {@code loupe models pull} fetches into {@code <data>/llm} (http's {@code LlmModels}).
 */
public final class Downloader implements AutoCloseable {

  /** What arrived: the size and digest of the whole file, and the commit the source said it served. */
  public record Result(long size, String sha256, String commit) {}

  /** Progress of one file, on the downloading thread. */
  public interface Listener {
    /** {@code done} bytes of the file are on disk, of {@code total} ({@code -1} when unknown). */
    void transferred(long done, long total);

    /** A line for the user about a retry. */
    void retrying(String message);
  }

  /** The host could not be reached at all: offline, refused, unknown name or no route. */
  public static final class UnreachableException extends IOException {
    final String host;
    final String reason;

    UnreachableException(String host, String reason, Throwable cause) {
      super("cannot reach " + host + " (" + reason + ")", cause);
      this.host = host;
      this.reason = reason;
    }
  }

  private static final String USER_AGENT = "loupe-model-manager";
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  private final HttpClient client;
  private final ModelManager.Options options;

  public Downloader(ModelManager.Options options) {
    this.options = options;
    this.client =
        HttpClient.newBuilder()
            // NORMAL follows https -> https redirects (Hugging Face to its CDN) but never
            // downgrades https to http.
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(options.connectTimeout())
            .build();
  }

  /**
   * Downloads {@code uri} into {@code dest}, keeping and extending what {@code dest} holds.
   *
   * @param expected the pinned size, or {@code -1}; a longer partial file is discarded, and a
   *     partial file of exactly this size is not fetched again
   * @throws UnreachableException when no connection could be made on the first try
   * @throws IOException for an HTTP error status, or once the retries are spent
   */
  public Result fetch(URI uri, Path dest, long expected, Listener listener)
      throws IOException, InterruptedException {
    MessageDigest md = Digests.sha256();
    long have = 0;
    if (Files.exists(dest)) {
      have = Files.size(dest);
      if (expected >= 0 && have > expected) {
        truncate(dest);
        have = 0;
      } else {
        Digests.update(md, dest);
      }
    }
    if (expected >= 0 && have == expected) {
      listener.transferred(have, expected);
      return new Result(have, Digests.hex(md), null);
    }
    String commit = null;
    boolean connectedOnce = false;
    int failures = 0;
    while (true) {
      IOException failure;
      try {
        HttpRequest.Builder request =
            HttpRequest.newBuilder(uri).timeout(options.idleTimeout()).header("User-Agent", USER_AGENT);
        if (have > 0) {
          request.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        connectedOnce = true;
        if (commit == null) {
          commit = repoCommit(response).orElse(null);
        }
        try (InputStream body = response.body()) {
          int status = response.statusCode();
          long total;
          switch (status) {
            case 200 -> {
              if (have > 0) {
                // The server ignored the Range header: start over.
                truncate(dest);
                md.reset();
                have = 0;
              }
              total = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            }
            case 206 -> {
              long[] range = contentRange(response, uri);
              if (range[0] != have) {
                throw new IOException(uri + " answered bytes from " + range[0] + " when asked from " + have);
              }
              total = range[1];
            }
            case 416 -> {
              // The partial file is no prefix of what the server has: start over.
              truncate(dest);
              md.reset();
              have = 0;
              throw new IOException(uri + " rejected the range request (416); starting the file over");
            }
            case 408, 429, 500, 502, 503, 504 ->
                throw new IOException(uri + " answered HTTP " + status);
            default -> throw new HttpStatusException(
                uri + " answered HTTP " + status + (status == 404 ? " (not found)" : "")
                    + "; the source does not serve this file");
          }
          if (expected >= 0 && total >= 0 && total != expected) {
            throw new HttpStatusException(
                uri + " serves " + total + " bytes, but the pinned size is " + expected);
          }
          have = copy(body, dest, md, have, total, listener);
        }
        if (expected < 0 || have >= expected) {
          return new Result(have, Digests.hex(md), commit);
        }
        failure = new IOException("the connection ended after " + have + " of " + expected + " bytes");
      } catch (HttpStatusException e) {
        throw e;
      } catch (IOException e) {
        if (!connectedOnce && unreachable(e)) {
          throw new UnreachableException(uri.getHost(), reason(e), e);
        }
        failure = e;
      }
      failures++;
      // The file on disk is the truth: a write interrupted half-way leaves it longer than counted.
      long onDisk = Files.exists(dest) ? Files.size(dest) : 0;
      if (onDisk != have) {
        md.reset();
        Digests.update(md, dest);
        have = onDisk;
      }
      if (failures >= options.attempts()) {
        throw new IOException(
            "download of " + uri + " failed " + failures + " times, last: " + describe(failure)
                + "; " + have + " bytes are kept and the next pull resumes from there",
            failure);
      }
      listener.retrying(
          "connection problem after " + have + " bytes (" + describe(failure) + "); resuming, attempt "
              + (failures + 1) + " of " + options.attempts());
      long delay = options.retryDelay().toMillis() << Math.min(failures - 1, 5);
      if (delay > 0) {
        Thread.sleep(Math.min(delay, 30_000));
      }
    }
  }

  /** Appends the body to {@code dest}; a stall longer than the idle timeout interrupts the read. */
  private long copy(InputStream body, Path dest, MessageDigest md, long have, long total, Listener listener)
      throws IOException {
    Watchdog watchdog = new Watchdog(Thread.currentThread(), options.idleTimeout());
    try (FileChannel out =
        FileChannel.open(dest, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      byte[] buffer = new byte[1 << 16];
      listener.transferred(have, total);
      for (int n = body.read(buffer); n >= 0; n = body.read(buffer)) {
        watchdog.touch();
        ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
        while (chunk.hasRemaining()) {
          out.write(chunk);
        }
        md.update(buffer, 0, n);
        have += n;
        listener.transferred(have, total);
      }
      return have;
    } catch (IOException e) {
      if (watchdog.stop()) {
        throw new HttpTimeoutException("no data for " + options.idleTimeout().toSeconds() + " s");
      }
      throw e;
    } finally {
      if (watchdog.stop()) {
        // The watchdog's interrupt is spent; do not leave it to hit an unrelated wait.
        Thread.interrupted();
      }
    }
  }

  private static long[] contentRange(HttpResponse<?> response, URI uri) throws IOException {
    String header = response.headers().firstValue("Content-Range").orElse("");
    Matcher m = CONTENT_RANGE.matcher(header);
    if (!m.matches()) {
      throw new IOException(uri + " answered 206 with Content-Range '" + header + "'");
    }
    long start = Long.parseLong(m.group(1));
    long total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
    return new long[] {start, total};
  }

  /** The commit Hugging Face says it served, from the final response or a redirect before it. */
  private static Optional<String> repoCommit(HttpResponse<?> response) {
    for (HttpResponse<?> r = response; r != null; r = r.previousResponse().orElse(null)) {
      Optional<String> commit = r.headers().firstValue("X-Repo-Commit");
      if (commit.isPresent() && COMMIT.matcher(commit.get()).matches()) {
        return commit;
      }
    }
    return Optional.empty();
  }

  private static void truncate(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(0);
    }
  }

  static boolean unreachable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConnectException
          || t instanceof UnknownHostException
          || t instanceof UnresolvedAddressException
          || t instanceof HttpConnectTimeoutException
          || t instanceof NoRouteToHostException) {
        return true;
      }
    }
    return false;
  }

  private static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return "unknown host";
      }
      if (t instanceof HttpConnectTimeoutException) {
        return "connection timed out";
      }
      if (t instanceof NoRouteToHostException) {
        return "no route to host";
      }
    }
    return "connection refused";
  }

  private static String describe(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  @Override
  public void close() {
    client.close();
  }

  /** An HTTP answer that retrying will not change. */
  private static final class HttpStatusException extends IOException {
    HttpStatusException(String message) {
      super(message);
    }
  }

  /**
   * Interrupts the reading thread when no byte arrived for the idle timeout: the JDK client has
   * no read timeout, and an interrupted read of its body stream fails with an IOException.
   */
  private static final class Watchdog {
    private final Thread reader;
    private final long idleNanos;
    private final Thread thread;
    private volatile long last = System.nanoTime();
    private volatile boolean done;
    private boolean fired;

    Watchdog(Thread reader, java.time.Duration idle) {
      this.reader = reader;
      this.idleNanos = idle.toNanos();
      long tick = Math.max(10, idle.toMillis() / 4);
      this.thread =
          Thread.ofVirtual().name("loupe-download-watchdog").start(() -> {
            while (!done) {
              try {
                Thread.sleep(tick);
              } catch (InterruptedException e) {
                return;
              }
              synchronized (this) {
                if (!done && System.nanoTime() - last > idleNanos) {
                  fired = true;
                  reader.interrupt();
                  return;
                }
              }
            }
          });
    }

    void touch() {
      last = System.nanoTime();
    }

    /** Stops watching; once this returns the reader is not interrupted. Returns whether it fired. */
    boolean stop() {
      synchronized (this) {
        done = true;
      }
      thread.interrupt();
      synchronized (this) {
        return fired;
      }
    }
  }
}
