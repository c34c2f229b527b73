package dev.loupe.embeddings.image;

/**
 * Walks the marker segments of a JPEG's header, from {@code SOI} to the start of scan, for the
 * metadata the decoder and {@link Exif} read. Fill bytes and markers without a length are
 * stepped over; the walk ends at the first byte that is not a marker, a segment that runs past
 * the data, the start of scan or the end of image, so it reads each header byte at most once.
 *
 * <p>Stateless and thread-safe.
 */
final class JpegSegments {
  private JpegSegments() {}

  /** What is done with each segment. */
  @FunctionalInterface
  interface Visitor {
    /**
     * Sees the segment of {@code marker} (the byte after {@code 0xff}) at {@code [at, end)}, whose
     * contents start at {@code at + 4}; returns whether to go on to the next one.
     */
    boolean segment(int marker, int at, int end);
  }

  /** Whether {@code b} starts with a JPEG's {@code SOI} marker. */
  static boolean isJpeg(byte[] b) {
    return b.length >= 4 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8;
  }

  /** Shows {@code visitor} the segments of the JPEG {@code b}, in order, until it or the header ends. */
  static void walk(byte[] b, Visitor visitor) {
    int i = 2;
    while (i + 4 <= b.length) {
      if ((b[i] & 0xff) != 0xff) {
        return;
      }
      int marker = b[i + 1] & 0xff;
      if (marker == 0xff) {
        i++; // fill byte
        continue;
      }
      if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2; // no length
        continue;
      }
      if (marker == 0xda || marker == 0xd9) {
        return; // start of scan, end of image: the metadata segments are behind us
      }
      int length = Bytes.u16(b, i + 2, false);
      int end = i + 2 + length;
      if (length < 2 || end > b.length || !visitor.segment(marker, i, end)) {
        return;
      }
      i = end;
    }
  }
}
