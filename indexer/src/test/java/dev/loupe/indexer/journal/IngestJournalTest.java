package dev.loupe.indexer.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal's decisions for the file changes of the issue, and their survival of a reopen. */
class IngestJournalTest {
  static final String A = sha("content A"), B = sha("content B"), C = sha("content C");

  @TempDir
  Path tmp;

  Path dir;
  IngestJournal journal;

  @BeforeEach
  void open() throws IOException {
    dir = tmp.resolve("journal");
    journal = IngestJournal.open(dir);
  }

  @AfterEach
  void close() throws IOException {
    journal.close();
  }

  static String sha(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  Path file(String name) {
    return tmp.resolve("watched").resolve(name);
  }

  /** Ingests {@code sha} at {@code path} the way the pipeline does, with {@code items} items. */
  void ingest(Path path, String sha, int items) throws IOException {
    Decision d = journal.hashed(path, sha, 100, 1000);
    assertEquals(Action.INGEST, d.action());
    journal.reserve(sha, items);
    journal.sync();
    journal.done(sha, items, "pdf");
  }

  void reopen() throws IOException {
    journal.close();
    journal = IngestJournal.open(dir);
  }

  /** What a crash would leave: the journal file as it is on disk now, opened elsewhere. */
  IngestJournal crashCopy() throws IOException {
    Path copy = Files.createDirectories(tmp.resolve("crash-" + System.nanoTime()));
    Files.copy(dir.resolve(IngestJournal.FILE), copy.resolve(IngestJournal.FILE));
    return IngestJournal.open(copy);
  }

  @Test
  void a_new_file_is_hashed_then_ingested_and_afterwards_unchanged() throws IOException {
    Path a = file("a.pdf");
    assertEquals(Action.HASH, journal.observe(a, 100, 1000));
    ingest(a, A, 3);
    assertEquals(Action.UNCHANGED, journal.observe(a, 100, 1000));
    ContentInfo info = journal.content(A).orElseThrow();
    assertEquals(ContentState.DONE, info.state());
    assertEquals(List.of(A + "#0", A + "#1", A + "#2"), info.itemIds());
    assertEquals(List.of(a.toString()), info.paths());
    assertEquals("pdf", info.extractor());
  }

  @Test
  void a_touched_file_with_the_same_hash_is_never_ingested_again() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 3);
    assertEquals(Action.HASH, journal.observe(a, 100, 2000));
    Decision d = journal.hashed(a, A, 100, 2000);
    assertEquals(Action.UNCHANGED, d.action());
    assertEquals(Action.UNCHANGED, journal.observe(a, 100, 2000));
    assertEquals(ContentState.DONE, journal.content(A).orElseThrow().state());
  }

  @Test
  void state_is_replayed_after_a_reopen() throws IOException {
    Path a = file("a.pdf"), b = file("b.pdf"), c = file("c.txt"), d = file("d.bin");
    ingest(a, A, 4);
    journal.hashed(b, B, 7, 8);
    journal.reserve(B, 256);
    journal.hashed(c, C, 1, 2);
    journal.failed(C, "corrupt", "c.txt: trailer not found");
    journal.unreadable(d, 5, 6, "io", "d.bin: permission denied");
    List<PathInfo> files = journal.files();
    List<ContentInfo> contents = journal.contents();
    JournalStatus status = journal.status();
    reopen();
    assertEquals(files, journal.files());
    assertEquals(contents, journal.contents());
    assertEquals(status, journal.status());
    assertEquals(new JournalStatus(4, 1, 1, 2, Map.of("corrupt", 1, "io", 1), 4, 3, 0, 0), status);
  }

  @Test
  void a_moved_file_keeps_its_items_and_only_changes_its_path() throws IOException {
    Path a = file("a.pdf"), moved = file("sub/renamed.pdf");
    ingest(a, A, 3);
    Decision d = journal.moved(a, moved);
    assertEquals(new Decision(Action.LINKED, A, List.of()), d);
    assertEquals(Optional.empty(), journal.path(a));
    assertEquals(A, journal.path(moved).orElseThrow().sha());
    assertEquals(Action.UNCHANGED, journal.observe(moved, 100, 1000));
    ContentInfo info = journal.content(A).orElseThrow();
    assertEquals(ContentState.DONE, info.state());
    assertEquals(3, info.bound());
    assertEquals(List.of(moved.toString()), info.paths());
  }

  @Test
  void a_move_seen_as_delete_then_create_keeps_its_items_until_orphans_are_collected() throws IOException {
    Path a = file("a.pdf"), moved = file("b.pdf");
    ingest(a, A, 3);
    Decision removal = journal.removed(a);
    assertEquals(A, removal.sha());
    assertEquals(List.of(A), removal.orphaned());
    assertEquals(1, journal.status().orphans());
    // The new name turns up with the same hash before the orphans are collected.
    assertEquals(Action.HASH, journal.observe(moved, 100, 1000));
    assertEquals(Action.LINKED, journal.hashed(moved, A, 100, 1000).action());
    assertEquals(List.of(), journal.collectOrphans());
    assertEquals(ContentState.DONE, journal.content(A).orElseThrow().state());
    assertEquals(List.of(moved.toString()), journal.content(A).orElseThrow().paths());
  }

  @Test
  void a_move_onto_a_path_that_had_other_content_orphans_that_content() throws IOException {
    Path a = file("a.pdf"), b = file("b.pdf");
    ingest(a, A, 1);
    ingest(b, B, 2);
    assertEquals(new Decision(Action.LINKED, A, List.of(B)), journal.moved(a, b));
    assertEquals(List.of(b.toString()), journal.content(A).orElseThrow().paths());
    assertEquals(List.of(new Work.Delete(B, 2)), journal.collectOrphans());
    assertEquals(Decision.of(Action.HASH, null), journal.moved(file("unknown.pdf"), a));
  }

  @Test
  void an_abandoned_ingest_deletes_what_it_wrote_and_is_asked_again_if_a_path_still_has_it() throws IOException {
    Path a = file("a.pdf");
    journal.hashed(a, A, 1, 1);
    journal.reserve(A, 8);
    assertEquals(new Work.Delete(A, 8), journal.abandon(A));
    assertEquals(ContentState.DELETING, journal.content(A).orElseThrow().state());
    assertEquals(Optional.of(Decision.of(Action.INGEST, A)), journal.purged(A), "a.pdf still has it");
    journal.removed(a);
    assertEquals(new Work.Delete(A, 0), journal.abandon(A));
    assertEquals(Optional.empty(), journal.purged(A));
    assertEquals(Optional.empty(), journal.content(A));
  }

  @Test
  void an_unreadable_file_is_hashed_again_once_it_changes() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 1);
    Decision d = journal.unreadable(a, 100, 1000, "io", "a.pdf: permission denied");
    assertEquals(List.of(A), d.orphaned(), "its old content lost its only path");
    assertEquals(Action.UNCHANGED, journal.observe(a, 100, 1000));
    assertEquals(Action.HASH, journal.observe(a, 100, 1001));
    assertEquals(Action.LINKED, journal.hashed(a, A, 100, 1001).action(), "readable again, same bytes: items kept");
    assertEquals(List.of(), journal.failures());
  }

  @Test
  void identical_files_are_stored_once_and_listed_under_both_paths() throws IOException {
    Path a = file("a.pdf"), copy = file("copy of a.pdf");
    ingest(a, A, 2);
    Decision d = journal.hashed(copy, A, 100, 5000);
    assertEquals(Action.LINKED, d.action());
    ContentInfo info = journal.content(A).orElseThrow();
    assertEquals(List.of(a.toString(), copy.toString()), info.paths());
    JournalStatus status = journal.status();
    assertEquals(2, status.done());
    assertEquals(2, status.items());
    assertEquals(1, status.contents());
  }

  @Test
  void a_copy_seen_while_its_content_is_being_ingested_is_linked_not_ingested_twice() throws IOException {
    Path a = file("a.pdf"), copy = file("copy.pdf");
    assertEquals(Action.INGEST, journal.hashed(a, A, 1, 1).action());
    assertEquals(Action.LINKED, journal.hashed(copy, A, 1, 1).action());
    journal.reserve(A, 1);
    journal.done(A, 1, "pdf");
    assertEquals(List.of(a.toString(), copy.toString()), journal.content(A).orElseThrow().paths());
  }

  @Test
  void removing_one_of_two_copies_keeps_the_items() throws IOException {
    Path a = file("a.pdf"), copy = file("copy.pdf");
    ingest(a, A, 2);
    journal.hashed(copy, A, 100, 1000);
    Decision d = journal.removed(a);
    assertEquals(new Decision(Action.UNCHANGED, A, List.of()), d);
    assertEquals(List.of(), journal.collectOrphans());
    assertEquals(List.of(copy.toString()), journal.content(A).orElseThrow().paths());
  }

  @Test
  void a_deleted_file_has_its_items_deleted_then_its_content_forgotten() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 5);
    assertEquals(List.of(A), journal.removed(a).orphaned());
    assertEquals(List.of(new Work.Delete(A, 5)), journal.collectOrphans());
    assertEquals(ContentState.DELETING, journal.content(A).orElseThrow().state());
    journal.sync();
    // ... the pipeline deletes A#0..A#4 and commits the index ...
    assertEquals(Optional.empty(), journal.purged(A));
    assertEquals(Optional.empty(), journal.content(A));
    assertEquals(new JournalStatus(0, 0, 0, 0, Map.of(), 0, 0, 0, 0), journal.status());
  }

  @Test
  void a_modified_file_gets_its_new_content_ingested_and_its_old_content_retired() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 3);
    assertEquals(Action.HASH, journal.observe(a, 120, 2000));
    Decision d = journal.hashed(a, B, 120, 2000);
    assertEquals(new Decision(Action.INGEST, B, List.of(A)), d);
    // One index commit adds B's items and deletes A's.
    journal.reserve(B, 2);
    assertEquals(Optional.of(new Work.Delete(A, 3)), journal.retire(A));
    journal.sync();
    journal.done(B, 2, "pdf");
    assertEquals(Optional.empty(), journal.purged(A));
    assertEquals(Optional.empty(), journal.content(A));
    assertEquals(List.of(a.toString()), journal.content(B).orElseThrow().paths());
    assertEquals(2, journal.status().items());
  }

  @Test
  void a_file_modified_back_to_content_still_being_deleted_is_ingested_after_the_purge() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 3);
    journal.hashed(a, B, 1, 2);
    journal.retire(A);
    // Changed back before the purge: the journal links it and asks for the ingest once purged.
    assertEquals(Action.LINKED, journal.hashed(a, A, 100, 3000).action());
    assertEquals(Optional.of(new Decision(Action.INGEST, A, List.of())), journal.purged(A));
    assertEquals(ContentState.PENDING, journal.content(A).orElseThrow().state());
  }

  @Test
  void a_failed_file_is_retried_only_when_it_changes() throws IOException {
    Path a = file("broken.pdf");
    assertEquals(Action.INGEST, journal.hashed(a, A, 10, 1000).action());
    journal.failed(A, "corrupt", "broken.pdf: no trailer");
    assertEquals(Action.UNCHANGED, journal.observe(a, 10, 1000));
    assertEquals(List.of(new FileFailure(a.toString(), A, new Failure("corrupt", "broken.pdf: no trailer"))), journal.failures());
    // Touched: same bytes, new time: retried.
    assertEquals(Action.HASH, journal.observe(a, 10, 2000));
    assertEquals(Action.INGEST, journal.hashed(a, A, 10, 2000).action());
    journal.failed(A, "corrupt", "broken.pdf: no trailer");
    // Rewritten with new bytes: the new content is ingested, the failed one forgotten.
    assertEquals(new Decision(Action.INGEST, B, List.of()), journal.hashed(a, B, 11, 3000));
    assertEquals(Optional.empty(), journal.content(A));
  }

  @Test
  void a_copy_of_a_failed_file_is_not_retried_but_counted_as_failed() throws IOException {
    Path a = file("broken.pdf"), copy = file("broken copy.pdf");
    journal.hashed(a, A, 10, 1000);
    journal.failed(A, "encrypted", "broken.pdf is encrypted");
    assertEquals(Action.LINKED, journal.hashed(copy, A, 10, 5000).action());
    assertEquals(ContentState.FAILED, journal.content(A).orElseThrow().state());
    assertEquals(2, journal.status().failed());
    assertEquals(Map.of("encrypted", 2), journal.status().failedByReason());
  }

  @Test
  void retry_asks_for_an_ingest_of_a_failed_content_and_a_new_hash_of_an_unreadable_file() throws IOException {
    Path a = file("broken.pdf"), d = file("locked.pdf");
    journal.hashed(a, A, 10, 1000);
    journal.failed(A, "over_limit", "broken.pdf has 9000 pages, over the limit of 5000");
    journal.unreadable(d, 3, 4, "io", "locked.pdf: permission denied");
    assertEquals(Action.UNCHANGED, journal.observe(d, 3, 4));
    assertEquals(Decision.of(Action.INGEST, A), journal.retry(a));
    assertEquals(Decision.of(Action.HASH, null), journal.retry(d));
    assertEquals(Action.HASH, journal.observe(d, 3, 4));
    assertEquals(Decision.of(Action.UNCHANGED, A), journal.retry(a), "already pending");
  }

  @Test
  void a_deleted_file_whose_content_failed_is_forgotten() throws IOException {
    Path a = file("broken.pdf");
    journal.hashed(a, A, 10, 1000);
    journal.failed(A, "corrupt", "broken");
    assertEquals(new Decision(Action.UNCHANGED, A, List.of()), journal.removed(a));
    assertEquals(Optional.empty(), journal.content(A));
    assertEquals(0, journal.status().contents());
  }

  @Test
  void a_file_deleted_during_its_ingest_becomes_an_orphan_once_done() throws IOException {
    Path a = file("a.pdf");
    journal.hashed(a, A, 1, 1);
    journal.reserve(A, 2);
    assertEquals(List.of(), journal.removed(a).orphaned(), "still pending");
    journal.done(A, 2, "pdf");
    assertEquals(List.of(new Work.Delete(A, 2)), journal.collectOrphans());
  }

  @Test
  void done_refuses_more_items_than_were_reserved_and_states_other_than_pending() throws IOException {
    Path a = file("a.pdf");
    journal.hashed(a, A, 1, 1);
    journal.reserve(A, 2);
    var e = assertThrows(IllegalStateException.class, () -> journal.done(A, 3, "pdf"));
    assertTrue(e.getMessage().contains("reserve"), e.getMessage());
    journal.done(A, 2, "pdf");
    var again = assertThrows(IllegalStateException.class, () -> journal.done(A, 2, "pdf"));
    assertTrue(again.getMessage().contains("DONE, not PENDING"), again.getMessage());
    assertThrows(IllegalStateException.class, () -> journal.reserve(B, 1));
  }

  @Test
  void recover_after_a_crash_reingests_pending_contents_and_deletes_pathless_ones() throws IOException {
    Path a = file("a.pdf"), b = file("b.pdf"), c = file("c.pdf");
    ingest(a, A, 2);
    journal.hashed(b, B, 1, 1);
    journal.reserve(B, 256); // items written, index committed: the crash comes before done
    journal.hashed(c, C, 1, 1);
    journal.reserve(C, 16);
    journal.removed(c);
    journal.sync();
    journal.done(B, 3, "pdf"); // not synced: lost in the crash
    try (IngestJournal after = crashCopy()) {
      List<Work> work = after.recover();
      // The copy lives elsewhere but keeps the original absolute paths.
      Work.Ingest ingestB = new Work.Ingest(B, List.of(b.toString()), 256);
      List<Work> expected = new java.util.ArrayList<>(List.of(ingestB, new Work.Delete(C, 16)));
      expected.sort((x, y) -> x.sha().compareTo(y.sha()));
      assertEquals(expected, work);
      assertEquals(ContentState.DELETING, after.content(C).orElseThrow().state());
      assertEquals(ContentState.DONE, after.content(A).orElseThrow().state());
      assertThrows(IllegalStateException.class, after::recover);
    }
  }

  @Test
  void two_times_within_one_millisecond_are_told_apart() throws IOException {
    Path a = file("a.pdf");
    long t = 1_700_000_000_123_456_789L;
    journal.hashed(a, A, 100, t);
    assertEquals(Action.UNCHANGED, journal.observe(a, 100, t));
    assertEquals(Action.HASH, journal.observe(a, 100, t + 1), "the same size, 1 ns later");
    reopen();
    assertEquals(Action.UNCHANGED, journal.observe(a, 100, t));
    assertEquals(Action.HASH, journal.observe(a, 100, t - 1));
    assertEquals(t, journal.path(a).orElseThrow().mtime());
    assertEquals(t, IngestJournal.mtime(java.time.Instant.ofEpochSecond(1_700_000_000L, 123_456_789)));
  }

  @Test
  void reingest_makes_an_indexed_content_pending_with_its_items_to_replace_and_survives_a_crash() throws IOException {
    Path a = file("a.txt");
    ingest(a, A, 5);

    Work.Ingest work = journal.reingest(A).orElseThrow();
    assertEquals(new Work.Ingest(A, List.of(a.toString()), 5), work, "the 5 old items are deleted with the new ones' commit");
    assertEquals(ContentState.PENDING, journal.content(A).orElseThrow().state());
    assertEquals(1, journal.status().pending());
    assertEquals(Optional.empty(), journal.reingest(A), "already pending: one ingest at a time");
    assertEquals(Action.LINKED, journal.hashed(file("copy.txt"), A, 100, 1000).action(), "a copy does not start a second ingest");
    journal.sync();

    try (IngestJournal crashed = crashCopy()) {
      assertEquals(List.of(new Work.Ingest(A, List.of(a.toString(), file("copy.txt").toString()), 5)), crashed.recover());
    }
    journal.reserve(A, 7);
    journal.done(A, 7, "tika");
    assertEquals(7, journal.content(A).orElseThrow().bound());
    assertEquals("tika", journal.content(A).orElseThrow().extractor());
  }

  @Test
  void reingest_leaves_contents_that_are_not_indexed_or_have_no_file() throws IOException {
    Path a = file("a.txt");
    ingest(a, A, 2);
    journal.removed(a); // an orphan, waiting for collection
    assertEquals(Optional.empty(), journal.reingest(A));
    assertEquals(ContentState.DONE, journal.content(A).orElseThrow().state());
    assertEquals(Action.INGEST, journal.hashed(file("b.txt"), B, 1, 1).action());
    assertEquals(Optional.empty(), journal.reingest(B), "pending");
    assertEquals(Optional.empty(), journal.reingest(C), "unknown");
  }

  @Test
  void unsynced_changes_are_lost_in_a_crash_and_synced_ones_are_kept() throws IOException {
    Path a = file("a.pdf"), b = file("b.pdf");
    ingest(a, A, 1); // synced before done; done itself is not
    journal.sync();
    journal.hashed(b, B, 1, 1);
    try (IngestJournal after = crashCopy()) {
      assertEquals(ContentState.DONE, after.content(A).orElseThrow().state());
      assertEquals(Optional.empty(), after.path(b));
    }
  }

  @Test
  void compaction_keeps_the_state_and_shrinks_the_file() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 1);
    for (int i = 0; i < 500; i++) {
      journal.hashed(a, A, 100, 2000 + i); // a file touched again and again
    }
    journal.sync();
    long before = journal.fileBytes();
    List<PathInfo> files = journal.files();
    journal.compact();
    assertTrue(journal.fileBytes() < before / 10, journal.fileBytes() + " bytes after compaction, " + before + " before");
    assertEquals(files, journal.files());
    reopen();
    assertEquals(files, journal.files());
    assertEquals(ContentState.DONE, journal.content(A).orElseThrow().state());
  }

  @Test
  void sync_compacts_the_file_once_it_has_grown_past_the_threshold() throws IOException {
    journal.close();
    journal = IngestJournal.open(dir, 4096);
    Path a = file("a.pdf");
    ingest(a, A, 1);
    for (int i = 0; i < 2000; i++) {
      journal.hashed(a, A, 100, 2000 + i);
      if (i % 50 == 0) {
        journal.sync();
        assertTrue(journal.fileBytes() <= 8192 + 50 * 200, "file of " + journal.fileBytes() + " bytes was not compacted");
      }
    }
    reopen();
    assertEquals(2000 + 1999, journal.path(a).orElseThrow().mtime());
  }

  @Test
  void an_interrupted_compaction_leaves_the_previous_state_and_its_temporary_file_is_deleted() throws IOException {
    Path a = file("a.pdf");
    ingest(a, A, 2);
    journal.sync();
    journal.close();
    byte[] valid = Files.readAllBytes(dir.resolve(IngestJournal.FILE));
    Path temp = dir.resolve(IngestJournal.FILE + ".tmp");
    // A crash while the temporary file was written: half a snapshot.
    Files.write(temp, java.util.Arrays.copyOf(valid, valid.length / 2));
    journal = IngestJournal.open(dir);
    assertFalse(Files.exists(temp));
    assertEquals(ContentState.DONE, journal.content(A).orElseThrow().state());
    journal.close();
    // A crash after the temporary file was complete, before the rename.
    Files.write(temp, valid);
    journal = IngestJournal.open(dir);
    assertFalse(Files.exists(temp));
    assertEquals(2, journal.content(A).orElseThrow().bound());
  }

  @Test
  void a_second_instance_cannot_open_the_same_directory() {
    var e = assertThrows(IOException.class, () -> IngestJournal.open(dir));
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
  }

  @Test
  void bad_arguments_are_rejected_naming_the_value() {
    var relative = assertThrows(IllegalArgumentException.class, () -> journal.observe(Path.of("rel.pdf"), 1, 1));
    assertTrue(relative.getMessage().contains("'rel.pdf' is not absolute"), relative.getMessage());
    var badSha = assertThrows(IllegalArgumentException.class, () -> journal.hashed(file("a"), "abc", 1, 1));
    assertTrue(badSha.getMessage().contains("'abc'"), badSha.getMessage());
    var reason = assertThrows(IllegalArgumentException.class, () -> journal.unreadable(file("a"), 1, 1, "bad reason", "m"));
    assertTrue(reason.getMessage().contains("'bad reason'"), reason.getMessage());
    assertEquals(A + "#7", IngestJournal.itemId(A.toUpperCase(java.util.Locale.ROOT), 7));
    assertEquals(A, IngestJournal.contentOf(A + "#7"));
    assertThrows(IllegalArgumentException.class, () -> IngestJournal.contentOf("x#1"));
  }

  @Test
  void a_long_failure_message_is_cut_and_a_closed_journal_refuses_calls() throws IOException {
    Path a = file("a.pdf");
    journal.hashed(a, A, 1, 1);
    journal.failed(A, "corrupt", "x".repeat(5000));
    assertEquals(Failure.MAX_MESSAGE, journal.content(A).orElseThrow().failure().message().length());
    journal.close();
    var e = assertThrows(IllegalStateException.class, () -> journal.observe(a, 1, 1));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    journal = IngestJournal.open(dir);
  }
}
