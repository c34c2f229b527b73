package dev.loupe.embeddings.image;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;

/**
 * The EXIF tags Loupe uses, read from an encoded image: the orientation (for {@link ImageDecoder}
 * to turn the pixels upright) and the capture date (for the indexer's metadata). EXIF is found in
 * a JPEG's first {@code APP1 Exif} segment, a PNG's {@code eXIf} chunk, a WebP's {@code EXIF}
 * chunk, or a TIFF file itself; the TIFF structure is parsed once for all tags.
 *
 * <p>Input is untrusted: every offset and count is bounds-checked against the EXIF block before
 * it is followed, and only IFD0 and the Exif IFD it points to are read (no IFD chain is followed,
 * so a structure that points back into itself costs no more than one that does not). Anything
 * malformed, like a missing block, gives {@link #ABSENT} or the tags that could be read; reading
 * never throws.
 *
 * <p>An immutable value; the static methods are stateless and thread-safe.
 *
 * @param orientation IFD0's {@code Orientation} (tag 0x0112), 1 (as stored) to 8; 1 when it is
 *     absent, malformed or outside that range
 * @param dateTimeOriginal the Exif IFD's {@code DateTimeOriginal} (tag 0x9003), when it is a date;
 *     empty for none or one such as the {@code 0000:00:00 00:00:00} some cameras write. EXIF dates
 *     carry no time zone
 * @param dateTime IFD0's {@code DateTime} (tag 0x0132, the file's last change), likewise
 */
public record Exif(int orientation, Optional<LocalDateTime> dateTimeOriginal, Optional<LocalDateTime> dateTime) {

  /** No EXIF, or none that could be read: upright, no dates. */
  public static final Exif ABSENT = new Exif(1, Optional.empty(), Optional.empty());

  private static final int TAG_ORIENTATION = 0x0112;
  private static final int TAG_DATE_TIME = 0x0132;
  private static final int TAG_EXIF_IFD = 0x8769;
  private static final int TAG_DATE_TIME_ORIGINAL = 0x9003;
  private static final int TYPE_ASCII = 2;
  private static final int TYPE_LONG = 4;
  private static final int TYPE_IFD = 13;
  /** The longest ASCII value read: a date is 20 bytes, so a longer one is no date. */
  private static final int MAX_ASCII = 64;
  private static final DateTimeFormatter EXIF_DATE = DateTimeFormatter.ofPattern("uuuu:MM:dd HH:mm:ss");

  public Exif {
    if (orientation < 1 || orientation > 8) {
      throw new IllegalArgumentException("EXIF orientation " + orientation + " is outside [1, 8]");
    }
    Objects.requireNonNull(dateTimeOriginal, "dateTimeOriginal");
    Objects.requireNonNull(dateTime, "dateTime");
  }

  /** When the picture was taken: {@link #dateTimeOriginal()}, else {@link #dateTime()}. */
  public Optional<LocalDateTime> taken() {
    return dateTimeOriginal.or(() -> dateTime);
  }

  /** The EXIF tags of the encoded image {@code encoded} (JPEG, PNG, WebP or TIFF); {@link #ABSENT} for none. */
  public static Exif of(byte[] encoded) {
    int[] tiff = tiffRange(encoded);
    return tiff == null ? ABSENT : ofTiff(encoded, tiff[0], tiff[1]);
  }

  /** Whether {@code b} starts with the PNG signature's first four bytes. */
  static boolean isPng(byte[] b) {
    return b.length >= 8 && (b[0] & 0xff) == 0x89 && Bytes.startsWith(b, 1, "PNG");
  }

  /** {@code [start, end)} of the TIFF structure holding the EXIF data, or null. */
  private static int[] tiffRange(byte[] b) {
    if (JpegSegments.isJpeg(b)) {
      return jpeg(b);
    }
    if (isPng(b)) {
      return png(b);
    }
    if (b.length >= 12 && Bytes.startsWith(b, 0, "RIFF") && Bytes.startsWith(b, 8, "WEBP")) {
      return webp(b);
    }
    if (b.length >= 8 && (Bytes.startsWith(b, 0, "II*\0") || Bytes.startsWith(b, 0, "MM\0*"))) {
      return new int[] {0, b.length};
    }
    return null;
  }

  /** The first {@code APP1 Exif} segment, as Pillow reads it. */
  private static int[] jpeg(byte[] b) {
    int[][] found = new int[1][];
    JpegSegments.walk(b, (marker, at, end) -> {
      if (marker == 0xe1 && end - at >= 10 && Bytes.startsWith(b, at + 4, "Exif\0\0")) {
        found[0] = new int[] {at + 10, end};
        return false;
      }
      return true;
    });
    return found[0];
  }

  /** The {@code eXIf} chunk, before the image data or (as Pillow finds it when loading) after. */
  private static int[] png(byte[] b) {
    int i = 8;
    while (i + 12 <= b.length) {
      long length = Bytes.u32(b, i, false);
      if (length > b.length - i - 12L) {
        return null;
      }
      int start = i + 8, end = start + (int) length;
      if (Bytes.startsWith(b, i + 4, "eXIf")) {
        return withoutExifHeader(b, start, end);
      }
      if (Bytes.startsWith(b, i + 4, "IEND")) {
        return null;
      }
      i = end + 4; // past the CRC
    }
    return null;
  }

  private static int[] webp(byte[] b) {
    int i = 12;
    while (i + 8 <= b.length) {
      long length = Bytes.u32(b, i + 4, true);
      if (length > b.length - i - 8L) {
        return null;
      }
      int start = i + 8, end = start + (int) length;
      if (Bytes.startsWith(b, i, "EXIF")) {
        return withoutExifHeader(b, start, end);
      }
      i = end + (int) (length & 1); // chunks are padded to even sizes
    }
    return null;
  }

  /** {@code [start, end)}, less the {@code Exif\0\0} header some writers put in PNG and WebP chunks too. */
  private static int[] withoutExifHeader(byte[] b, int start, int end) {
    return end - start >= 6 && Bytes.startsWith(b, start, "Exif\0\0") ? new int[] {start + 6, end} : new int[] {start, end};
  }

  /** The tags of the TIFF structure in {@code b[start, end)}. */
  static Exif ofTiff(byte[] b, int start, int end) {
    if (start < 0 || end > b.length || end - start < 8) {
      return ABSENT;
    }
    boolean little;
    if (b[start] == 'I' && b[start + 1] == 'I') {
      little = true;
    } else if (b[start] == 'M' && b[start + 1] == 'M') {
      little = false;
    } else {
      return ABSENT;
    }
    if (Bytes.u16(b, start + 2, little) != 42) {
      return ABSENT;
    }
    Tiff tiff = new Tiff(b, start, end, little);
    long ifd0 = Bytes.u32(b, start + 4, little);
    long exifIfd = tiff.offset(ifd0, TAG_EXIF_IFD);
    Optional<LocalDateTime> original = exifIfd > 0 ? parse(tiff.ascii(exifIfd, TAG_DATE_TIME_ORIGINAL)) : Optional.empty();
    return new Exif(tiff.orientation(ifd0), original, parse(tiff.ascii(ifd0, TAG_DATE_TIME)));
  }

  private static Optional<LocalDateTime> parse(String s) {
    if (s == null) {
      return Optional.empty();
    }
    String t = s.strip();
    if (t.length() < 19) {
      return Optional.empty();
    }
    try {
      return Optional.of(LocalDateTime.parse(t.substring(0, 19), EXIF_DATE));
    } catch (DateTimeParseException e) {
      return Optional.empty(); // "0000:00:00 00:00:00", blanks, or another camera's idea of a date
    }
  }

  /** A TIFF structure's IFDs, read with bounds checks; offsets are relative to its start. */
  private record Tiff(byte[] b, int start, int end, boolean little) {

    /** Where the first entry {@code tag} of the IFD at {@code ifd} is, or -1. */
    private int entry(long ifd, int tag) {
      if (ifd < 8 || ifd > end - start - 2L) {
        return -1;
      }
      int p = start + (int) ifd;
      int entries = Bytes.u16(b, p, little);
      p += 2;
      for (int e = 0; e < entries && p <= end - 12; e++, p += 12) {
        if (Bytes.u16(b, p, little) == tag) {
          return p;
        }
      }
      return -1;
    }

    /** The offset an IFD pointer tag holds, or -1. */
    long offset(long ifd, int tag) {
      int p = entry(ifd, tag);
      if (p < 0) {
        return -1;
      }
      int type = Bytes.u16(b, p + 2, little);
      if ((type != TYPE_LONG && type != TYPE_IFD) || Bytes.u32(b, p + 4, little) != 1) {
        return -1;
      }
      return Bytes.u32(b, p + 8, little);
    }

    /** The orientation tag of the IFD at {@code ifd}, as any integer type with count 1, or 1. */
    int orientation(long ifd) {
      int p = entry(ifd, TAG_ORIENTATION);
      if (p < 0 || Bytes.u32(b, p + 4, little) != 1) {
        return 1;
      }
      long value = switch (Bytes.u16(b, p + 2, little)) {
        case 1, 7 -> b[p + 8] & 0xff;                // BYTE, UNDEFINED
        case 3, 8 -> Bytes.u16(b, p + 8, little);    // SHORT, SSHORT
        case 4, 9 -> Bytes.u32(b, p + 8, little);    // LONG, SLONG
        default -> 1;
      };
      return value >= 1 && value <= 8 ? (int) value : 1;
    }

    /** The ASCII value of {@code tag} in the IFD at {@code ifd}, up to its first NUL, or null. */
    String ascii(long ifd, int tag) {
      int p = entry(ifd, tag);
      if (p < 0 || Bytes.u16(b, p + 2, little) != TYPE_ASCII) {
        return null;
      }
      long count = Bytes.u32(b, p + 4, little);
      if (count < 1 || count > MAX_ASCII) {
        return null;
      }
      int at;
      if (count <= 4) {
        at = p + 8;
      } else {
        long offset = Bytes.u32(b, p + 8, little);
        if (offset > end - start - count) {
          return null;
        }
        at = start + (int) offset;
      }
      int n = 0;
      while (n < count && b[at + n] != 0) {
        n++;
      }
      return new String(b, at, n, StandardCharsets.US_ASCII);
    }
  }
}
