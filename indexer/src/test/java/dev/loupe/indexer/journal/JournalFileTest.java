package dev.loupe.indexer.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal file against torn writes and damage. */
class JournalFileTest {
  static final long SEED = 0x5eed;
  static final String A = IngestJournalTest.sha("A"), B = IngestJournalTest.sha("B"), C = IngestJournalTest.sha("C");

  @TempDir
  Path tmp;

  /** State of a journal file, read through a fresh open in its own directory. */
  record State(List<PathInfo> files, List<ContentInfo> contents) {}

  State open(byte[] bytes) throws IOException {
    return openAndMeasure(bytes).state();
  }

  /** The state a journal file opens with, and the file's size after the open (which may truncate it). */
  record Opened(State state, long size) {}

  Opened openAndMeasure(byte[] bytes) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "open");
    Path file = dir.resolve(IngestJournal.FILE);
    Files.write(file, bytes);
    State state;
    try (IngestJournal j = IngestJournal.open(dir)) {
      state = new State(j.files(), j.contents());
    }
    return new Opened(state, Files.size(file));
  }

  /** Offsets where the records of a journal file start, and its end. */
  static List<Long> recordOffsets(byte[] bytes) {
    List<Long> offsets = new ArrayList<>();
    long o = JournalFile.HEADER_BYTES;
    while (o < bytes.length) {
      offsets.add(o);
      o += JournalFile.FRAME_BYTES + ByteBuffer.wrap(bytes, (int) o, 4).getInt();
    }
    offsets.add(o);
    return offsets;
  }

  /** A journal with a few records, the state before its last one, and the state after it. */
  record Written(byte[] before, byte[] after, State stateBefore, State stateAfter) {}

  Written written() throws IOException {
    Path dir = tmp.resolve("written");
    Path file = dir.resolve(IngestJournal.FILE);
    Path a = tmp.resolve("a.pdf"), b = tmp.resolve("b ünïcödé.pdf");
    try (IngestJournal j = IngestJournal.open(dir)) {
      j.hashed(a, A, 10, 20);
      j.reserve(A, 3);
      j.done(A, 3, "pdf");
      j.hashed(b, B, 11, 21);
      j.failed(B, "corrupt", "b: bad xref table");
      j.sync();
      byte[] before = Files.readAllBytes(file);
      State stateBefore = new State(j.files(), j.contents());
      // One change of three entries (C pending, b has C, failed B forgotten): one record.
      assertEquals(Action.INGEST, j.hashed(b, C, 12, 22).action());
      j.sync();
      return new Written(before, Files.readAllBytes(file), stateBefore, new State(j.files(), j.contents()));
    }
  }

  @Test
  void a_tail_torn_at_any_byte_of_the_last_record_loses_that_whole_change_and_nothing_else() throws IOException {
    Written w = written();
    assertEquals(w.stateAfter(), open(w.after()));
    List<Long> offsets = recordOffsets(w.after());
    assertEquals(w.before().length, offsets.get(offsets.size() - 2), "the last change wrote one record");
    for (int cut = w.before().length; cut < w.after().length; cut++) {
      Opened opened = openAndMeasure(Arrays.copyOf(w.after(), cut));
      assertEquals(w.stateBefore(), opened.state(), "cut at byte " + cut);
      assertEquals(w.before().length, opened.size(), "the torn tail is truncated (cut at byte " + cut + ")");
    }
  }

  @Test
  void a_zero_filled_tail_is_truncated() throws IOException {
    Written w = written();
    Opened opened = openAndMeasure(Arrays.copyOf(w.after(), w.after().length + 4096));
    assertEquals(w.stateAfter(), opened.state());
    assertEquals(w.after().length, opened.size());
  }

  @Test
  void a_flipped_bit_before_the_last_record_is_reported_with_the_file_and_offset() throws IOException {
    Written w = written();
    List<Long> offsets = recordOffsets(w.after());
    // In every record but the last: each byte of the framing, and payload bytes picked by a seeded
    // generator; one bit each.
    java.util.SplittableRandom random = new java.util.SplittableRandom(SEED);
    for (int r = 0; r < offsets.size() - 2; r++) {
      long start = offsets.get(r), end = offsets.get(r + 1);
      java.util.TreeSet<Long> positions = new java.util.TreeSet<>();
      for (long k = 0; k < 8; k++) {
        positions.add(start + k);
        positions.add(end - 1 - k % 4);
      }
      for (int k = 0; k < 6; k++) {
        positions.add(random.nextLong(start + 8, end - 4));
      }
      for (long at : positions) {
        byte[] damaged = w.after().clone();
        damaged[(int) at] ^= (byte) (1 << (at % 8));
        var e = assertThrows(CorruptJournalException.class, () -> open(damaged), "bit flipped at byte " + at + ", seed " + SEED);
        assertEquals(start, e.offset(), "bit flipped at byte " + at + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(IngestJournal.FILE) && e.getMessage().contains("offset " + start), e.getMessage());
      }
    }
  }

  @Test
  void a_flipped_bit_in_the_last_record_is_taken_for_a_torn_write() throws IOException {
    Written w = written();
    byte[] damaged = w.after().clone();
    damaged[damaged.length - 6] ^= 0x10; // inside the payload
    assertEquals(w.stateBefore(), open(damaged));
  }

  @Test
  void a_damaged_header_or_another_format_or_version_is_rejected_naming_the_file() throws IOException {
    Written w = written();
    byte[] flipped = w.after().clone();
    flipped[13] ^= 1; // reserved field: caught by the header checksum
    var corrupt = assertThrows(CorruptJournalException.class, () -> open(flipped));
    assertEquals(0, corrupt.offset());

    byte[] other = w.after().clone();
    other[0] = 'X';
    var notJournal = assertThrows(IOException.class, () -> open(other));
    assertTrue(notJournal.getMessage().contains("is not a Loupe ingest journal"), notJournal.getMessage());

    byte[] v3 = w.after().clone();
    ByteBuffer.wrap(v3).putInt(8, 3).putInt(16, JournalFile.crc(withVersion(v3), 0, 16));
    var version = assertThrows(IOException.class, () -> open(v3));
    assertTrue(version.getMessage().contains("format version 3"), version.getMessage());

    var empty = assertThrows(CorruptJournalException.class, () -> open(new byte[5]));
    assertTrue(empty.getMessage().contains("fewer than its 20-byte header"), empty.getMessage());
  }

  private static byte[] withVersion(byte[] bytes) {
    return Arrays.copyOf(bytes, 16);
  }

  @Test
  void a_record_that_contradicts_the_state_is_reported_as_corruption() throws IOException {
    // A well-framed record naming a path whose content was never recorded.
    var out = new java.io.ByteArrayOutputStream();
    out.writeBytes(JournalFile.header());
    JournalFile.encode(List.of(new JournalRecord.PathPut("/x", A, 1, 1, null)), out);
    var e = assertThrows(CorruptJournalException.class, () -> open(out.toByteArray()));
    assertEquals(JournalFile.HEADER_BYTES, e.offset());
    assertTrue(e.getMessage().contains("does not have"), e.getMessage());
  }

  @Test
  void every_record_kind_round_trips_through_the_codec() throws IOException {
    List<JournalRecord> records = List.of(
        new JournalRecord.PathPut("/a/ü 文件.pdf", A, Long.MAX_VALUE, -1, null),
        new JournalRecord.PathPut("/b", null, 0, 0, new Failure("io", "permission denied 🚫")),
        new JournalRecord.PathPut("/c", A, 7, 1_700_000_000_123L * 1_000_000, null, true),
        new JournalRecord.PathGone("/b"),
        new JournalRecord.ContentPut(A, ContentState.DONE, 12, "pdf", null),
        new JournalRecord.ContentPut(B, ContentState.FAILED, 0, "", new Failure("corrupt", "bad")),
        new JournalRecord.ContentGone(B));
    for (List<JournalRecord> group : List.of(records, records.subList(0, 1), records.subList(3, 6))) {
      var out = new java.io.ByteArrayOutputStream();
      JournalFile.encode(group, out);
      byte[] framed = out.toByteArray();
      byte[] payload = Arrays.copyOfRange(framed, 8, framed.length - 4);
      assertEquals(group, JournalFile.decode(payload));
      assertArrayEquals(framed, reencode(JournalFile.decode(payload)));
    }
  }

  @Test
  void a_version_1_file_is_read_with_its_millisecond_times_and_rewritten_as_version_2() throws IOException {
    // As version 1 wrote it: times in milliseconds, entry type 1.
    long millis = 1_700_000_000_123L;
    var out = new java.io.ByteArrayOutputStream();
    ByteBuffer header = ByteBuffer.allocate(JournalFile.HEADER_BYTES).put(JournalFile.MAGIC).putInt(1).putInt(0);
    header.putInt(JournalFile.crc(header.array(), 0, 16));
    out.writeBytes(header.array());
    JournalFile.encode(List.of(new JournalRecord.ContentPut(A, ContentState.DONE, 3, "pdf", null)), out);
    JournalFile.encode(List.of(new JournalRecord.PathPut("/inbox/a.pdf", A, 100, millis * 1_000_000, null, true)), out);
    byte[] v1 = out.toByteArray();
    assertEquals(1, v1[recordOffsets(v1).get(1).intValue() + 8], "the path's entry is of type 1, as version 1 wrote it");

    Path dir = Files.createDirectories(tmp.resolve("v1"));
    Files.write(dir.resolve(IngestJournal.FILE), v1);
    Path a = Path.of("/inbox/a.pdf");
    for (int open = 0; open < 2; open++) {
      try (IngestJournal j = IngestJournal.open(dir)) {
        assertEquals(JournalFile.VERSION, JournalFile.version(dir.resolve(IngestJournal.FILE)), "rewritten on open " + open);
        assertEquals(millis * 1_000_000, j.path(a).orElseThrow().mtime());
        assertEquals(ContentState.DONE, j.content(A).orElseThrow().state());
        assertEquals(Action.UNCHANGED, j.observe(a, 100, millis * 1_000_000 + 456_789), "any time within its millisecond");
        assertEquals(Action.HASH, j.observe(a, 100, (millis + 1) * 1_000_000));
      }
    }
    try (IngestJournal j = IngestJournal.open(dir)) {
      assertEquals(Action.UNCHANGED, j.hashed(a, A, 100, millis * 1_000_000 + 5).action());
      assertEquals(Action.LINKED, j.hashed(Path.of("/inbox/b.pdf"), A, 100, millis * 1_000_000 + 5).action());
    }
    try (IngestJournal j = IngestJournal.open(dir)) {
      assertEquals(Action.HASH, j.observe(Path.of("/inbox/b.pdf"), 100, millis * 1_000_000 + 6), "a new entry keeps nanoseconds");
      assertEquals(Action.UNCHANGED, j.observe(Path.of("/inbox/b.pdf"), 100, millis * 1_000_000 + 5));
    }
  }

  private static byte[] reencode(List<JournalRecord> r) {
    var out = new java.io.ByteArrayOutputStream();
    JournalFile.encode(r, out);
    return out.toByteArray();
  }
}
