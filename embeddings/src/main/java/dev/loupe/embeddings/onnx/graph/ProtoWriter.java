package dev.loupe.embeddings.onnx.graph;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A minimal writer of the protobuf wire format: varints, 32-bit floats, length-delimited bytes,
 * strings, packed int64s and nested messages. Enough to write ONNX models, nothing more.
 *
 * <p>A nested message is written length-first, so its size is computed beforehand by running its
 * {@link Message#writeTo} against a counting writer that stores nothing; raw tensor data is
 * therefore streamed to the output once, never buffered whole. Not thread-safe.
 */
public final class ProtoWriter {

  /** A protobuf message: writes its fields, in any order, to a writer. */
  @FunctionalInterface
  public interface Message {
    void writeTo(ProtoWriter out) throws IOException;
  }

  private static final int VARINT = 0, LENGTH_DELIMITED = 2, FIXED32 = 5;

  private final OutputStream out; // null when only counting
  private long written;
  // Scratch for little-endian conversion of float and long arrays, allocated once per writer.
  private ByteBuffer scratch;

  private ProtoWriter(OutputStream out) {
    this.out = out;
  }

  /** A writer that appends to {@code out}; the caller closes the stream. */
  public static ProtoWriter to(OutputStream out) {
    return new ProtoWriter(java.util.Objects.requireNonNull(out, "out"));
  }

  /** The encoded size of {@code message} in bytes, computed without storing it. */
  public static long sizeOf(Message message) throws IOException {
    ProtoWriter counter = new ProtoWriter(null);
    message.writeTo(counter);
    return counter.written;
  }

  /** Bytes written so far. */
  public long written() {
    return written;
  }

  /** An {@code int64}, {@code int32}, {@code bool} or enum field (varint; negative values take ten bytes). */
  public void varint(int field, long value) throws IOException {
    tag(field, VARINT);
    rawVarint(value);
  }

  /** A {@code float} field (fixed 32 bits, little-endian). */
  public void float32(int field, float value) throws IOException {
    tag(field, FIXED32);
    int bits = Float.floatToRawIntBits(value);
    for (int i = 0; i < 4; i++) {
      rawByte(bits >>> (8 * i));
    }
  }

  /** A {@code string} field, UTF-8. */
  public void string(int field, String value) throws IOException {
    bytes(field, value.getBytes(StandardCharsets.UTF_8));
  }

  /** A {@code bytes} field. */
  public void bytes(int field, byte[] value) throws IOException {
    tag(field, LENGTH_DELIMITED);
    rawVarint(value.length);
    rawBytes(value, 0, value.length);
  }

  /** A {@code bytes} field holding {@code values} as little-endian IEEE floats (ONNX {@code raw_data}). */
  public void rawFloats(int field, float[] values) throws IOException {
    tag(field, LENGTH_DELIMITED);
    rawVarint(4L * values.length);
    if (out == null) {
      written += 4L * values.length;
      return;
    }
    ByteBuffer buf = scratch();
    for (int i = 0; i < values.length; ) {
      buf.clear();
      while (i < values.length && buf.remaining() >= 4) {
        buf.putFloat(values[i++]);
      }
      rawBytes(buf.array(), 0, buf.position());
    }
  }

  /** A {@code bytes} field holding {@code values} as little-endian 64-bit integers (ONNX {@code raw_data}). */
  public void rawLongs(int field, long[] values) throws IOException {
    tag(field, LENGTH_DELIMITED);
    rawVarint(8L * values.length);
    if (out == null) {
      written += 8L * values.length;
      return;
    }
    ByteBuffer buf = scratch();
    for (int i = 0; i < values.length; ) {
      buf.clear();
      while (i < values.length && buf.remaining() >= 8) {
        buf.putLong(values[i++]);
      }
      rawBytes(buf.array(), 0, buf.position());
    }
  }

  /** A {@code repeated int64} field in packed form. */
  public void packedVarints(int field, long[] values) throws IOException {
    if (values.length == 0) {
      return; // an empty packed field is simply absent
    }
    long size = 0;
    for (long v : values) {
      size += varintSize(v);
    }
    tag(field, LENGTH_DELIMITED);
    rawVarint(size);
    for (long v : values) {
      rawVarint(v);
    }
  }

  /** A nested message field. */
  public void message(int field, Message message) throws IOException {
    tag(field, LENGTH_DELIMITED);
    long size = sizeOf(message);
    rawVarint(size);
    long before = written;
    message.writeTo(this);
    assert written - before == size : "message wrote " + (written - before) + " bytes but counted " + size;
  }

  private void tag(int field, int wireType) throws IOException {
    if (field < 1 || field > (1 << 29) - 1) {
      throw new IllegalArgumentException("protobuf field number " + field + " is outside [1, 2^29 - 1]");
    }
    rawVarint(((long) field << 3) | wireType);
  }

  private void rawVarint(long value) throws IOException {
    while ((value & ~0x7FL) != 0) {
      rawByte((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    rawByte((int) value);
  }

  private static int varintSize(long value) {
    int n = 1;
    while ((value & ~0x7FL) != 0) {
      value >>>= 7;
      n++;
    }
    return n;
  }

  private void rawByte(int b) throws IOException {
    if (out != null) {
      out.write(b);
    }
    written++;
  }

  private void rawBytes(byte[] b, int offset, int length) throws IOException {
    if (out != null) {
      out.write(b, offset, length);
    }
    written += length;
  }

  private ByteBuffer scratch() {
    if (scratch == null) {
      scratch = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    }
    return scratch;
  }

}
