package dev.loupe.http;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One byte range of an HTTP {@code Range} header (RFC 9110 §14.1.2), resolved against a file's
 * size: {@code bytes=a-b}, {@code bytes=a-} or {@code bytes=-n}. Browsers ask for these to seek in
 * a video and to fetch a PDF's pages. A header this does not understand (another unit, several
 * ranges) is ignored, which the RFC allows: the whole file is sent with 200.
 *
 * @param first the first byte sent
 * @param last the last byte sent, inclusive
 */
record ByteRange(long first, long last) {
  private static final Pattern SINGLE = Pattern.compile("bytes=\\s*(\\d{0,18})\\s*-\\s*(\\d{0,18})\\s*");

  ByteRange {
    if (first < 0 || last < first) {
      throw new IllegalArgumentException("byte range " + first + "-" + last + " is empty or negative");
    }
  }

  long length() {
    return last - first + 1;
  }

  /** {@code Content-Range} of a 206 answer. */
  String contentRange(long size) {
    return "bytes " + first + "-" + last + "/" + size;
  }

  /** What a {@code Range} header asks of a file of {@code size} bytes. */
  sealed interface Request permits Whole, Part, Unsatisfiable {}

  /** No range, or one this ignores: the whole file. */
  record Whole() implements Request {}

  /** One satisfiable range. */
  record Part(ByteRange range) implements Request {}

  /** A range that starts past the end (or an empty suffix): 416. */
  record Unsatisfiable() implements Request {}

  static Request parse(String header, long size) {
    if (header == null) {
      return new Whole();
    }
    Matcher m = SINGLE.matcher(header);
    if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
      return new Whole();
    }
    if (m.group(1).isEmpty()) { // the last n bytes
      long n = Long.parseLong(m.group(2));
      return n == 0 || size == 0 ? new Unsatisfiable() : new Part(new ByteRange(Math.max(0, size - n), size - 1));
    }
    long first = Long.parseLong(m.group(1));
    long last = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
    if (!m.group(2).isEmpty() && Long.parseLong(m.group(2)) < first) {
      return new Whole(); // invalid syntax: ignored
    }
    return first >= size ? new Unsatisfiable() : new Part(new ByteRange(first, last));
  }
}
