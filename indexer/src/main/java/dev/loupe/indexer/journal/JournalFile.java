package dev.loupe.indexer.journal;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The binary format of the ingest journal file, and its reader.
 *
 * <pre>
 * file    = header record*
 * header  = magic "LOUPEJNL" (8 bytes) | version u32 | reserved u32 (0) | crc32c(previous 16 bytes) u32
 * record  = length u32 | crc32c(length's 4 bytes) u32 | payload (length bytes) | crc32c(payload) u32
 * payload = entry+            (the entries of one change, applied together or not at all)
 * entry   = type u8, then
 *   1 path put      path str | hasSha u8 | [sha 32 bytes] | size i64 | mtime i64 (ms) | hasFailure u8 | [reason str | message str]
 *   2 path gone     path str
 *   3 content put   sha 32 bytes | state u8 | bound i32 | extractor str | hasFailure u8 | [reason str | message str]
 *   4 content gone  sha 32 bytes
 *   5 path put      as 1, with mtime in ns (version 2)
 * str     = byte length u32 | UTF-8 bytes
 * </pre>
 *
 * All integers are big-endian. The length has its own checksum so that a damaged length is told
 * apart from a record cut short by a crash: a record that runs past the end of the file behind a
 * valid length, a final record whose payload checksum fails, and a tail of zeros (a file system
 * that extended the file before the data reached it) are a torn tail, truncated with a warning;
 * any other mismatch is corruption and names the offset.
 *
 * <p>Version 1 kept file times in milliseconds (entry 1 only); version 2 adds entry 5, with
 * nanoseconds, and keeps entry 1 for paths whose time is known only to the millisecond. A version
 * 1 file is read (its times marked coarse) and rewritten as version 2 when the journal opens it.
 */
final class JournalFile {
  static final byte[] MAGIC = "LOUPEJNL".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 2;
  /** The oldest version this reader accepts. */
  static final int OLDEST_VERSION = 1;
  static final int HEADER_BYTES = 20;
  /** Framing around a payload: length, its checksum, and the payload's checksum. */
  static final int FRAME_BYTES = 12;
  /** Largest payload a reader accepts; a path and a failure message fit many times over. */
  static final int MAX_PAYLOAD = 1 << 20;

  private static final byte PATH_PUT_MILLIS = 1, PATH_GONE = 2, CONTENT_PUT = 3, CONTENT_GONE = 4, PATH_PUT = 5;
  private static final System.Logger LOG = System.getLogger(IngestJournal.class.getName());
  private static final HexFormat HEX = HexFormat.of();

  private JournalFile() {}

  static byte[] header() {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
    b.put(MAGIC).putInt(VERSION).putInt(0);
    b.putInt(crc(b.array(), 0, 16));
    return b.array();
  }

  /**
   * Appends {@code records}, framed as one record of the file, to {@code out}: they reach the
   * disk, or are lost in a crash, together.
   */
  static void encode(List<JournalRecord> records, ByteArrayOutputStream out) {
    if (records.isEmpty()) {
      throw new IllegalArgumentException("no journal records to frame");
    }
    ByteArrayOutputStream payload = new ByteArrayOutputStream(64 * records.size());
    for (JournalRecord record : records) {
      encodeOne(record, payload);
    }
    byte[] bytes = payload.toByteArray();
    if (bytes.length > MAX_PAYLOAD) {
      throw new IllegalArgumentException("journal record of " + bytes.length + " bytes is over the limit of " + MAX_PAYLOAD);
    }
    byte[] length = ByteBuffer.allocate(4).putInt(bytes.length).array();
    out.writeBytes(length);
    writeInt(out, crc(length, 0, 4));
    out.writeBytes(bytes);
    writeInt(out, crc(bytes, 0, bytes.length));
  }

  private static void encodeOne(JournalRecord record, ByteArrayOutputStream payload) {
    switch (record) {
      case JournalRecord.PathPut p -> {
        payload.write(p.coarse() ? PATH_PUT_MILLIS : PATH_PUT);
        writeString(payload, p.path());
        payload.write(p.sha() == null ? 0 : 1);
        if (p.sha() != null) {
          payload.writeBytes(HEX.parseHex(p.sha()));
        }
        writeLong(payload, p.size());
        writeLong(payload, p.coarse() ? p.mtime() / IngestJournal.NANOS_PER_MILLI : p.mtime());
        writeFailure(payload, p.failure());
      }
      case JournalRecord.PathGone p -> {
        payload.write(PATH_GONE);
        writeString(payload, p.path());
      }
      case JournalRecord.ContentPut c -> {
        payload.write(CONTENT_PUT);
        payload.writeBytes(HEX.parseHex(c.sha()));
        payload.write(c.state().code());
        writeInt(payload, c.bound());
        writeString(payload, c.extractor());
        writeFailure(payload, c.failure());
      }
      case JournalRecord.ContentGone c -> {
        payload.write(CONTENT_GONE);
        payload.writeBytes(HEX.parseHex(c.sha()));
      }
    }
  }

  /**
   * Reads {@code file}, hands each record to {@code apply} in order, truncates a torn tail, and
   * returns the length of the valid part.
   *
   * @throws CorruptJournalException naming the offset of the first damaged record, or of a record
   *     {@code apply} rejects
   */
  static long replay(Path file, Consumer<JournalRecord> apply) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = channel.size();
      DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), 1 << 16));
      checkHeader(file, in, size);
      long offset = HEADER_BYTES;
      while (offset < size) {
        long remaining = size - offset;
        if (remaining < 8) {
          return truncate(file, channel, offset, "a record header cut short");
        }
        byte[] lengthBytes = new byte[4];
        in.readFully(lengthBytes);
        int length = ByteBuffer.wrap(lengthBytes).getInt();
        int lengthCrc = in.readInt();
        if (crc(lengthBytes, 0, 4) != lengthCrc) {
          if (zerosFrom(channel, offset)) {
            return truncate(file, channel, offset, "a zero-filled tail");
          }
          throw new CorruptJournalException(file, offset, "the record length's checksum does not match");
        }
        if (length < 1 || length > MAX_PAYLOAD) {
          throw new CorruptJournalException(file, offset, "impossible record length " + length);
        }
        if (remaining < FRAME_BYTES + (long) length) {
          return truncate(file, channel, offset, "a record of " + length + " bytes cut short");
        }
        byte[] payload = new byte[length];
        in.readFully(payload);
        int payloadCrc = in.readInt();
        if (crc(payload, 0, length) != payloadCrc) {
          if (offset + FRAME_BYTES + length == size) {
            return truncate(file, channel, offset, "a final record whose checksum does not match");
          }
          throw new CorruptJournalException(file, offset, "the record's checksum does not match");
        }
        List<JournalRecord> records;
        try {
          records = decode(payload);
        } catch (IOException | RuntimeException e) {
          throw new CorruptJournalException(file, offset, "undecodable record: " + e.getMessage());
        }
        for (JournalRecord record : records) {
          try {
            apply.accept(record);
          } catch (IllegalArgumentException | IllegalStateException e) {
            throw new CorruptJournalException(file, offset, "impossible record " + record + ": " + e.getMessage());
          }
        }
        offset += FRAME_BYTES + length;
      }
      return size;
    }
  }

  private static void checkHeader(Path file, DataInputStream in, long size) throws IOException {
    if (size < HEADER_BYTES) {
      throw new CorruptJournalException(file, 0, "the file has " + size + " bytes, fewer than its " + HEADER_BYTES + "-byte header");
    }
    byte[] header = new byte[HEADER_BYTES];
    in.readFully(header);
    if (!Arrays.equals(header, 0, 8, MAGIC, 0, 8)) {
      throw new IOException(file + " is not a Loupe ingest journal (its first bytes are not \"LOUPEJNL\")");
    }
    ByteBuffer b = ByteBuffer.wrap(header);
    int version = b.getInt(8);
    if (crc(header, 0, 16) != b.getInt(16)) {
      throw new CorruptJournalException(file, 0, "the header's checksum does not match");
    }
    if (version < OLDEST_VERSION || version > VERSION) {
      throw new IOException("ingest journal " + file + " has format version " + version + "; this Loupe reads versions "
          + OLDEST_VERSION + " to " + VERSION + " only. Use the Loupe release that wrote it, or move the file aside to rebuild the journal");
    }
  }

  /** The format version in the header of {@code file}, which {@link #replay} has accepted. */
  static int version(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(4);
      if (channel.read(b, 8) != 4) {
        throw new CorruptJournalException(file, 0, "the header's version is cut short");
      }
      return b.getInt(0);
    }
  }

  private static long truncate(Path file, FileChannel channel, long offset, String what) throws IOException {
    long size = channel.size();
    LOG.log(Level.WARNING, "ingest journal {0}: {1} at byte offset {2} ({3} bytes) from an interrupted write; truncating it",
        file, what, offset, size - offset);
    channel.truncate(offset);
    channel.force(true);
    return offset;
  }

  private static boolean zerosFrom(FileChannel channel, long offset) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
    long position = offset;
    while (true) {
      buffer.clear();
      int n = channel.read(buffer, position);
      if (n < 0) {
        return true;
      }
      for (int i = 0; i < n; i++) {
        if (buffer.get(i) != 0) {
          return false;
        }
      }
      position += n;
    }
  }

  /** The records framed together in {@code payload}. */
  static List<JournalRecord> decode(byte[] payload) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(payload));
    List<JournalRecord> records = new ArrayList<>();
    while (in.available() > 0) {
      records.add(decodeOne(in, payload.length));
    }
    return records;
  }

  private static JournalRecord decodeOne(DataInputStream in, int limit) throws IOException {
    byte type = in.readByte();
    JournalRecord record = switch (type) {
      case PATH_PUT, PATH_PUT_MILLIS -> {
        String path = readString(in, limit);
        String sha = readFlag(in) ? readSha(in) : null;
        long size = in.readLong();
        long mtime = in.readLong();
        Failure failure = readFailure(in, limit);
        boolean coarse = type == PATH_PUT_MILLIS;
        yield new JournalRecord.PathPut(path, sha, size, coarse ? Math.multiplyExact(mtime, IngestJournal.NANOS_PER_MILLI) : mtime,
            failure, coarse);
      }
      case PATH_GONE -> new JournalRecord.PathGone(readString(in, limit));
      case CONTENT_PUT -> {
        String sha = readSha(in);
        ContentState state = ContentState.ofCode(in.readByte());
        int bound = in.readInt();
        String extractor = readString(in, limit);
        Failure failure = readFailure(in, limit);
        yield new JournalRecord.ContentPut(sha, state, bound, extractor, failure);
      }
      case CONTENT_GONE -> new JournalRecord.ContentGone(readSha(in));
      default -> throw new IOException("unknown record type " + type);
    };
    return record;
  }

  private static boolean readFlag(DataInputStream in) throws IOException {
    byte flag = in.readByte();
    if (flag != 0 && flag != 1) {
      throw new IOException("flag byte " + flag + " is neither 0 nor 1");
    }
    return flag == 1;
  }

  private static String readSha(InputStream in) throws IOException {
    byte[] sha = in.readNBytes(32);
    if (sha.length != 32) {
      throw new EOFException("content hash cut short");
    }
    return HEX.formatHex(sha);
  }

  private static Failure readFailure(DataInputStream in, int limit) throws IOException {
    return readFlag(in) ? new Failure(readString(in, limit), readString(in, limit)) : null;
  }

  private static String readString(DataInputStream in, int limit) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > limit) {
      throw new IOException("impossible string length " + n);
    }
    byte[] bytes = in.readNBytes(n);
    if (bytes.length != n) {
      throw new EOFException("string cut short");
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static void writeFailure(ByteArrayOutputStream out, Failure failure) {
    out.write(failure == null ? 0 : 1);
    if (failure != null) {
      writeString(out, failure.reason());
      writeString(out, failure.message());
    }
  }

  private static void writeString(ByteArrayOutputStream out, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    writeInt(out, bytes.length);
    out.writeBytes(bytes);
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    out.write(v >>> 24);
    out.write(v >>> 16);
    out.write(v >>> 8);
    out.write(v);
  }

  private static void writeLong(ByteArrayOutputStream out, long v) {
    writeInt(out, (int) (v >>> 32));
    writeInt(out, (int) v);
  }

  static int crc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }
}
