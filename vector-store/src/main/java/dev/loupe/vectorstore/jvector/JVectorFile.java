package dev.loupe.vectorstore.jvector;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.durable.AtomicFile;
import dev.loupe.vectorstore.durable.MetadataCodec;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * The one durable file of a {@link JVectorIndex}: the spec, the free field names seen and every
 * live item (id, metadata, vector). The graph is not stored; it is rebuilt from the vectors when
 * the index is opened.
 *
 * <p>Layout, big-endian: {@code int magic "LPJV"}, {@code int version}, {@code int dimension},
 * {@code str similarity}, {@code int fieldNameCount}, {@code str fieldName…}, {@code int
 * itemCount}, then per item {@code str id, str type, str path, int page, long timestamp, str
 * text, int fieldCount, (str key, str value)…, float[dimension] vector}, and last {@code int
 * crc32c} over every byte before it. A {@code str} is an {@code int} byte length followed by
 * UTF-8 bytes.
 *
 * <p>{@link #write} replaces the file atomically: temp file, fsync, atomic rename, directory
 * fsync. {@link #read} checks magic, version and checksum before parsing anything and names the
 * file in every error. Stateless and thread-safe.
 */
final class JVectorFile {
  static final String NAME = "jvector.data";
  static final int MAGIC = 0x4C504A56; // "LPJV"
  static final int VERSION = 1;

  private static final int HEADER_BYTES = 8;
  private static final int CHECKSUM_BYTES = 4;
  private static final VectorTypeSupport VTS =
      VectorizationProvider.getInstance().getVectorTypeSupport();

  private JVectorFile() {}

  /** One stored item. The vector is never modified once it is in an index. */
  record Entry(String id, VectorFloat<?> vector, Metadata metadata) {}

  /** Everything the file holds. */
  record Contents(IndexSpec spec, List<String> fieldNames, List<Entry> entries) {}

  /** The data file inside an index directory. */
  static Path path(Path dir) {
    return dir.resolve(NAME);
  }

  /** Replaces the data file in {@code dir} with {@code contents}, durably and atomically. */
  static void write(Path dir, Contents contents) throws IOException {
    int dimension = contents.spec().dimension();
    CRC32C crc = new CRC32C();
    AtomicFile.replace(path(dir), channel -> {
      // The stream is not closed itself: the try closes the channel once it is forced.
      DataOutputStream out =
          new DataOutputStream(
              new BufferedOutputStream(
                  new CheckedOutputStream(Channels.newOutputStream(channel), crc), 1 << 16));
      out.writeInt(MAGIC);
      out.writeInt(VERSION);
      out.writeInt(dimension);
      writeString(out, contents.spec().similarity().name());
      out.writeInt(contents.fieldNames().size());
      for (String name : contents.fieldNames()) {
        writeString(out, name);
      }
      out.writeInt(contents.entries().size());
      byte[] vectorBytes = new byte[dimension * Float.BYTES];
      ByteBuffer vectorBuffer = ByteBuffer.wrap(vectorBytes);
      for (Entry e : contents.entries()) {
        writeString(out, e.id());
        MetadataCodec.write(out, e.metadata());
        VectorFloat<?> v = e.vector();
        for (int j = 0; j < dimension; j++) {
          vectorBuffer.putFloat(j * Float.BYTES, v.get(j));
        }
        out.write(vectorBytes);
      }
      out.flush();
      out.writeInt((int) crc.getValue());
      out.flush();
    });
  }

  /**
   * Reads and verifies a data file.
   *
   * @throws IOException naming the file when it is truncated, is not a Loupe jvector file, has
   *     another version or fails its checksum
   */
  static Contents read(Path file) throws IOException {
    long size = Files.size(file);
    if (size < HEADER_BYTES + CHECKSUM_BYTES) {
      throw new IOException(
          "jvector index file " + file + " is truncated: " + size + " bytes is too short");
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
      readFully(channel, header, 0, file);
      int magic = header.getInt(0);
      if (magic != MAGIC) {
        throw new IOException(
            "jvector index file "
                + file
                + " has magic 0x"
                + Integer.toHexString(magic)
                + ", expected 0x"
                + Integer.toHexString(MAGIC)
                + ": not a Loupe jvector index file");
      }
      int version = header.getInt(4);
      if (version != VERSION) {
        throw new IOException(
            "jvector index file "
                + file
                + " has version "
                + version
                + "; this build reads version "
                + VERSION);
      }
      verifyChecksum(channel, size, file);
      channel.position(0);
      DataInputStream in =
          new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), 1 << 16));
      try {
        return parse(in, size, file);
      } catch (EOFException e) {
        throw new IOException("jvector index file " + file + " ends early", e);
      } catch (IllegalArgumentException e) {
        // Only reachable when a writer produced a well-checksummed but invalid file.
        throw new IOException(
            "jvector index file " + file + " holds invalid data: " + e.getMessage(), e);
      }
    }
  }

  private static Contents parse(DataInputStream in, long size, Path file) throws IOException {
    in.readInt(); // magic, checked
    in.readInt(); // version, checked
    int dimension = in.readInt();
    String similarityName = readString(in, size, file);
    Similarity similarity;
    try {
      similarity = Similarity.valueOf(similarityName);
    } catch (IllegalArgumentException e) {
      throw new IOException(
          "jvector index file " + file + " names unknown similarity '" + similarityName + "'", e);
    }
    IndexSpec spec = new IndexSpec(dimension, similarity);
    int nameCount = readCount(in, size, file);
    List<String> fieldNames = new ArrayList<>(nameCount);
    for (int i = 0; i < nameCount; i++) {
      fieldNames.add(readString(in, size, file));
    }
    int count = readCount(in, size, file);
    List<Entry> entries = new ArrayList<>(count);
    byte[] vectorBytes = new byte[dimension * Float.BYTES];
    ByteBuffer vectorBuffer = ByteBuffer.wrap(vectorBytes);
    for (int i = 0; i < count; i++) {
      String id = readString(in, size, file);
      Metadata metadata;
      try {
        metadata = MetadataCodec.read(in, size);
      } catch (IOException e) {
        throw new IOException("jvector index file " + file + ": " + e.getMessage(), e);
      }
      in.readFully(vectorBytes);
      float[] vector = new float[dimension];
      for (int j = 0; j < dimension; j++) {
        vector[j] = vectorBuffer.getFloat(j * Float.BYTES);
      }
      entries.add(
          new Entry(
              id,
              VTS.createFloatVector(vector),
              metadata));
    }
    return new Contents(spec, fieldNames, entries);
  }

  private static void verifyChecksum(FileChannel channel, long size, Path file) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
    long end = size - CHECKSUM_BYTES;
    long position = 0;
    while (position < end) {
      buffer.clear();
      buffer.limit((int) Math.min(buffer.capacity(), end - position));
      int n = channel.read(buffer, position);
      if (n < 0) {
        throw new IOException("jvector index file " + file + " ends early");
      }
      buffer.flip();
      crc.update(buffer);
      position += n;
    }
    ByteBuffer stored = ByteBuffer.allocate(CHECKSUM_BYTES);
    readFully(channel, stored, end, file);
    int expected = stored.getInt(0);
    int actual = (int) crc.getValue();
    if (expected != actual) {
      throw new IOException(
          "jvector index file "
              + file
              + " fails its checksum (stored 0x"
              + Integer.toHexString(expected)
              + ", computed 0x"
              + Integer.toHexString(actual)
              + "): the file is corrupt");
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file)
      throws IOException {
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position + buffer.position());
      if (n < 0) {
        throw new IOException("jvector index file " + file + " ends early");
      }
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    MetadataCodec.writeString(out, s);
  }

  private static String readString(DataInputStream in, long size, Path file) throws IOException {
    int length = readCount(in, size, file);
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A length or count; bounded by the file size so a bad value cannot allocate wildly. */
  private static int readCount(DataInputStream in, long size, Path file) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > size) {
      throw new IOException("jvector index file " + file + " holds an impossible length " + n);
    }
    return n;
  }

}
