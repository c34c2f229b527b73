package dev.loupe.indexer.watch;

import static dev.loupe.indexer.watch.WatchFixtures.disk;
import static dev.loupe.indexer.watch.WatchFixtures.put;
import static dev.loupe.indexer.watch.WatchFixtures.stateOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderWatcherTest {
  /** Short, so the tests are quick; the tests never assert on how long anything took. */
  private static final Duration SETTLE = Duration.ofMillis(100);
  /** Long, so that only the scans a test asks for run. */
  private static final Duration NO_PERIODIC_SCAN = Duration.ofHours(1);

  @TempDir Path temp;
  private Path root;
  private final List<FolderWatcher> watchers = new ArrayList<>();

  @BeforeEach
  void makeRoot() throws IOException {
    root = Files.createDirectories(temp.resolve("inbox")).toRealPath();
  }

  @AfterEach
  void closeWatchers() {
    watchers.forEach(FolderWatcher::close);
  }

  private WatchOptions options(Path... roots) {
    return WatchOptions.of(roots).withSettleTime(SETTLE).withRescanInterval(NO_PERIODIC_SCAN);
  }

  private FolderWatcher started(WatchOptions options, Map<Path, FileState> known, FolderWatcher.Listener listener) throws IOException {
    FolderWatcher w = new FolderWatcher(options, known, listener);
    watchers.add(w);
    w.start();
    return w;
  }

  private FolderWatcher started(WatchOptions options, Recorder recorder) throws IOException {
    return started(options, Map.of(), recorder);
  }

  /** Asks for a full scan and waits for its end: afterwards every change made before was reported. */
  private static ScanStats reconcile(FolderWatcher w, Recorder r) throws InterruptedException {
    return r.awaitScan(w.rescanNow());
  }

  private static List<FileEvent.Changed> changes(Recorder r, Path p) {
    return r.all(FileEvent.Changed.class).stream().filter(c -> c.path().equals(p)).toList();
  }

  // ------------------------------------------------------------------ basics

  @Test
  void reports_the_files_present_at_start_before_the_end_of_the_startup_scan() throws Exception {
    Path a = put(root.resolve("a.txt"), "alpha");
    Path b = put(root.resolve("sub/b.txt"), "bravo!");
    Path c = put(root.resolve("sub/deeper/c.txt"), "");
    Recorder r = new Recorder();

    FolderWatcher w = started(options(root), r);
    ScanStats stats = r.awaitScan(1);

    assertEquals(ScanStats.Trigger.STARTUP, stats.trigger());
    assertEquals(3, stats.files());
    assertEquals(2, stats.directories());
    assertEquals(3, stats.differing());
    List<FileEvent> events = r.events();
    assertEquals(4, events.size(), "three Changed then ScanFinished: " + events);
    assertInstanceOf(FileEvent.ScanFinished.class, events.get(3));
    assertEquals(Map.of(a, stateOf(a), b, stateOf(b), c, stateOf(c)), r.state());
    assertEquals(6, changes(r, b).getFirst().size());
    assertTrue(w.awaitScan(1, Duration.ofMillis(Recorder.HANG_GUARD_MS)));
    assertEquals(3, w.status().tracked());
  }

  @Test
  void reports_a_file_created_after_start_once() throws Exception {
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    Path f = put(root.resolve("new.pdf"), "%PDF-1.7 pretend");
    FileEvent.Changed c = r.awaitChanged(f);
    reconcile(w, r);

    assertEquals(Files.size(f), c.size());
    assertEquals(stateOf(f), c.state());
    assertEquals(1, changes(r, f).size(), "events: " + r.events());
  }

  @Test
  void reports_a_modified_file_again_with_its_new_state() throws Exception {
    Path f = put(root.resolve("notes.md"), "one");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    put(f, "one two three");
    r.awaitEvent("Changed(" + f + ") with 13 bytes", FileEvent.Changed.class, c -> c.path().equals(f) && c.size() == 13);
    reconcile(w, r);

    assertEquals(List.of(3L, 13L), changes(r, f).stream().map(FileEvent.Changed::size).toList());
    assertEquals(stateOf(f), r.state().get(f));
  }

  @Test
  void reports_a_deleted_file() throws Exception {
    Path f = put(root.resolve("gone.txt"), "bye");
    Path kept = put(root.resolve("kept.txt"), "stay");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    Files.delete(f);
    r.awaitEvent("Deleted(" + f + ")", FileEvent.Deleted.class, d -> d.path().equals(f));
    reconcile(w, r);

    assertEquals(Map.of(kept, stateOf(kept)), r.state());
    assertEquals(Map.of(kept, stateOf(kept)), w.tracked());
  }

  @Test
  void reports_a_renamed_file_as_a_deletion_plus_a_creation() throws Exception {
    Path before = put(root.resolve("draft.docx"), "content");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    Path after = Files.move(before, root.resolve("final.docx"));
    r.awaitChanged(after);
    r.awaitEvent("Deleted(" + before + ")", FileEvent.Deleted.class, d -> d.path().equals(before));
    reconcile(w, r);

    assertEquals(Map.of(after, stateOf(after)), r.state());
  }

  @Test
  void watches_folders_created_after_start_at_any_depth() throws Exception {
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    Path first = put(root.resolve("a/b/c/first.txt"), "1");
    r.awaitChanged(first);
    // A file in a folder that now exists is found by its notification, deeper new folders by their listing.
    Path second = put(root.resolve("a/b/c/second.txt"), "22");
    Path third = put(root.resolve("a/b/c/d/e/third.txt"), "333");
    r.awaitChanged(second);
    r.awaitChanged(third);

    assertEquals(1, r.all(FileEvent.ScanFinished.class).size(), "no full scan was needed: " + r.events());
    assertEquals(disk(root), r.state());
    assertTrue(w.status().watchedDirectories() >= 6, "root, a, b, c, d, e watched: " + w.status());
  }

  @Test
  void deleting_a_folder_reports_all_its_files_gone() throws Exception {
    Path dir = root.resolve("album");
    for (int i = 0; i < 5; i++) put(dir.resolve("sub" + (i % 2) + "/img" + i + ".jpg"), "pixels " + i);
    Path other = put(root.resolve("albumen.txt"), "a sibling whose name starts like the folder's");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    deleteTree(dir);
    r.await("every file of " + dir + " reported gone", es -> r.state().keySet().stream().noneMatch(p -> p.startsWith(dir)) ? true : null);
    reconcile(w, r);

    assertEquals(Map.of(other, stateOf(other)), r.state());
  }

  @Test
  void a_folder_deleted_while_only_scanning_is_one_directory_deleted_event() throws Exception {
    Path dir = root.resolve("album");
    for (int i = 0; i < 20; i++) put(dir.resolve("sub" + (i % 3) + "/img" + i + ".jpg"), "pixels " + i);
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withWatchService(false), r);
    r.awaitScan(1);

    deleteTree(dir);
    ScanStats stats = reconcile(w, r);

    assertEquals(20, stats.missing());
    List<FileEvent> after = r.events().subList(21, r.events().size());
    assertEquals(List.of(new FileEvent.DirectoryDeleted(dir), new FileEvent.ScanFinished(stats)), after);
    assertEquals(Map.of(), r.state());
  }

  @Test
  void renaming_a_folder_reports_its_files_under_the_new_path() throws Exception {
    Path old = root.resolve("2023");
    for (int i = 0; i < 4; i++) put(old.resolve("q" + i + "/report.pdf"), "report " + i);
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    Path renamed = Files.move(old, root.resolve("2023-archive"));
    r.await("the renamed files reported", es -> r.state().keySet().stream().filter(p -> p.startsWith(renamed)).count() == 4 ? true : null);
    r.awaitEvent("DirectoryDeleted(" + old + ")", FileEvent.DirectoryDeleted.class, d -> d.directory().equals(old));
    // A file added inside the renamed folder is reported under the new name.
    Path added = put(renamed.resolve("q1/extra.txt"), "more");
    r.awaitChanged(added);
    reconcile(w, r);

    assertEquals(disk(root), r.state());
  }

  @Test
  void a_file_written_in_several_steps_is_reported_once_after_it_settles_with_its_final_size() throws Exception {
    Recorder r = new Recorder();
    // A settle time well above the pauses between writes, as a copy or a download would have.
    FolderWatcher w = started(options(root).withSettleTime(Duration.ofMillis(1500)), r);
    r.awaitScan(1);

    Path f = root.resolve("movie.mp4");
    byte[] chunk = new byte[4096];
    new Random(42).nextBytes(chunk);
    for (int step = 0; step < 5; step++) {
      assertEquals(List.of(), r.about(f), "reported while still being written, before step " + step);
      Files.write(f, chunk, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      Thread.sleep(100);
    }
    FileEvent.Changed c = r.awaitChanged(f);
    reconcile(w, r);

    assertEquals(5L * chunk.length, c.size());
    assertEquals(1, changes(r, f).size(), "events: " + r.events());
  }

  @Test
  void a_file_modified_while_it_settles_is_reported_once_with_its_last_state() throws Exception {
    // Without notifications: the scan finds the first version, the settle check sees the second.
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withWatchService(false).withSettleTime(Duration.ofMillis(1500)), r);
    r.awaitScan(1);

    Path f = put(root.resolve("growing.log.txt"), "first");
    long scan = w.rescanNow();
    r.await("scan " + scan + " started", es -> w.status().pending() > 0 ? true : null);
    put(f, "first and second");
    r.awaitScan(scan);

    assertEquals(List.of(16L), changes(r, f).stream().map(FileEvent.Changed::size).toList());
  }

  // ------------------------------------------------------------------ skipping

  @Test
  void hidden_and_temporary_files_and_folders_are_ignored() throws Exception {
    List<String> junk = List.of(".hidden", ".git/config", ".cache/x/y.bin", "~$report.docx", "a.tmp", "b.TMP", ".c.swp", "d.swx",
        "e.txt~", ".#f.txt", "g.part", "h.crdownload", ".DS_Store", "Thumbs.db", "sub/thumbs.db", "desktop.ini", "tmp-dir.tmp/inside.pdf");
    for (String j : junk) put(root.resolve(j), "junk");
    Path kept = put(root.resolve("sub/kept.pdf"), "real");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    ScanStats first = r.awaitScan(1);
    for (String j : junk) put(root.resolve("later").resolve(j), "junk");
    Path keptLater = put(root.resolve("later/kept.pdf"), "real");
    r.awaitChanged(keptLater);
    reconcile(w, r);

    assertEquals(Set.of(kept, keptLater), r.state().keySet(), "events: " + r.events());
    assertEquals(2, r.all(FileEvent.Changed.class).size());
    assertTrue(first.skipped() >= 13, "skipped names counted: " + first);
  }

  @Test
  void the_skip_rules_can_be_changed() throws Exception {
    Path tmp = put(root.resolve("keep.tmp"), "x");
    Path log = put(root.resolve("drop.log"), "x");
    Path hidden = put(root.resolve(".visible-now"), "x");
    Recorder r = new Recorder();
    SkipRules rules = SkipRules.defaults().withoutPatterns("*.tmp").withPatterns("*.log").withSkipHidden(false);
    started(options(root).withSkipRules(rules), r);
    r.awaitScan(1);

    assertEquals(Set.of(tmp, hidden), r.state().keySet());
    assertFalse(r.state().containsKey(log));
  }

  @Test
  void excluded_folders_are_not_entered() throws Exception {
    Path data = Files.createDirectories(root.resolve("loupe-data/index"));
    put(data.resolve("segments_1"), "index");
    Path doc = put(root.resolve("doc.txt"), "doc");
    Recorder r = new Recorder();
    started(options(root).withExcluded(List.of(root.resolve("loupe-data"))), r);
    r.awaitScan(1);

    assertEquals(Set.of(doc), r.state().keySet());
  }

  // ------------------------------------------------------------------ links

  @Test
  void a_folder_link_to_its_parent_is_skipped_without_looping() throws Exception {
    Path a = Files.createDirectories(root.resolve("a"));
    Path f = put(a.resolve("photo.png"), "png");
    Files.createSymbolicLink(a.resolve("loop"), a);
    Files.createSymbolicLink(root.resolve("self"), root);
    Files.createSymbolicLink(a.resolve("dangling"), root.resolve("nowhere"));
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    ScanStats stats = r.awaitScan(1);
    Files.createSymbolicLink(a.resolve("loop-later"), root);
    reconcile(w, r);

    assertEquals(Map.of(f, stateOf(f)), r.state());
    assertEquals(1, r.all(FileEvent.Changed.class).size(), "events: " + r.events());
    assertEquals(1, stats.files());
    assertTrue(stats.skipped() >= 3, "links counted as skipped: " + stats);
  }

  @Test
  void links_out_of_the_watched_folder_are_not_followed() throws Exception {
    Path outside = Files.createDirectories(temp.resolve("outside"));
    Path secret = put(outside.resolve("secret.txt"), "not yours");
    put(outside.resolve("deep/more.txt"), "nor this");
    Files.createSymbolicLink(root.resolve("out"), outside);
    Files.createSymbolicLink(root.resolve("secret-link.txt"), secret);
    Path mine = put(root.resolve("mine.txt"), "mine");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);
    put(secret, "changed outside");
    put(outside.resolve("new.txt"), "new outside");
    Files.createSymbolicLink(root.resolve("out-later"), outside);
    put(root.resolve("mine2.txt"), "mine too");
    r.awaitChanged(root.resolve("mine2.txt"));
    reconcile(w, r);

    assertEquals(Set.of(mine, root.resolve("mine2.txt")), r.state().keySet(), "events: " + r.events());
    assertTrue(r.all(FileEvent.Changed.class).stream().allMatch(c -> c.path().startsWith(root)));
  }

  @Test
  void a_known_file_reached_through_a_folder_that_became_a_link_is_reported_deleted() throws Exception {
    Path dir = root.resolve("docs");
    Path f = put(dir.resolve("a.txt"), "a");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withWatchService(false), r);
    r.awaitScan(1);

    // The folder is replaced by a link to an outside folder holding a file of the same name.
    Path outside = Files.createDirectories(temp.resolve("outside"));
    put(outside.resolve("a.txt"), "outside content of another size");
    deleteTree(dir);
    Files.createSymbolicLink(dir, outside);
    reconcile(w, r);

    assertEquals(Map.of(), r.state(), "events: " + r.events());
    assertFalse(r.all(FileEvent.Changed.class).stream().anyMatch(c -> c.path().equals(f) && c.size() != 1));
  }

  @Test
  void a_root_given_as_a_link_is_watched_under_its_real_path() throws Exception {
    Path f = put(root.resolve("x.txt"), "x");
    Path link = Files.createSymbolicLink(temp.resolve("inbox-link"), root);
    Recorder r = new Recorder();
    FolderWatcher w = started(options(link), r);
    r.awaitScan(1);

    assertEquals(List.of(root), w.roots());
    assertEquals(Set.of(f), r.state().keySet());
  }

  // ------------------------------------------------------------------ reconciliation

  @Test
  void changes_made_while_stopped_are_found_by_the_startup_scan() throws Exception {
    Path modified = put(root.resolve("modified.txt"), "v1");
    Path deleted = put(root.resolve("d/deleted.txt"), "bye");
    Path same = put(root.resolve("same.txt"), "same");
    Recorder first = new Recorder();
    FolderWatcher w1 = started(options(root), first);
    first.awaitScan(1);
    Map<Path, FileState> journal = w1.tracked();
    w1.close();

    put(modified, "version two");
    Files.delete(deleted);
    Path added = put(root.resolve("d/added.txt"), "new");
    Recorder second = new Recorder();
    started(options(root), journal, second);
    ScanStats stats = second.awaitScan(1);

    assertEquals(Set.of(new FileEvent.Changed(modified, 11, stateOf(modified).modified()), new FileEvent.Deleted(deleted),
        new FileEvent.Changed(added, 3, stateOf(added).modified()), new FileEvent.ScanFinished(stats)), Set.copyOf(second.events()));
    assertEquals(4, second.events().size(), "events: " + second.events());
    assertEquals(Map.of(modified, stateOf(modified), same, stateOf(same), added, stateOf(added)), Map.copyOf(journalAfter(journal, second)));
  }

  @Test
  void without_the_watch_service_changes_are_found_by_requested_scans() throws Exception {
    Path a = put(root.resolve("a.txt"), "a");
    Path b = put(root.resolve("b.txt"), "b");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withWatchService(false), r);
    r.awaitScan(1);

    put(a, "a changed");
    Files.delete(b);
    Path c = put(root.resolve("new/c.txt"), "c");
    ScanStats stats = reconcile(w, r);

    assertEquals(ScanStats.Trigger.REQUESTED, stats.trigger());
    assertEquals(disk(root), r.state());
    assertEquals(Set.of(a, c), r.state().keySet());
    assertEquals(0, w.status().watchedDirectories());
  }

  @Test
  void without_the_watch_service_the_periodic_scan_finds_changes() throws Exception {
    Recorder r = new Recorder();
    started(options(root).withWatchService(false).withRescanInterval(Duration.ofMillis(200)), r);
    r.awaitScan(1);

    Path f = put(root.resolve("later.txt"), "found by the periodic scan");
    r.awaitChanged(f);

    assertTrue(r.all(FileEvent.ScanFinished.class).stream().anyMatch(s -> s.stats().trigger() == ScanStats.Trigger.PERIODIC));
  }

  @Test
  void an_overflow_of_the_watch_service_triggers_a_scan_that_recovers_missed_changes() throws Exception {
    Recorder r = new Recorder();
    // Without notifications every change is "missed"; the overflow is what the events thread does on OVERFLOW.
    FolderWatcher w = started(options(root).withWatchService(false), r);
    r.awaitScan(1);

    Path f = put(root.resolve("missed.txt"), "missed");
    w.simulateOverflow();
    ScanStats stats = r.awaitScan(2);

    assertEquals(ScanStats.Trigger.OVERFLOW, stats.trigger());
    assertEquals(Set.of(f), r.state().keySet());
  }

  @Test
  void a_missing_root_keeps_its_files_and_is_reported_unreadable() throws Exception {
    Path disk = Files.createDirectories(temp.resolve("usb")).toRealPath();
    Path f = put(disk.resolve("photo.jpg"), "jpg");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root, disk).withWatchService(false), r);
    r.awaitScan(1);

    deleteTree(disk);
    ScanStats stats = reconcile(w, r);

    assertEquals(1, stats.missingRoots());
    assertEquals(Map.of(f, r.state().get(f)), r.state());
    FileEvent.Unreadable warning = r.awaitEvent("warning about " + disk, FileEvent.Unreadable.class, u -> u.path().equals(disk));
    assertTrue(warning.reason().contains("missing"), warning.reason());
  }

  @Test
  void a_file_replaced_by_a_folder_is_reported_deleted_and_its_contents_new() throws Exception {
    Path x = put(root.resolve("x"), "file");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withWatchService(false), r);
    r.awaitScan(1);

    Files.delete(x);
    Path inside = put(x.resolve("inside.txt"), "now a folder");
    reconcile(w, r);

    assertEquals(Map.of(inside, stateOf(inside)), r.state());
    assertTrue(r.events().contains(new FileEvent.Deleted(x)), "events: " + r.events());
  }

  @Test
  void files_appearing_and_vanishing_during_scans_raise_no_errors_and_the_state_converges() throws Exception {
    churnAndConverge(Long.getLong("loupe.test.seed", 7));
  }

  void churnAndConverge(long seed) throws Exception {
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withSettleTime(Duration.ofMillis(20)), r);
    r.awaitScan(1);

    Random random = new Random(seed);
    AtomicBoolean stop = new AtomicBoolean();
    Thread churn = new Thread(() -> {
      for (int i = 0; i < 3000 && !stop.get(); i++) {
        Path dir = root.resolve("d" + random.nextInt(8)).resolve("e" + random.nextInt(4));
        Path f = dir.resolve("f" + random.nextInt(20) + ".txt");
        try {
          switch (random.nextInt(4)) {
            case 0, 1 -> put(f, "v" + i);
            case 2 -> Files.deleteIfExists(f);
            default -> {
              if (random.nextInt(10) == 0) deleteTree(dir.getParent());
            }
          }
        } catch (IOException | RuntimeException e) {
          // A folder deleted under our feet: part of the churn.
        }
      }
    });
    churn.start();
    while (churn.isAlive()) {
      w.rescanNow();
      Thread.sleep(5);
    }
    churn.join();
    reconcile(w, r);

    assertEquals(disk(root), new TreeMap<>(r.state()), "seed " + seed);
    assertEquals(List.of(), r.all(FileEvent.Unreadable.class), "seed " + seed);
  }

  // ------------------------------------------------------------------ scale

  @Test
  void ten_thousand_small_files_in_nested_folders_are_reported_exactly_once_with_bounded_pending() throws Exception {
    int files = 10_000;
    int maxPending = 256;
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withSettleTime(Duration.ofMillis(50)).withMaxPending(maxPending), r);
    r.awaitScan(1);

    List<Path> created = new ArrayList<>(files);
    for (int i = 0; i < files; i++) {
      created.add(put(root.resolve("d" + i % 10).resolve("e" + i % 7).resolve("f" + i % 13).resolve("file" + i + ".txt"), "n" + i));
    }
    r.await(files + " files reported", es -> r.state().size() == files ? true : null);
    reconcile(w, r);

    Map<Path, Long> counts = r.all(FileEvent.Changed.class).stream().collect(Collectors.groupingBy(FileEvent.Changed::path, Collectors.counting()));
    assertEquals(Set.copyOf(created), counts.keySet());
    assertEquals(Map.of(), counts.entrySet().stream().filter(e -> e.getValue() != 1).collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)),
        "files reported more than once");
    assertTrue(w.status().peakPending() <= maxPending, "pending files bounded by " + maxPending + ": " + w.status());
    assertEquals(files, w.status().tracked());
    assertEquals(0, w.status().pending());
  }

  @Test
  void a_blocked_listener_holds_the_scan_back_instead_of_growing_memory() throws Exception {
    int files = 1000;
    int maxPending = 100;
    for (int i = 0; i < files; i++) put(root.resolve("batch" + i % 10).resolve("f" + i + ".txt"), "file " + i);
    CountDownLatch release = new CountDownLatch(1);
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root).withMaxPending(maxPending), Map.of(), event -> {
      release.await(); // the pipeline is paused
      r.onEvent(event);
    });

    r.await("the pending files to reach the bound", es -> w.status().pending() == maxPending ? true : null);
    assertEquals(List.of(), r.events(), "nothing delivered while the listener is blocked");
    assertTrue(w.status().peakPending() <= maxPending, w.status().toString());
    release.countDown();
    ScanStats stats = r.awaitScan(1);

    assertEquals(files, stats.files());
    assertEquals(files, r.all(FileEvent.Changed.class).size());
    assertEquals(files, r.state().size());
    assertTrue(w.status().peakPending() <= maxPending, w.status().toString());
  }

  // ------------------------------------------------------------------ roots

  @Test
  void overlapping_roots_are_watched_once() throws Exception {
    Path inner = Files.createDirectories(root.resolve("inner"));
    Path f = put(inner.resolve("f.txt"), "once");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(inner, root, root, temp.resolve("inbox/./inner/..")), r);
    r.awaitScan(1);
    Path g = put(inner.resolve("g.txt"), "once too");
    r.awaitChanged(g);
    reconcile(w, r);

    assertEquals(List.of(root), w.roots());
    assertEquals(1, changes(r, f).size());
    assertEquals(1, changes(r, g).size(), "events: " + r.events());
  }

  @Test
  void missing_roots_and_files_given_as_roots_are_rejected_by_name() throws Exception {
    Path missing = temp.resolve("no-such-folder");
    Path file = put(temp.resolve("a-file.txt"), "x");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new FolderWatcher(options(root, missing, file), event -> {}));

    assertTrue(e.getMessage().contains(missing + " does not exist"), e.getMessage());
    assertTrue(e.getMessage().contains(file + " is not a folder"), e.getMessage());
  }

  @Test
  void options_are_validated_with_the_offending_value() {
    IllegalArgumentException settle = assertThrows(IllegalArgumentException.class, () -> options(root).withSettleTime(Duration.ofSeconds(-1)));
    IllegalArgumentException interval = assertThrows(IllegalArgumentException.class, () -> options(root).withRescanInterval(Duration.ZERO));
    IllegalArgumentException pending = assertThrows(IllegalArgumentException.class, () -> options(root).withMaxPending(0));
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> WatchOptions.of(List.of()));

    assertTrue(settle.getMessage().contains("PT-1S"), settle.getMessage());
    assertTrue(interval.getMessage().contains("PT0S"), interval.getMessage());
    assertTrue(pending.getMessage().contains("0"), pending.getMessage());
    assertTrue(none.getMessage().contains("at least one"), none.getMessage());
  }

  @Test
  void known_files_outside_the_roots_are_ignored() throws Exception {
    Path elsewhere = temp.resolve("elsewhere/x.txt");
    Recorder r = new Recorder();
    started(options(root), Map.of(elsewhere, new FileState(1, java.time.Instant.EPOCH)), r);
    r.awaitScan(1);

    assertEquals(List.of(), r.all(FileEvent.Deleted.class));
  }

  // ------------------------------------------------------------------ failures and lifecycle

  @Test
  void a_failing_listener_does_not_stop_the_watcher_and_the_event_is_offered_again() throws Exception {
    Path first = put(root.resolve("first.txt"), "1");
    Recorder r = new Recorder();
    AtomicBoolean failed = new AtomicBoolean();
    FolderWatcher w = started(options(root), Map.of(), event -> {
      if (event instanceof FileEvent.Changed c && c.path().equals(first) && failed.compareAndSet(false, true)) {
        throw new IllegalStateException("pipeline hiccup (thrown on purpose by the test)");
      }
      r.onEvent(event);
    });
    r.awaitScan(1);
    Path second = put(root.resolve("second.txt"), "2");
    r.awaitChanged(second);
    reconcile(w, r);

    assertTrue(failed.get());
    assertEquals(1, changes(r, first).size(), "offered again by the next scan: " + r.events());
    assertEquals(Set.of(first, second), r.state().keySet());
  }

  @Test
  void an_unreadable_file_is_reported_once_as_a_warning() throws Exception {
    Path f = put(root.resolve("locked.pdf"), "secret");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
    assumeFalse(Files.isReadable(f), "skipped: this process reads files whatever their permissions (running as root)");
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);
    reconcile(w, r);
    reconcile(w, r);

    assertEquals(1, r.all(FileEvent.Unreadable.class).size(), "events: " + r.events());
    assertEquals(List.of(), changes(r, f));

    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    reconcile(w, r);
    assertEquals(1, changes(r, f).size(), "reported once readable: " + r.events());
  }

  @Test
  void close_stops_the_threads_and_a_closed_watcher_cannot_start() throws Exception {
    Recorder r = new Recorder();
    FolderWatcher w = started(options(root), r);
    r.awaitScan(1);

    w.close();
    w.close();

    List<String> alive = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
        .filter(n -> n.startsWith("loupe-watch-")).toList();
    assertEquals(List.of(), alive);
    assertThrows(IllegalStateException.class, w::start);
    assertFalse(w.awaitScan(2, Duration.ofMillis(Recorder.HANG_GUARD_MS)));
  }

  @Test
  void close_from_the_listener_does_not_deadlock() throws Exception {
    put(root.resolve("a.txt"), "a");
    FolderWatcher[] self = new FolderWatcher[1];
    Recorder r = new Recorder();
    self[0] = started(options(root), Map.of(), event -> {
      r.onEvent(event);
      if (event instanceof FileEvent.ScanFinished) self[0].close();
    });
    r.awaitScan(1);
    self[0].close();

    assertThrows(IllegalStateException.class, self[0]::start);
  }

  @Test
  void a_watcher_cannot_start_twice() throws Exception {
    FolderWatcher w = started(options(root), new Recorder());
    assertThrows(IllegalStateException.class, w::start);
  }

  // ------------------------------------------------------------------ helpers

  /** What a journal holding {@code before} and fed by {@code r}'s events would hold. */
  private static Map<Path, FileState> journalAfter(Map<Path, FileState> before, Recorder r) {
    Map<Path, FileState> j = new HashMap<>(before);
    for (FileEvent e : r.events()) {
      switch (e) {
        case FileEvent.Changed c -> j.put(c.path(), c.state());
        case FileEvent.Deleted d -> j.remove(d.path());
        case FileEvent.DirectoryDeleted d -> j.keySet().removeIf(d::covers);
        default -> {}
      }
    }
    return j;
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }
}
