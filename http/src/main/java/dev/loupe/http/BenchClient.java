package dev.loupe.http;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The load generator's HTTP/1.1 client: GET requests over a pool of kept-alive plain sockets, one
 * request at a time on each, answered in the calling thread.
 *
 * <p>The JDK's {@code HttpClient} hands every exchange between the caller, its selector thread and
 * its executor; on a two-core machine that shares the cores with the server under test, those
 * hand-offs cost more than the searches being measured. This client does the least a benchmark
 * needs: write the request line and headers, read the status line, headers and a body framed by
 * {@code Content-Length} or chunked transfer coding. It speaks only {@code http://}.
 *
 * <p>Thread-safe: concurrent callers take different connections; a new one is opened when all
 * are busy, so the pool grows to the peak concurrency.
 */
final class BenchClient implements AutoCloseable {
  /** A response: status code and body bytes. */
  record Response(int status, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private final InetSocketAddress address;
  private final String host;
  private final String authorization;
  private final int timeoutMs;
  private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
  private volatile boolean closed;

  BenchClient(URI base, String key, int timeoutMs) {
    if (!"http".equals(base.getScheme())) throw new IllegalArgumentException(base + " is not an http:// URL");
    int port = base.getPort() == -1 ? 80 : base.getPort();
    this.address = new InetSocketAddress(base.getHost(), port);
    this.host = base.getHost() + ":" + port;
    this.authorization = key == null ? null : "Bearer " + key;
    this.timeoutMs = timeoutMs;
  }

  /** GETs {@code pathAndQuery} (starting with '/'); a kept-alive connection that was closed by the server is retried once on a new one. */
  Response get(String pathAndQuery) throws IOException {
    if (closed) throw new IOException("client closed");
    Connection c = idle.pollFirst();
    boolean reused = c != null;
    if (c == null) c = new Connection();
    try {
      Response r = c.exchange(pathAndQuery);
      if (c.keepAlive && !closed) idle.offerFirst(c);
      else c.close();
      return r;
    } catch (IOException e) {
      c.close();
      if (reused && c.bytesRead == 0) return get(pathAndQuery); // stale keep-alive connection
      throw e;
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Connection c; (c = idle.pollFirst()) != null; ) c.close();
  }

  private final class Connection {
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    boolean keepAlive = true;
    long bytesRead;

    Connection() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(address, timeoutMs);
      socket.setSoTimeout(timeoutMs);
      in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
      out = new BufferedOutputStream(socket.getOutputStream(), 2 * 1024);
    }

    Response exchange(String pathAndQuery) throws IOException {
      bytesRead = 0;
      StringBuilder req = new StringBuilder(160).append("GET ").append(pathAndQuery).append(" HTTP/1.1\r\nHost: ").append(host)
          .append("\r\nAccept: application/json\r\n");
      if (authorization != null) req.append("Authorization: ").append(authorization).append("\r\n");
      out.write(req.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();

      String status = line();
      if (!status.startsWith("HTTP/1.") || status.length() < 12) throw new IOException("not an HTTP response: '" + status + "'");
      int code = Integer.parseInt(status.substring(9, 12));
      long length = -1;
      boolean chunked = false;
      for (String h; !(h = line()).isEmpty(); ) {
        int colon = h.indexOf(':');
        if (colon < 0) continue;
        String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT), value = h.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> keepAlive &= !value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      if (status.startsWith("HTTP/1.0")) keepAlive = false;
      byte[] body;
      if (chunked) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (long n; (n = Long.parseLong(stripExtension(line()), 16)) > 0; ) {
          b.write(bytes(n));
          line();
        }
        while (!line().isEmpty()) {} // trailers
        body = b.toByteArray();
      } else if (length >= 0) {
        body = bytes(length);
      } else {
        body = in.readAllBytes(); // framed by the connection's end
        keepAlive = false;
      }
      return new Response(code, body);
    }

    private byte[] bytes(long n) throws IOException {
      if (n > 256L << 20) throw new IOException("response body of " + n + " bytes is too large for the benchmark client");
      byte[] b = in.readNBytes((int) n);
      if (b.length < n) throw new EOFException("connection closed after " + b.length + " of " + n + " body bytes");
      bytesRead += n;
      return b;
    }

    private String line() throws IOException {
      StringBuilder s = new StringBuilder(64);
      for (int ch; ; ) {
        ch = in.read();
        if (ch < 0) throw new EOFException("connection closed by the server" + (s.isEmpty() ? "" : " after '" + s + "'"));
        bytesRead++;
        if (ch == '\n') break;
        if (ch != '\r') s.append((char) ch);
        if (s.length() > 16 * 1024) throw new IOException("response header line longer than 16 KiB");
      }
      return s.toString();
    }

    private static String stripExtension(String chunkSize) {
      int semi = chunkSize.indexOf(';');
      return (semi < 0 ? chunkSize : chunkSize.substring(0, semi)).trim();
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }
}
