package dev.loupe.vectorstore.durable;

import dev.loupe.vectorstore.Metadata;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The binary form of {@link Metadata} in Loupe's index files: type, path, page (int), timestamp
 * (long), text, field count (int) and key/value pairs, every string as an int byte length and
 * UTF-8 bytes, all big-endian. Readers bound every length by {@code limit} (the bytes left in
 * the file) so a corrupt length cannot allocate wildly; the caller turns {@link IOException}s
 * into a message that names its file.
 */
public final class MetadataCodec {
  private MetadataCodec() {}

  public static void write(DataOutput out, Metadata m) throws IOException {
    writeString(out, m.type());
    writeString(out, m.path());
    out.writeInt(m.page());
    out.writeLong(m.timestamp());
    writeString(out, m.text());
    out.writeInt(m.fields().size());
    for (var e : m.fields().entrySet()) {
      writeString(out, e.getKey());
      writeString(out, e.getValue());
    }
  }

  /**
   * Reads one metadata record.
   *
   * @throws IOException if a length is impossible or the stored values are not valid metadata
   */
  public static Metadata read(DataInput in, long limit) throws IOException {
    String type = readString(in, limit), path = readString(in, limit);
    int page = in.readInt();
    long timestamp = in.readLong();
    String text = readString(in, limit);
    int count = readCount(in, limit);
    Map<String, String> fields = new HashMap<>();
    for (int i = 0; i < count; i++) {
      fields.put(readString(in, limit), readString(in, limit));
    }
    try {
      return new Metadata(type, path, page, timestamp, text, fields);
    } catch (IllegalArgumentException e) {
      throw new IOException("stored metadata is invalid: " + e.getMessage(), e);
    }
  }

  public static void writeString(DataOutput out, String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  public static String readString(DataInput in, long limit) throws IOException {
    byte[] bytes = new byte[readCount(in, limit)];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A length or count, at most {@code limit}. */
  public static int readCount(DataInput in, long limit) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > limit) {
      throw new IOException("impossible length " + n + " (at most " + limit + " bytes remain)");
    }
    return n;
  }
}
