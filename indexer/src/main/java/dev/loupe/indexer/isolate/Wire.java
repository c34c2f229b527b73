package dev.loupe.indexer.isolate;

import dev.loupe.indexer.ContentProcessor;
import dev.loupe.indexer.ContentProcessor.Item;
import dev.loupe.vectorstore.durable.MetadataCodec;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The wire format between a server and its ingestion child: big-endian {@link DataOutputStream}
 * values, strings as a length and UTF-8 bytes (-1 for null).
 *
 * <pre>
 * child → server, once:  MAGIC (int) VERSION (int)
 * server → child:        id (int) sha (string) path (string)
 * child → server:        id (int) kind (byte) then
 *                          ITEMS:  extractor (string) count (int) and per item: ordinal (int)
 *                                  visual (boolean) vector length (int, -1 for none) floats and
 *                                  the metadata in its index-file form ({@link MetadataCodec})
 *                          FAILED: reason, message (strings)
 *                          GONE
 *                          ERROR:  message (string): the processor itself failed
 * </pre>
 *
 * A server closes the child's input to stop it; the child finishes what it has, answers, and exits.
 */
final class Wire {
  static final int MAGIC = 0x4c4f5550; // "LOUP"
  static final int VERSION = 1;
  static final byte ITEMS = 0, FAILED = 1, GONE = 2, ERROR = 3;
  /** Longest string accepted from the other side (a passage is far shorter). */
  private static final int MAX_STRING = 64 << 20;
  private static final int MAX_ITEMS = 10_000_000, MAX_DIMENSION = 65_536;

  private Wire() {}

  static void writeString(DataOutputStream out, String s) throws IOException {
    if (s == null) {
      out.writeInt(-1);
      return;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  static String readString(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n == -1) return null;
    if (n < 0 || n > MAX_STRING) throw new IOException("corrupt stream: a string of " + n + " bytes");
    byte[] b = in.readNBytes(n); // grows as bytes arrive, unlike a buffer sized by a corrupt length
    if (b.length != n) throw new java.io.EOFException("stream ended inside a string of " + n + " bytes");
    return new String(b, StandardCharsets.UTF_8);
  }

  static void writeProcessed(DataOutputStream out, int id, ContentProcessor.Processed p) throws IOException {
    out.writeInt(id);
    switch (p) {
      case ContentProcessor.Items i -> {
        out.writeByte(ITEMS);
        writeString(out, i.extractor());
        out.writeInt(i.items().size());
        for (Item item : i.items()) {
          out.writeInt(item.ordinal());
          out.writeBoolean(item.visual());
          float[] v = item.vector();
          out.writeInt(v == null ? -1 : v.length);
          if (v != null) {
            for (float f : v) out.writeFloat(f);
          }
          MetadataCodec.write(out, item.metadata());
        }
      }
      case ContentProcessor.Failed f -> {
        out.writeByte(FAILED);
        writeString(out, f.reason());
        writeString(out, f.message());
      }
      case ContentProcessor.Gone g -> out.writeByte(GONE);
    }
  }

  static void writeError(DataOutputStream out, int id, String message) throws IOException {
    out.writeInt(id);
    out.writeByte(ERROR);
    writeString(out, message);
  }

  /** A response's body after its id: the processed content, or an {@link IOException} for ERROR. */
  static ContentProcessor.Processed readProcessed(DataInputStream in) throws IOException {
    byte kind = in.readByte();
    return switch (kind) {
      case ITEMS -> {
        String extractor = readString(in);
        int n = count(in.readInt(), MAX_ITEMS, "items");
        List<Item> items = new ArrayList<>(Math.min(n, 4096));
        for (int i = 0; i < n; i++) {
          int ordinal = in.readInt();
          boolean visual = in.readBoolean();
          int length = in.readInt();
          float[] v = null;
          if (length != -1) {
            v = new float[count(length, MAX_DIMENSION, "vector components")];
            for (int j = 0; j < v.length; j++) v[j] = in.readFloat();
          }
          items.add(new Item(ordinal, visual, v, MetadataCodec.read(in, MAX_STRING)));
        }
        yield new ContentProcessor.Items(extractor, items);
      }
      case FAILED -> new ContentProcessor.Failed(readString(in), readString(in));
      case GONE -> new ContentProcessor.Gone();
      case ERROR -> throw new ProcessorError(readString(in));
      default -> throw new IOException("corrupt stream: response kind " + kind);
    };
  }

  private static int count(int n, int max, String what) throws IOException {
    if (n < 0 || n > max) throw new IOException("corrupt stream: " + n + " " + what);
    return n;
  }

  /** The child's processor failed on a content (not the file itself, not the child). */
  static final class ProcessorError extends IOException {
    ProcessorError(String message) {
      super(message);
    }
  }
}
