package dev.loupe.embeddings.image;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * TIFF structures for the EXIF tests, built entry by entry so that well-formed and hostile ones
 * come from the same code: IFD0 at offset 8, the Exif IFD (when there is one) right after it,
 * then the values longer than four bytes. JPEG and PNG containers come from {@link ClipFixtures}.
 */
final class ExifFixtures {
  private ExifFixtures() {}

  static final int ORIENTATION = 0x0112;
  static final int DATE_TIME = 0x0132;
  static final int EXIF_IFD = 0x8769;
  static final int DATE_TIME_ORIGINAL = 0x9003;

  /** In {@link Entry#value()}: the offset of the Exif IFD, filled in when the structure is built. */
  static final long EXIF_IFD_OFFSET = -1;

  /**
   * One IFD entry as stored. When {@code data} is not null it is written after the IFDs and
   * {@code value} is replaced by its offset; else {@code value} is written into the entry's four
   * value bytes as the type's width (left-justified, as TIFF stores short values).
   */
  record Entry(int tag, int type, long count, long value, byte[] data) {}

  static Entry shortValue(int tag, int value) {
    return new Entry(tag, 3, 1, value, null);
  }

  /** {@code s} as NUL-terminated ASCII, as EXIF stores dates. */
  static Entry ascii(int tag, String s) {
    byte[] bytes = (s + "\0").getBytes(StandardCharsets.US_ASCII);
    return new Entry(tag, 2, bytes.length, 0, bytes);
  }

  /** IFD0's pointer to the Exif IFD. */
  static Entry exifPointer() {
    return new Entry(EXIF_IFD, 4, 1, EXIF_IFD_OFFSET, null);
  }

  /**
   * The usual shape: IFD0 with the orientation and {@code DateTime} (each when not null), and, when
   * {@code dateTimeOriginal} is not null, a pointer to an Exif IFD holding it.
   */
  static byte[] tiff(boolean little, Integer orientation, String dateTime, String dateTimeOriginal) {
    List<Entry> ifd0 = new ArrayList<>();
    List<Entry> exif = new ArrayList<>();
    if (orientation != null) {
      ifd0.add(shortValue(ORIENTATION, orientation));
    }
    if (dateTime != null) {
      ifd0.add(ascii(DATE_TIME, dateTime));
    }
    if (dateTimeOriginal != null) {
      ifd0.add(exifPointer());
      exif.add(ascii(DATE_TIME_ORIGINAL, dateTimeOriginal));
    }
    return tiffWithIfds(little, 0, ifd0, exif);
  }

  /** A TIFF structure of IFD0 (whose next-IFD pointer is {@code ifd0Next}) and an Exif IFD when {@code exif} is not empty. */
  static byte[] tiffWithIfds(boolean little, long ifd0Next, List<Entry> ifd0, List<Entry> exif) {
    int ifd0At = 8;
    int exifAt = ifd0At + ifdSize(ifd0);
    int dataAt = exifAt + (exif.isEmpty() ? 0 : ifdSize(exif));
    int size = dataAt;
    for (Entry e : concat(ifd0, exif)) {
      size += e.data() == null ? 0 : e.data().length;
    }
    ByteBuffer t = ByteBuffer.allocate(size).order(little ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    t.put((byte) (little ? 'I' : 'M')).put((byte) (little ? 'I' : 'M')).putShort((short) 42).putInt(ifd0At);
    int[] data = {dataAt};
    writeIfd(t, ifd0, ifd0Next, exifAt, data);
    if (!exif.isEmpty()) {
      writeIfd(t, exif, 0, exifAt, data);
    }
    for (Entry e : concat(ifd0, exif)) {
      if (e.data() != null) {
        t.put(e.data());
      }
    }
    return t.array();
  }

  private static int ifdSize(List<Entry> entries) {
    return 2 + 12 * entries.size() + 4;
  }

  private static List<Entry> concat(List<Entry> a, List<Entry> b) {
    List<Entry> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static void writeIfd(ByteBuffer t, List<Entry> entries, long next, int exifAt, int[] dataAt) {
    t.putShort((short) entries.size());
    for (Entry e : entries) {
      t.putShort((short) e.tag()).putShort((short) e.type()).putInt((int) e.count());
      if (e.data() != null) {
        t.putInt(dataAt[0]);
        dataAt[0] += e.data().length;
      } else {
        long value = e.value() == EXIF_IFD_OFFSET ? exifAt : e.value();
        switch (e.type()) {
          case 1, 7 -> t.put((byte) value).put((byte) 0).putShort((short) 0);
          case 3, 8 -> t.putShort((short) value).putShort((short) 0);
          default -> t.putInt((int) value);
        }
      }
    }
    t.putInt((int) next);
  }

  /** A minimal WebP container: a {@code VP8X} header, an odd-sized {@code VP8L} chunk, and an {@code EXIF} chunk. */
  static byte[] webpWithExif(byte[] tiff) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes("WEBP".getBytes(StandardCharsets.US_ASCII));
    riffChunk(body, "VP8X", new byte[10]);
    riffChunk(body, "VP8L", new byte[5]); // odd length: padded
    riffChunk(body, "EXIF", tiff);
    byte[] b = body.toByteArray();
    ByteBuffer out = ByteBuffer.allocate(8 + b.length).order(ByteOrder.LITTLE_ENDIAN);
    out.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(b.length).put(b);
    return out.array();
  }

  private static void riffChunk(ByteArrayOutputStream out, String type, byte[] data) {
    ByteBuffer header = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    header.put(type.getBytes(StandardCharsets.US_ASCII)).putInt(data.length);
    out.writeBytes(header.array());
    out.writeBytes(data);
    if (data.length % 2 == 1) {
      out.write(0);
    }
  }
}
