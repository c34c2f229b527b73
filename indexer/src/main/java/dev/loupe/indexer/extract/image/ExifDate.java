package dev.loupe.indexer.extract.image;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The date a photo was taken, from its EXIF data: {@code DateTimeOriginal} (tag 0x9003 of the Exif
 * IFD), else {@code DateTime} (tag 0x0132 of IFD0). EXIF is found in a JPEG's first
 * {@code APP1 Exif} segment, a PNG's {@code eXIf} chunk, a WebP's {@code EXIF} chunk, or a TIFF
 * file itself. EXIF dates carry no time zone: the result is a local date-time.
 *
 * <p>Input is untrusted: every offset is bounds-checked, malformed structures and dates (such as
 * the {@code 0000:00:00 00:00:00} some cameras write) give no date rather than an error.
 *
 * <p>Stateless and thread-safe.
 */
public final class ExifDate {

  private static final int TAG_DATE_TIME = 0x0132;
  private static final int TAG_EXIF_IFD = 0x8769;
  private static final int TAG_DATE_TIME_ORIGINAL = 0x9003;
  private static final int TYPE_ASCII = 2;
  private static final int TYPE_LONG = 4;
  private static final int TYPE_IFD = 13;
  private static final DateTimeFormatter EXIF = DateTimeFormatter.ofPattern("uuuu:MM:dd HH:mm:ss");

  private ExifDate() {}

  /** The EXIF date of the encoded image {@code b}, if it has one. */
  public static Optional<LocalDateTime> of(byte[] b) {
    int[] tiff = tiffRange(b);
    if (tiff == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(date(b, tiff[0], tiff[1]));
  }

  /** {@code [start, end)} of the TIFF structure holding the EXIF data, or null. */
  static int[] tiffRange(byte[] b) {
    if (b.length >= 4 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8) {
      return jpeg(b);
    }
    if (b.length >= 8 && (b[0] & 0xff) == 0x89 && startsWith(b, 1, "PNG")) {
      return png(b);
    }
    if (b.length >= 12 && startsWith(b, 0, "RIFF") && startsWith(b, 8, "WEBP")) {
      return webp(b);
    }
    if (b.length >= 8 && (startsWith(b, 0, "II*\0") || startsWith(b, 0, "MM\0*"))) {
      return new int[] {0, b.length};
    }
    return null;
  }

  private static int[] jpeg(byte[] b) {
    int i = 2;
    while (i + 4 <= b.length) {
      if ((b[i] & 0xff) != 0xff) {
        return null;
      }
      int marker = b[i + 1] & 0xff;
      if (marker == 0xff) {
        i++;
        continue;
      }
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
        i += 2;
        continue;
      }
      if (marker == 0xda || marker == 0xd9) {
        return null; // start of scan: the metadata segments are behind us
      }
      int end = i + 2 + u16(b, i + 2, false);
      if (end > b.length || end < i + 4) {
        return null;
      }
      if (marker == 0xe1 && startsWith(b, i + 4, "Exif\0\0")) {
        return new int[] {i + 10, end};
      }
      i = end;
    }
    return null;
  }

  private static int[] png(byte[] b) {
    int i = 8;
    while (i + 12 <= b.length) {
      long length = u32(b, i, false);
      if (length > b.length - i - 12L) {
        return null;
      }
      int start = i + 8, end = start + (int) length;
      if (startsWith(b, i + 4, "eXIf")) {
        return startsWith(b, start, "Exif\0\0") ? new int[] {start + 6, end} : new int[] {start, end};
      }
      if (startsWith(b, i + 4, "IDAT") || startsWith(b, i + 4, "IEND")) {
        return null; // eXIf must come before the image data
      }
      i = end + 4;
    }
    return null;
  }

  private static int[] webp(byte[] b) {
    int i = 12;
    while (i + 8 <= b.length) {
      long length = u32(b, i + 4, true);
      if (length > b.length - i - 8L) {
        return null;
      }
      int start = i + 8, end = start + (int) length;
      if (startsWith(b, i, "EXIF")) {
        return startsWith(b, start, "Exif\0\0") ? new int[] {start + 6, end} : new int[] {start, end};
      }
      i = end + (int) (length & 1); // chunks are padded to even sizes
    }
    return null;
  }

  /** DateTimeOriginal from the Exif IFD, else DateTime from IFD0, of the TIFF structure in {@code b[start, end)}. */
  static LocalDateTime date(byte[] b, int start, int end) {
    if (end - start < 8) {
      return null;
    }
    boolean little;
    if (b[start] == 'I' && b[start + 1] == 'I') {
      little = true;
    } else if (b[start] == 'M' && b[start + 1] == 'M') {
      little = false;
    } else {
      return null;
    }
    if (u16(b, start + 2, little) != 42) {
      return null;
    }
    Tiff tiff = new Tiff(b, start, end, little);
    long ifd0 = u32(b, start + 4, little);
    LocalDateTime original = null;
    long exifIfd = tiff.offset(ifd0, TAG_EXIF_IFD);
    if (exifIfd > 0) {
      original = parse(tiff.ascii(exifIfd, TAG_DATE_TIME_ORIGINAL));
    }
    return original != null ? original : parse(tiff.ascii(ifd0, TAG_DATE_TIME));
  }

  private static LocalDateTime parse(String s) {
    if (s == null) {
      return null;
    }
    String t = s.strip();
    if (t.length() < 19) {
      return null;
    }
    try {
      return LocalDateTime.parse(t.substring(0, 19), EXIF);
    } catch (DateTimeParseException e) {
      return null; // "0000:00:00 00:00:00", blanks, or another camera's idea of a date
    }
  }

  /** A TIFF structure's IFDs, read with bounds checks; offsets are relative to its start. */
  private record Tiff(byte[] b, int start, int end, boolean little) {

    /** Where entry {@code tag} of the IFD at {@code ifd} is, or -1. */
    private int entry(long ifd, int tag) {
      if (ifd < 8 || ifd > end - start - 2L) {
        return -1;
      }
      int p = start + (int) ifd;
      int entries = u16(b, p, little);
      p += 2;
      for (int e = 0; e < entries && p + 12 <= end; e++, p += 12) {
        if (u16(b, p, little) == tag) {
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
      int type = u16(b, p + 2, little);
      if ((type != TYPE_LONG && type != TYPE_IFD) || u32(b, p + 4, little) != 1) {
        return -1;
      }
      return u32(b, p + 8, little);
    }

    /** The ASCII value of {@code tag} in the IFD at {@code ifd}, up to its first NUL, or null. */
    String ascii(long ifd, int tag) {
      int p = entry(ifd, tag);
      if (p < 0 || u16(b, p + 2, little) != TYPE_ASCII) {
        return null;
      }
      long count = u32(b, p + 4, little);
      if (count < 1 || count > 64) {
        return null; // a date is 20 bytes
      }
      int at;
      if (count <= 4) {
        at = p + 8;
      } else {
        long offset = u32(b, p + 8, little);
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

  private static boolean startsWith(byte[] b, int at, String ascii) {
    if (at < 0 || at + ascii.length() > b.length) {
      return false;
    }
    for (int k = 0; k < ascii.length(); k++) {
      if (b[at + k] != (byte) ascii.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  private static int u16(byte[] b, int at, boolean little) {
    int b0 = b[at] & 0xff, b1 = b[at + 1] & 0xff;
    return little ? b0 | b1 << 8 : b0 << 8 | b1;
  }

  private static long u32(byte[] b, int at, boolean little) {
    long lo = u16(b, little ? at : at + 2, little), hi = u16(b, little ? at + 2 : at, little);
    return hi << 16 | lo;
  }
}
