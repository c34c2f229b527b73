package dev.loupe.embeddings.image;

/**
 * Unsigned reads and ASCII matches on encoded image bytes, for the container parsers of this
 * package. Callers check bounds before {@link #u16} and {@link #u32}; {@link #startsWith} checks
 * its own.
 *
 * <p>Stateless and thread-safe.
 */
final class Bytes {
  private Bytes() {}

  static int u16(byte[] b, int at, boolean little) {
    int b0 = b[at] & 0xff, b1 = b[at + 1] & 0xff;
    return little ? b0 | b1 << 8 : b0 << 8 | b1;
  }

  static long u32(byte[] b, int at, boolean little) {
    long lo = u16(b, little ? at : at + 2, little), hi = u16(b, little ? at + 2 : at, little);
    return hi << 16 | lo;
  }

  /** Whether {@code b} holds {@code ascii} at {@code at}; false where it would run past either end. */
  static boolean startsWith(byte[] b, int at, String ascii) {
    if (at < 0 || at > b.length - ascii.length()) {
      return false;
    }
    for (int k = 0; k < ascii.length(); k++) {
      if (b[at + k] != (byte) ascii.charAt(k)) {
        return false;
      }
    }
    return true;
  }
}
