package dev.loupe.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A streaming reader of a {@code multipart/form-data} body (RFC 7578): parts are read one after
 * the other, their bodies copied to a stream as they arrive, so no part is ever held whole in
 * memory. A body that breaks the format (no opening boundary, a part cut off before its closing
 * boundary, headers too long) fails with {@link MalformedException}.
 *
 * <p>Not thread-safe: one request's thread reads it.
 */
final class MultipartReader {
  /** Largest header block of one part. */
  static final int MAX_HEADER_BYTES = 16 << 10;
  private static final int BUFFER = 64 << 10;

  /** A body that is not valid multipart; its message says where it went wrong. */
  static final class MalformedException extends IllegalArgumentException {
    MalformedException(String message) {
      super("malformed multipart body: " + message);
    }
  }

  /**
   * One part's headers.
   *
   * @param headers header names in lower case, values as sent
   * @param name the form field's name, or null
   * @param fileName the submitted file name, or null for a plain field
   */
  record PartHeaders(Map<String, String> headers, String name, String fileName) {}

  private final InputStream in;
  private final String boundary;
  private final byte[] delimiter;
  private final byte[] buf;
  private int pos;
  private int limit;
  private boolean eof;
  private boolean started;
  private boolean ended;

  /** {@code boundary} as given in the {@code Content-Type} header. */
  MultipartReader(InputStream in, String boundary) {
    if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
      throw new MalformedException("boundary '" + boundary + "' must be 1 to 70 characters");
    }
    this.in = in;
    this.boundary = boundary;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.buf = new byte[BUFFER + delimiter.length];
    // The first boundary has no CRLF before it: pretend it has, so every boundary looks alike.
    buf[0] = '\r';
    buf[1] = '\n';
    limit = 2;
  }

  /**
   * The boundary parameter of a {@code multipart/form-data} content type, or null when the type
   * is not multipart form data or names no boundary.
   */
  static String boundary(String contentType) {
    if (contentType == null) return null;
    String[] parts = contentType.split(";");
    if (!parts[0].strip().equalsIgnoreCase("multipart/form-data")) return null;
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase("boundary")) {
        String v = p.substring(eq + 1).strip();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
        return v.isEmpty() ? null : v;
      }
    }
    return null;
  }

  /** The next part's headers, or null after the closing boundary; its body must be read next. */
  PartHeaders next() throws IOException {
    if (!started) {
      started = true;
      try {
        copyBody(OutputStream.nullOutputStream()); // the preamble
      } catch (MalformedException e) {
        throw new MalformedException("no opening boundary '--" + boundary + "' in the body");
      }
    }
    if (ended) return null;
    Map<String, String> headers = new LinkedHashMap<>();
    int total = 0;
    while (true) {
      String line = line();
      total += line.length() + 2;
      if (total > MAX_HEADER_BYTES) throw new MalformedException("a part's headers are over " + MAX_HEADER_BYTES + " bytes");
      if (line.isEmpty()) break;
      int colon = line.indexOf(':');
      if (colon <= 0) throw new MalformedException("header line '" + shorten(line) + "' has no name");
      headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
    }
    String disposition = headers.get("content-disposition");
    if (disposition == null) throw new MalformedException("a part has no Content-Disposition header");
    Map<String, String> params = dispositionParams(disposition);
    String fileName = params.containsKey("filename*") ? extended(params.get("filename*")) : params.get("filename");
    return new PartHeaders(headers, params.get("name"), fileName);
  }

  /**
   * Copies the current part's body to {@code out}, up to its closing boundary.
   *
   * @return the number of bytes copied
   * @throws MalformedException if the body ends before the boundary
   */
  long copyBody(OutputStream out) throws IOException {
    long copied = 0;
    while (true) {
      fill(delimiter.length);
      if (limit - pos < delimiter.length) {
        throw new MalformedException("the body ends before the closing boundary");
      }
      int at = indexOf(pos, limit);
      if (at >= 0) {
        out.write(buf, pos, at - pos);
        copied += at - pos;
        pos = at + delimiter.length;
        afterBoundary();
        return copied;
      }
      int safe = limit - (delimiter.length - 1);
      out.write(buf, pos, safe - pos);
      copied += safe - pos;
      pos = safe;
    }
  }

  /** After a boundary: {@code --} closes the body, otherwise optional blanks and CRLF open the next part. */
  private void afterBoundary() throws IOException {
    fill(2);
    if (limit - pos >= 2 && buf[pos] == '-' && buf[pos + 1] == '-') {
      pos += 2;
      ended = true;
      return;
    }
    String rest = line(); // transport padding (blanks) may precede the CRLF
    if (!rest.isBlank()) throw new MalformedException("unexpected '" + shorten(rest) + "' after a boundary");
  }

  /** One CRLF-terminated line, in UTF-8 (browsers send file names so), without the CRLF. */
  private String line() throws IOException {
    while (true) {
      for (int i = pos; i + 1 < limit; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n') {
          String s = new String(buf, pos, i - pos, StandardCharsets.UTF_8);
          pos = i + 2;
          return s;
        }
      }
      if (limit - pos > MAX_HEADER_BYTES) throw new MalformedException("a header line is over " + MAX_HEADER_BYTES + " bytes");
      int before = limit - pos;
      fill(before + 1);
      if (limit - pos <= before) throw new MalformedException("the body ends inside a part's headers");
    }
  }

  /** Makes at least {@code n} unread bytes available, unless the stream ends first. */
  private void fill(int n) throws IOException {
    if (limit - pos >= n) return;
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, limit - pos);
      limit -= pos;
      pos = 0;
    }
    while (limit < n && !eof) {
      int r = in.read(buf, limit, buf.length - limit);
      if (r < 0) {
        eof = true;
      } else {
        limit += r;
      }
    }
  }

  private int indexOf(int from, int to) {
    byte first = delimiter[0];
    outer:
    for (int i = from; i <= to - delimiter.length; i++) {
      if (buf[i] != first) continue;
      for (int j = 1; j < delimiter.length; j++) {
        if (buf[i + j] != delimiter[j]) continue outer;
      }
      return i;
    }
    return -1;
  }

  /**
   * The parameters of a {@code Content-Disposition} value, names in lower case. In quoted values
   * only {@code \"} is an escape: a Windows path's backslashes are kept, for the caller to cut.
   */
  static Map<String, String> dispositionParams(String value) {
    Map<String, String> params = new LinkedHashMap<>();
    int i = value.indexOf(';');
    while (i >= 0 && i < value.length()) {
      i++;
      while (i < value.length() && value.charAt(i) == ' ') i++;
      int eq = value.indexOf('=', i);
      if (eq < 0) break;
      String name = value.substring(i, eq).strip().toLowerCase(Locale.ROOT);
      i = eq + 1;
      StringBuilder v = new StringBuilder();
      if (i < value.length() && value.charAt(i) == '"') {
        i++;
        while (i < value.length() && value.charAt(i) != '"') {
          if (value.charAt(i) == '\\' && i + 1 < value.length() && value.charAt(i + 1) == '"') i++;
          v.append(value.charAt(i++));
        }
        i = value.indexOf(';', i);
      } else {
        int end = value.indexOf(';', i);
        v.append(value, i, end < 0 ? value.length() : end);
        i = end;
      }
      params.putIfAbsent(name, v.toString().strip());
    }
    return params;
  }

  /** An RFC 5987 {@code UTF-8''percent%20encoded} value, decoded. */
  private static String extended(String value) {
    int quote = value.indexOf("''");
    String encoded = quote >= 0 ? value.substring(quote + 2) : value;
    try {
      return java.net.URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new MalformedException("filename* '" + shorten(value) + "' is not percent-encoded UTF-8");
    }
  }

  private static String shorten(String s) {
    return s.length() <= 60 ? s : s.substring(0, 60) + "…";
  }
}
