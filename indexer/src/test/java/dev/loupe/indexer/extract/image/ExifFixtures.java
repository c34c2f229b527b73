package dev.loupe.indexer.extract.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A JPEG carrying EXIF, built byte by byte for the extractor's tests; the EXIF parsing itself is
 * tested, on hostile input too, with {@code dev.loupe.embeddings.image.Exif} in the embeddings module.
 */
final class ExifFixtures {
  private ExifFixtures() {}

  /**
   * A TIFF structure whose IFD0 has the orientation (when not null) and {@code DateTime} (when not
   * null), and, when {@code dateTimeOriginal} is not null, a pointer to an Exif IFD holding it.
   */
  static byte[] tiff(boolean little, Integer orientation, String dateTime, String dateTimeOriginal) {
    int entries0 = (orientation != null ? 1 : 0) + (dateTime != null ? 1 : 0) + (dateTimeOriginal != null ? 1 : 0);
    int ifd0 = 8, ifd0Size = 2 + 12 * entries0 + 4;
    int exifIfd = ifd0 + ifd0Size, exifSize = dateTimeOriginal != null ? 2 + 12 + 4 : 0;
    int dateAt = exifIfd + exifSize, originalAt = dateAt + (dateTime != null ? ascii(dateTime).length : 0);
    int size = originalAt + (dateTimeOriginal != null ? ascii(dateTimeOriginal).length : 0);
    ByteBuffer t = ByteBuffer.allocate(size).order(little ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    t.put((byte) (little ? 'I' : 'M')).put((byte) (little ? 'I' : 'M')).putShort((short) 42).putInt(ifd0);
    t.putShort((short) entries0);
    if (orientation != null) {
      t.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort(orientation.shortValue()).putShort((short) 0);
    }
    if (dateTime != null) {
      t.putShort((short) 0x0132).putShort((short) 2).putInt(ascii(dateTime).length).putInt(dateAt);
    }
    if (dateTimeOriginal != null) {
      t.putShort((short) 0x8769).putShort((short) 4).putInt(1).putInt(exifIfd);
    }
    t.putInt(0);
    if (dateTimeOriginal != null) {
      t.putShort((short) 1);
      t.putShort((short) 0x9003).putShort((short) 2).putInt(ascii(dateTimeOriginal).length).putInt(originalAt);
      t.putInt(0);
    }
    if (dateTime != null) {
      t.put(ascii(dateTime));
    }
    if (dateTimeOriginal != null) {
      t.put(ascii(dateTimeOriginal));
    }
    return t.array();
  }

  /** {@code s} as NUL-terminated ASCII, as EXIF stores it. */
  static byte[] ascii(String s) {
    return (s + "\0").getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code jpeg} with an {@code APP1 Exif} segment holding {@code tiff}, right after the JFIF {@code APP0}. */
  static byte[] jpegWithExif(byte[] jpeg, byte[] tiff) {
    ByteBuffer app1 = ByteBuffer.allocate(4 + 6 + tiff.length);
    app1.put((byte) 0xff).put((byte) 0xe1).putShort((short) (2 + 6 + tiff.length));
    app1.put("Exif\0\0".getBytes(StandardCharsets.US_ASCII)).put(tiff);
    int at = 2;
    if ((jpeg[2] & 0xff) == 0xff && (jpeg[3] & 0xff) == 0xe0) {
      at = 4 + ((jpeg[4] & 0xff) << 8 | (jpeg[5] & 0xff));
    }
    return insertAt(jpeg, at, app1.array());
  }

  static byte[] insertAt(byte[] bytes, int at, byte[] segment) {
    byte[] out = new byte[bytes.length + segment.length];
    System.arraycopy(bytes, 0, out, 0, at);
    System.arraycopy(segment, 0, out, at, segment.length);
    System.arraycopy(bytes, at, out, at + segment.length, bytes.length - at);
    return out;
  }
}
