package dev.loupe.indexer.isolate;

import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.durable.MetadataCodec;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * The wire format between a server and its index writer process ({@link RemoteIndexes} and {@link
 * IndexWriterServer}): big-endian {@link DataOutputStream} values, strings as in {@link Wire}.
 *
 * <pre>
 * writer → server, once:  MAGIC (int) VERSION (int)
 * server → writer:        PUT    index (byte) id (string) vector length (int, -1 for none) floats
 *                                metadata in its index-file form ({@link MetadataCodec})
 *                         DELETE index (byte) id (string)
 *                         COMMIT index (byte) sequence (long)
 * writer → server:        COMMITTED index (byte) sequence (long)
 *                         FAILED message (string), after which the writer exits
 * </pre>
 *
 * {@code index} is 0 for the text index and 1 for the visual one. PUT adds the item or replaces the
 * one with its id, and DELETE of an absent id does nothing, so the server can send what a dead
 * writer had not committed to a new one again. Closing the writer's input ends it without
 * committing.
 */
final class WriterWire {
  static final int MAGIC = 0x4c4f5557; // "LOUW"
  static final int VERSION = 1;
  static final byte PUT = 0, DELETE = 1, COMMIT = 2;
  static final byte COMMITTED = 0, FAILED = 1;
  static final byte TEXT = 0, VISUAL = 1;
  private static final int MAX_STRING = 64 << 20, MAX_DIMENSION = 65_536;

  private WriterWire() {}

  static void writePut(DataOutputStream out, byte index, String id, float[] vector, Metadata metadata) throws IOException {
    out.writeByte(PUT);
    out.writeByte(index);
    Wire.writeString(out, id);
    out.writeInt(vector == null ? -1 : vector.length);
    if (vector != null) {
      for (float f : vector) out.writeFloat(f);
    }
    MetadataCodec.write(out, metadata);
  }

  static void writeDelete(DataOutputStream out, byte index, String id) throws IOException {
    out.writeByte(DELETE);
    out.writeByte(index);
    Wire.writeString(out, id);
  }

  static void writeCommit(DataOutputStream out, byte index, long sequence) throws IOException {
    out.writeByte(COMMIT);
    out.writeByte(index);
    out.writeLong(sequence);
  }

  static float[] readVector(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n == -1) return null;
    if (n < 0 || n > MAX_DIMENSION) throw new IOException("corrupt stream: a vector of " + n + " components");
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = in.readFloat();
    return v;
  }

  static Metadata readMetadata(DataInputStream in) throws IOException {
    return MetadataCodec.read(in, MAX_STRING);
  }

  static byte readIndex(DataInputStream in) throws IOException {
    byte index = in.readByte();
    if (index != TEXT && index != VISUAL) throw new IOException("corrupt stream: index " + index);
    return index;
  }

  static String name(byte index) {
    return index == TEXT ? "text" : "visual";
  }
}
