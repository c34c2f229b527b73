package dev.loupe.indexer.watch;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Watches folders and reports stable, file-level facts ({@link FileEvent}) to one listener: new
 * or modified files once they stopped changing, deleted files and folders, unreadable paths,
 * and the end of each full reconciliation scan.
 *
 * <h2>How changes are found</h2>
 * Two sources feed the same per-path queue, so a change is reported once whichever finds it:
 * <ul>
 *   <li>the JDK {@link WatchService} (inotify on Linux), every folder registered, folders created
 *       later included; when it loses events ({@code OVERFLOW}, or more notifications than
 *       {@link WatchOptions#maxPending()}) a full scan is scheduled. Folders it cannot take (the
 *       inotify limit) are logged once and left to the periodic scans;</li>
 *   <li>full reconciliation scans: at start, every {@link WatchOptions#rescanInterval()}, on
 *       {@link #rescanNow()} and after lost events. A scan compares what it finds with what the
 *       watcher last reported, seeded at construction from a snapshot the caller supplies (the
 *       journal's known files), so changes made while Loupe was not running are found at start.</li>
 * </ul>
 *
 * <h2>Stability</h2>
 * A path is reported only when two observations at least {@link WatchOptions#settleTime()} apart
 * agree (same size and modification time, or both missing) and no change notification arrived in
 * between. A file still being copied is re-checked later, never reported half-written. Deletions
 * settle too, so an editor that deletes and rewrites a file produces one {@code Changed} (or
 * nothing) rather than a deletion and a creation.
 *
 * <h2>What is reported</h2>
 * <ul>
 *   <li>Only regular files under a watched folder, with no skipped name on the way
 *       ({@link SkipRules}), outside the excluded folders.</li>
 *   <li>Symbolic links are never followed, neither to files nor to folders: a link to something
 *       inside a watched folder is redundant (the target is reported under its own path) and a
 *       link out of the watched folders is out of bounds. The one exception is a root given as a
 *       link, resolved once at start: every reported path lies under the roots' real paths.
 *       Folder loops that need no link (bind mounts) are detected by file key and skipped.</li>
 *   <li>Roots that lie inside other roots are watched once, as part of the outer one.</li>
 *   <li>A watched folder that vanishes (an unmounted disk) is reported {@link FileEvent.Unreadable}
 *       and its files are kept, not deleted; it is picked up again by the scan after it returns.</li>
 *   <li>Moves are a deletion plus a creation, see {@link FileEvent}.</li>
 * </ul>
 *
 * <h2>Back-pressure and memory</h2>
 * The listener is called on one thread, in order. Until it returns nothing else is reported, the
 * files waiting to settle pile up to {@link WatchOptions#maxPending()}, and then the scan waits
 * (notifications that find no room are dropped and answered by a full scan), so a slow pipeline
 * slows the watcher instead of growing its memory. Besides the pending files the watcher keeps,
 * per reported file, its path, size and modification time (about 200 bytes), to compare with.
 *
 * <h2>Failures</h2>
 * A listener that throws is logged; the event is treated as not delivered and offered again by
 * the next full scan. Files that vanish mid-scan are ignored; an unreadable file or folder is
 * reported once as {@link FileEvent.Unreadable}.
 *
 * <h2>Threads and lifecycle</h2>
 * {@link #start()} starts three daemon threads, {@code loupe-watch-events-N} (the watch
 * service), {@code loupe-watch-scan-N} (scans) and {@code loupe-watch-report-N} (settling and the
 * listener calls); {@link #close()} stops them and closes the watch service. All public methods
 * are thread-safe.
 */
public final class FolderWatcher implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(FolderWatcher.class.getName());
  private static final AtomicInteger INSTANCES = new AtomicInteger();
  /** Candidates checked per lock acquisition, files offered per scan batch. */
  private static final int BATCH = 256;
  /** Entries examined per lock hold when looking for files a scan did not see. */
  private static final int MISSING_CHUNK = 4096;
  /** Folders created and waiting for their first listing before a full scan replaces them. */
  private static final int MAX_SUBTREE_REQUESTS = 1024;
  private static final long CLOSE_GRACE_MS = 2_000;

  /** Receives the events, on the watcher's report thread, one at a time and in order. */
  @FunctionalInterface
  public interface Listener {
    /**
     * Handles one event. May block (that is the back-pressure); may throw, which is logged and
     * makes the event count as not delivered. Blocking calls should answer interruption: {@link
     * FolderWatcher#close()} interrupts a listener that has not returned after a grace period.
     */
    void onEvent(FileEvent event) throws Exception;
  }

  /**
   * A snapshot of the watcher's bookkeeping, for a status page.
   *
   * @param tracked files reported and still present, as far as the watcher knows
   * @param pending files waiting to settle
   * @param peakPending most files ever waiting at once
   * @param watchedDirectories folders registered with the watch service
   * @param scansFinished full scans whose {@link FileEvent.ScanFinished} was delivered
   */
  public record Status(int tracked, int pending, int peakPending, int watchedDirectories, long scansFinished) {}

  private final WatchOptions options;
  private final WatchRoots roots;
  private final Listener listener;
  private final long settleNanos;
  private final long intervalNanos;
  private final int id = INSTANCES.incrementAndGet();
  private final char separator;

  private final ReentrantLock lock = new ReentrantLock();
  /** The report thread waits on it for due candidates, warnings and finished scans. */
  private final Condition work = lock.newCondition();
  /** The scan thread waits on it for room among the pending files. */
  private final Condition room = lock.newCondition();
  /** The scan thread waits on it for the next scan. */
  private final Condition scanWanted = lock.newCondition();
  /** {@link #awaitScan} waits on it. */
  private final Condition scanDone = lock.newCondition();

  // Guarded by lock.
  /** Reported files by absolute path string; sorted so that a folder's files form one range. */
  private final TreeMap<String, Tracked> tracked = new TreeMap<>();
  private final Map<Path, Candidate> pending = new HashMap<>();
  private final PriorityQueue<Candidate> due = new PriorityQueue<>(Comparator.comparingLong((Candidate c) -> c.due));
  /** Pending candidates per scan that found them, so a scan's end is reported after its changes. */
  private final TreeMap<Long, Integer> outstanding = new TreeMap<>();
  private final ArrayDeque<Walked> walked = new ArrayDeque<>();
  private final ArrayDeque<FileEvent.Unreadable> warnings = new ArrayDeque<>();
  /** The reason last warned per path, so each is reported once. */
  private final Map<Path, String> warned = new HashMap<>();
  private final LinkedHashSet<Path> subtreeRequests = new LinkedHashSet<>();
  private ScanStats.Trigger fullScanRequested;
  private long fullScansStarted;
  private long fullScansFinished;
  private long scanSeq;
  private int peakPending;
  private boolean started;
  private volatile boolean closed;

  private volatile WatchService watchService;
  private final Map<WatchKey, Path> keyDirs = new ConcurrentHashMap<>();
  private final Map<Path, WatchKey> dirKeys = new ConcurrentHashMap<>();
  private volatile boolean watchLimitWarned;
  private final List<Thread> threads = new ArrayList<>();

  /**
   * A watcher that knows nothing yet: everything found at start is reported.
   *
   * @throws IllegalArgumentException naming every root that is missing or not a folder
   */
  public FolderWatcher(WatchOptions options, Listener listener) {
    this(options, Map.of(), listener);
  }

  /**
   * A watcher that starts from what the caller already knows, so that at start only differences
   * are reported: files in {@code known} that are unchanged are not reported, missing ones are
   * reported deleted. Pass the files whose processing finished; a file left out is reported
   * again. Paths outside the watched folders are ignored.
   *
   * @param options what and how to watch
   * @param known absolute file paths, as this watcher reports them, with their last known state
   * @param listener receives the events
   * @throws IllegalArgumentException naming every root that is missing or not a folder
   */
  public FolderWatcher(WatchOptions options, Map<Path, FileState> known, Listener listener) {
    this.options = Objects.requireNonNull(options, "options");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.roots = WatchRoots.resolve(options.roots(), options.excluded(), options.skipRules());
    this.settleNanos = options.settleTime().toNanos();
    this.intervalNanos = options.rescanInterval().toNanos();
    FileSystem fs = roots.list().getFirst().getFileSystem();
    for (Path r : roots.list()) {
      if (r.getFileSystem() != fs) throw new IllegalArgumentException("watched folders " + roots.list() + " are on different file system providers");
    }
    this.separator = fs.getSeparator().charAt(0);
    int ignored = 0;
    for (Map.Entry<Path, FileState> e : known.entrySet()) {
      Path p = e.getKey().toAbsolutePath().normalize();
      if (roots.rootOf(p) == null || p.equals(roots.rootOf(p))) {
        ignored++;
      } else {
        tracked.put(p.toString(), new Tracked(Objects.requireNonNull(e.getValue(), "state of " + p)));
      }
    }
    if (ignored > 0) LOG.log(System.Logger.Level.DEBUG, ignored + " known files lie outside " + roots.list() + " and are ignored");
  }

  /** The folders actually walked: real paths, duplicates and folders inside others removed. */
  public List<Path> roots() {
    return roots.list();
  }

  /** The options given. */
  public WatchOptions options() {
    return options;
  }

  /**
   * Starts watching: registers with the watch service, starts the threads, and runs the first
   * full scan (its {@link FileEvent.ScanFinished} has scan number 1).
   *
   * @throws IllegalStateException when already started or closed
   * @throws IOException when the watch service cannot be created
   */
  public void start() throws IOException {
    lock.lock();
    try {
      if (closed) throw new IllegalStateException("watcher of " + roots.list() + " is closed");
      if (started) throw new IllegalStateException("watcher of " + roots.list() + " is already started");
      if (options.useWatchService()) {
        watchService = roots.list().getFirst().getFileSystem().newWatchService();
        threads.add(daemon("loupe-watch-events-" + id, this::eventsLoop));
      }
      threads.add(daemon("loupe-watch-scan-" + id, this::scanLoop));
      threads.add(daemon("loupe-watch-report-" + id, this::reportLoop));
      started = true;
      fullScanRequested = ScanStats.Trigger.STARTUP;
      threads.forEach(Thread::start);
    } finally {
      lock.unlock();
    }
    LOG.log(System.Logger.Level.INFO, "watching " + roots.list() + (options.useWatchService() ? " with the watch service" : " by scanning only")
        + ", settle time " + options.settleTime() + ", full scan every " + options.rescanInterval());
  }

  /**
   * Asks for a full reconciliation scan as soon as the current one (if any) is done. Requests
   * made before it starts are merged into it.
   *
   * @return the number of the scan that will answer this request: once a {@link
   *     FileEvent.ScanFinished} with at least this number is reported, every change made before
   *     this call was reported
   */
  public long rescanNow() {
    return requestFullScan(ScanStats.Trigger.REQUESTED);
  }

  /**
   * Waits until the {@link FileEvent.ScanFinished} of full scan {@code scan} (or a later one) was
   * delivered to the listener, e.g. {@code awaitScan(1, …)} for "everything present at start was
   * reported".
   *
   * @return true when it was, false when the time ran out or the watcher closed first
   */
  public boolean awaitScan(long scan, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (fullScansFinished < scan && !closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) return false;
        scanDone.awaitNanos(left);
      }
      return fullScansFinished >= scan;
    } finally {
      lock.unlock();
    }
  }

  /** The bookkeeping now. */
  public Status status() {
    lock.lock();
    try {
      return new Status(tracked.size(), pending.size(), peakPending, keyDirs.size(), fullScansFinished);
    } finally {
      lock.unlock();
    }
  }

  /** A copy of what the watcher believes is on disk: every file reported and not deleted since, with its state. */
  public Map<Path, FileState> tracked() {
    FileSystem fs = roots.list().getFirst().getFileSystem();
    lock.lock();
    try {
      Map<Path, FileState> copy = new LinkedHashMap<>();
      tracked.forEach((k, v) -> copy.put(fs.getPath(k), v.state));
      return copy;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops the threads and closes the watch service. Waits for a listener call in progress to
   * return, interrupting it after a grace period. Idempotent; the watcher cannot be restarted.
   */
  @Override
  public void close() {
    List<Thread> running;
    lock.lock();
    try {
      if (closed) return;
      closed = true;
      work.signalAll();
      room.signalAll();
      scanWanted.signalAll();
      scanDone.signalAll();
      running = List.copyOf(threads);
    } finally {
      lock.unlock();
    }
    if (watchService != null) {
      try {
        watchService.close();
      } catch (IOException e) {
        LOG.log(System.Logger.Level.WARNING, "closing the watch service of " + roots.list() + " failed: " + e.getMessage());
      }
    }
    boolean interrupted = false;
    for (Thread t : running) {
      if (t == Thread.currentThread()) continue; // close() called by the listener
      try {
        t.join(CLOSE_GRACE_MS);
        if (t.isAlive()) {
          t.interrupt();
          t.join(CLOSE_GRACE_MS);
        }
        if (t.isAlive()) LOG.log(System.Logger.Level.WARNING, "thread " + t.getName() + " did not stop; its listener call is still blocked");
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  /** Test hook: what the events thread does when the watch service reports OVERFLOW. */
  void simulateOverflow() {
    requestFullScan(ScanStats.Trigger.OVERFLOW);
  }

  // ---------------------------------------------------------------- watch service

  private void eventsLoop() {
    while (!closed) {
      WatchKey key;
      try {
        key = watchService.take();
      } catch (ClosedWatchServiceException | InterruptedException e) {
        return;
      }
      try {
        Path dir = keyDirs.get(key);
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.kind() == OVERFLOW) {
            LOG.log(System.Logger.Level.DEBUG, "watch service overflow; scheduling a full scan");
            requestFullScan(ScanStats.Trigger.OVERFLOW);
          } else if (dir != null && event.context() instanceof Path name) {
            onNotification(event.kind(), dir.resolve(name));
          }
        }
        if (!key.reset()) {
          keyDirs.remove(key);
          if (dir != null) {
            dirKeys.remove(dir, key);
            if (roots.isRoot(dir)) {
              requestFullScan(ScanStats.Trigger.OVERFLOW);
            } else {
              offerFromNotification(dir);
            }
          }
        }
      } catch (ClosedWatchServiceException e) {
        return;
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "handling a watch event failed; the next full scan makes up for it", e);
      }
    }
  }

  private void onNotification(WatchEvent.Kind<?> kind, Path child) {
    if (!roots.inScope(child)) return;
    if (kind == ENTRY_CREATE && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
      requestSubtreeScan(child);
    } else {
      offerFromNotification(child);
    }
  }

  private void register(Path dir) {
    if (watchService == null || closed || isRegistered(dir)) return;
    try {
      WatchKey key = dir.register(watchService, ENTRY_CREATE, ENTRY_DELETE, ENTRY_MODIFY);
      // A renamed folder keeps its key: the key now stands for the new path.
      Path before = keyDirs.put(key, dir);
      if (before != null && !before.equals(dir)) dirKeys.remove(before, key);
      dirKeys.put(dir, key);
    } catch (NoSuchFileException | NotDirectoryException | ClosedWatchServiceException e) {
      // Gone already, or closing.
    } catch (IOException e) {
      if (!watchLimitWarned) {
        watchLimitWarned = true;
        LOG.log(System.Logger.Level.WARNING, "cannot watch " + dir + " (" + e.getMessage() + "); folders the watch service cannot"
            + " take are reconciled by the full scan every " + options.rescanInterval() + " only. On Linux, raise the limit with"
            + " `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.conf to keep it)");
      }
    }
  }

  private boolean isRegistered(Path dir) {
    WatchKey key = dirKeys.get(dir);
    return key != null && key.isValid() && dir.equals(keyDirs.get(key));
  }

  // ---------------------------------------------------------------- requests

  private long requestFullScan(ScanStats.Trigger trigger) {
    lock.lock();
    try {
      if (fullScanRequested == null) fullScanRequested = trigger;
      scanWanted.signal();
      return fullScansStarted + 1;
    } finally {
      lock.unlock();
    }
  }

  private void requestSubtreeScan(Path dir) {
    lock.lock();
    try {
      if (fullScanRequested != null) return;
      if (subtreeRequests.size() >= MAX_SUBTREE_REQUESTS) {
        subtreeRequests.clear();
        fullScanRequested = ScanStats.Trigger.OVERFLOW;
      } else {
        subtreeRequests.add(dir);
      }
      scanWanted.signal();
    } finally {
      lock.unlock();
    }
  }

  /** A notification about {@code path}: check it now and again after the settle time. Never blocks. */
  private void offerFromNotification(Path path) {
    lock.lock();
    try {
      if (closed) return;
      Candidate c = pending.get(path);
      if (c != null) {
        c.touched = true;
      } else if (pending.size() >= options.maxPending()) {
        if (fullScanRequested == null) fullScanRequested = ScanStats.Trigger.OVERFLOW;
        scanWanted.signal();
      } else {
        add(new Candidate(path, null, System.nanoTime(), 0, 0));
      }
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- scans

  private void scanLoop() {
    long nextPeriodic = System.nanoTime() + intervalNanos;
    try {
      while (true) {
        ScanStats.Trigger trigger = null;
        Path subtree = null;
        long seq;
        long number = 0;
        lock.lock();
        try {
          while (true) {
            if (closed) return;
            long now = System.nanoTime();
            if (fullScanRequested == null && now - nextPeriodic >= 0) fullScanRequested = ScanStats.Trigger.PERIODIC;
            if (fullScanRequested != null) {
              trigger = fullScanRequested;
              fullScanRequested = null;
              subtreeRequests.clear();
              number = ++fullScansStarted;
              break;
            }
            if (!subtreeRequests.isEmpty()) {
              Iterator<Path> it = subtreeRequests.iterator();
              subtree = it.next();
              it.remove();
              break;
            }
            scanWanted.awaitNanos(nextPeriodic - now);
          }
          seq = ++scanSeq;
        } finally {
          lock.unlock();
        }
        try {
          if (trigger != null) {
            fullScan(number, trigger, seq);
            nextPeriodic = System.nanoTime() + intervalNanos;
          } else {
            subtreeScan(subtree, seq);
          }
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING, "a scan of " + (subtree != null ? subtree : roots.list()) + " failed; the next one retries", e);
        }
      }
    } catch (InterruptedException e) {
      // Closing.
    }
  }

  private void fullScan(long number, ScanStats.Trigger trigger, long seq) throws InterruptedException {
    long t0 = System.nanoTime();
    Counters k = new Counters();
    Set<Object> visited = new HashSet<>();
    List<String> missingRoots = new ArrayList<>();
    for (Path root : roots.list()) {
      BasicFileAttributes a = attributes(root);
      if (a == null || !a.isDirectory()) {
        missingRoots.add(root.toString());
        warn(root, "the watched folder is missing or no longer a folder; its files are kept until it returns");
        continue;
      }
      if (a.fileKey() != null) visited.add(a.fileKey());
      walk(root, seq, seq, k, visited);
    }
    findMissing(null, seq, seq, missingRoots, k);
    ScanStats stats = new ScanStats(number, trigger, k.files, k.directories, k.differing, k.missing, k.skipped, k.unreadable,
        missingRoots.size(), Duration.ofNanos(System.nanoTime() - t0));
    lock.lock();
    try {
      walked.add(new Walked(seq, stats));
      work.signal();
    } finally {
      lock.unlock();
    }
  }

  /** A folder created after start (or found by a check): list it now rather than at the next full scan. */
  private void subtreeScan(Path dir, long seq) throws InterruptedException {
    if (!roots.inScope(dir)) return;
    BasicFileAttributes a = attributes(dir);
    if (a == null || !a.isDirectory()) return;
    Set<Object> visited = new HashSet<>();
    // The folders above it, so a bind mount of an ancestor inside it is not walked again.
    for (Path p = dir; p != null && roots.rootOf(p) != null; p = p.getParent()) {
      BasicFileAttributes pa = attributes(p);
      if (pa != null && pa.fileKey() != null) visited.add(pa.fileKey());
    }
    Counters k = new Counters();
    walk(dir, seq, 0, k, visited);
    findMissing(dir, seq, 0, List.of(), k);
  }

  /**
   * Walks the folders under {@code top} (no links followed), registering each with the watch
   * service before listing it, so that a file created meanwhile is either listed or notified.
   */
  private void walk(Path top, long seq, long tag, Counters k, Set<Object> visited) throws InterruptedException {
    SkipRules skip = roots.skipRules();
    ArrayDeque<Path> stack = new ArrayDeque<>();
    stack.push(top);
    List<Seen> files = new ArrayList<>();
    while (!stack.isEmpty()) {
      if (closed) throw new InterruptedException("closed");
      Path dir = stack.pop();
      register(dir);
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
        for (Path child : entries) {
          if (skip.skips(child.getFileName().toString())) {
            k.skipped++;
            continue;
          }
          BasicFileAttributes a;
          try {
            a = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          } catch (NoSuchFileException e) {
            continue; // vanished mid-scan
          } catch (IOException e) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) break; // the folder itself vanished or was replaced
            k.unreadable++;
            warn(child, describe(e));
            continue;
          }
          if (a.isDirectory()) {
            if (roots.isExcluded(child) || (a.fileKey() != null && !visited.add(a.fileKey()))) {
              k.skipped++;
              continue;
            }
            k.directories++;
            stack.push(child);
          } else if (a.isRegularFile()) {
            k.files++;
            files.add(new Seen(child, new FileState(a.size(), a.lastModifiedTime().toInstant())));
            if (files.size() >= BATCH) {
              offerFromScan(files, seq, tag, k);
              files.clear();
            }
          } else {
            k.skipped++; // symbolic links (never followed), sockets, devices
          }
        }
        clearWarning(dir);
      } catch (NoSuchFileException | NotDirectoryException e) {
        // Vanished or replaced mid-scan; a check of its files reports what is gone.
      } catch (IOException | DirectoryIteratorException e) {
        k.unreadable++;
        warn(dir, describe(e instanceof DirectoryIteratorException d ? d.getCause() : e));
      }
      offerFromScan(files, seq, tag, k);
      files.clear();
    }
  }

  /** Compares files a walk saw with what was reported; new and different ones become candidates. Waits for room. */
  private void offerFromScan(List<Seen> files, long seq, long tag, Counters k) throws InterruptedException {
    if (files.isEmpty()) return;
    long now = System.nanoTime();
    lock.lock();
    try {
      for (Seen f : files) {
        while (true) {
          if (closed) throw new InterruptedException("closed");
          Tracked t = tracked.get(f.path.toString());
          if (t != null) t.seen = seq;
          boolean differs = t == null || !t.state.equals(f.state);
          Candidate c = pending.get(f.path);
          if (c != null) {
            // Already settling: this scan waits for it too, and a different state restarts the settle time.
            c.seen = Math.max(c.seen, seq);
            retag(c, tag);
            if (c.last == null || c.last.kind != Kind.FILE || !c.last.state.equals(f.state)) c.touched = true;
            if (differs) k.differing++;
            break;
          }
          if (!differs) break;
          if (pending.size() >= options.maxPending()) {
            room.await();
            continue;
          }
          k.differing++;
          add(new Candidate(f.path, Observation.file(f.state, true, true), now, seq, tag));
          break;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Files reported before under {@code prefix} (everything when null) that the walk of scan
   * {@code seq} did not see become candidates: each is checked, and reported deleted only if it
   * stays gone for the settle time.
   */
  private void findMissing(Path prefix, long seq, long tag, List<String> missingRoots, Counters k) throws InterruptedException {
    FileSystem fs = roots.list().getFirst().getFileSystem();
    String lo = prefix == null ? null : prefix + String.valueOf(separator);
    String hi = prefix == null ? null : prefix + String.valueOf((char) (separator + 1));
    String cursor = null;
    while (true) {
      List<String> chunk = new ArrayList<>();
      boolean exhausted = true;
      lock.lock();
      try {
        NavigableMap<String, Tracked> view = prefix == null ? tracked : tracked.subMap(lo, true, hi, false);
        if (cursor != null) view = view.tailMap(cursor, false);
        int examined = 0;
        for (Map.Entry<String, Tracked> e : view.entrySet()) {
          if (examined++ >= MISSING_CHUNK) {
            exhausted = false;
            break;
          }
          cursor = e.getKey();
          if (e.getValue().seen != seq && !underAny(e.getKey(), missingRoots)) chunk.add(e.getKey());
        }
      } finally {
        lock.unlock();
      }
      k.missing += chunk.size();
      for (String key : chunk) offerCheck(fs.getPath(key), seq, tag);
      if (exhausted) return;
    }
  }

  private boolean underAny(String path, List<String> folders) {
    for (String f : folders) {
      if (path.startsWith(f) && path.length() > f.length() && path.charAt(f.length()) == separator) return true;
    }
    return false;
  }

  /** A path to check from scratch (a file the scan did not see). Waits for room. */
  private void offerCheck(Path path, long seq, long tag) throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        if (closed) throw new InterruptedException("closed");
        Candidate c = pending.get(path);
        if (c != null) {
          retag(c, tag);
          c.touched = true;
          return;
        }
        Tracked t = tracked.get(path.toString());
        if (t == null || t.seen == seq) return; // reported deleted meanwhile, or seen after all
        if (pending.size() < options.maxPending()) {
          add(new Candidate(path, null, System.nanoTime(), 0, tag));
          return;
        }
        room.await();
      }
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- candidates (lock held)

  private void add(Candidate c) {
    assert lock.isHeldByCurrentThread();
    c.due = c.last == null ? c.observedAt : c.observedAt + settleNanos;
    pending.put(c.path, c);
    due.add(c);
    if (c.tag > 0) outstanding.merge(c.tag, 1, Integer::sum);
    peakPending = Math.max(peakPending, pending.size());
    if (due.peek() == c) work.signal();
  }

  private void retag(Candidate c, long tag) {
    if (tag > c.tag) {
      untag(c);
      c.tag = tag;
      outstanding.merge(tag, 1, Integer::sum);
    }
  }

  private void untag(Candidate c) {
    if (c.tag > 0) outstanding.computeIfPresent(c.tag, (key, n) -> n == 1 ? null : n - 1);
    c.tag = 0;
  }

  private void warn(Path path, String reason) {
    lock.lock();
    try {
      if (reason.equals(warned.get(path))) return;
      warned.put(path, reason);
      warnings.add(new FileEvent.Unreadable(path, reason));
      work.signal();
    } finally {
      lock.unlock();
    }
    LOG.log(System.Logger.Level.WARNING, path + ": " + reason);
  }

  private void clearWarning(Path path) {
    lock.lock();
    try {
      if (!warned.isEmpty()) warned.remove(path);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- settling and reporting

  private void reportLoop() {
    try {
      while (true) {
        List<Candidate> batch = new ArrayList<>();
        Emission notice = null;
        lock.lock();
        try {
          while (true) {
            if (closed) return;
            if (!warnings.isEmpty()) {
              notice = new Emission(warnings.poll(), null, false);
              break;
            }
            Walked w = walked.peek();
            if (w != null && (outstanding.isEmpty() || outstanding.firstKey() > w.seq)) {
              walked.poll();
              notice = new Emission(new FileEvent.ScanFinished(w.stats), () -> {
                fullScansFinished = Math.max(fullScansFinished, w.stats.scan());
                scanDone.signalAll();
              }, true);
              break;
            }
            long now = System.nanoTime();
            Candidate head = due.peek();
            if (head != null && head.due - now <= 0) {
              while (batch.size() < BATCH && (head = due.peek()) != null && head.due - now <= 0) batch.add(due.poll());
              break;
            }
            if (head == null) {
              work.await();
            } else {
              work.awaitNanos(head.due - now);
            }
          }
        } finally {
          lock.unlock();
        }
        if (notice != null) {
          deliver(notice);
          continue;
        }
        for (Candidate c : batch) {
          List<Emission> out;
          try {
            Observation o = observe(c.path);
            long at = System.nanoTime();
            lock.lock();
            try {
              if (closed) return;
              out = settle(c, o, at);
            } finally {
              lock.unlock();
            }
          } catch (RuntimeException e) {
            // A bug, not a file problem: drop the path (the next full scan finds it again) rather than stop reporting.
            LOG.log(System.Logger.Level.ERROR, "checking " + c.path + " failed; it is dropped until the next full scan", e);
            drop(c);
            continue;
          }
          for (Emission e : out) deliver(e);
        }
      }
    } catch (InterruptedException e) {
      // Closing.
    } catch (Error e) {
      LOG.log(System.Logger.Level.ERROR, "the report thread of the watcher of " + roots.list() + " failed; no more events are reported", e);
      throw e;
    }
  }

  private void drop(Candidate c) {
    lock.lock();
    try {
      if (pending.remove(c.path, c)) {
        untag(c);
        room.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Compares a new observation of a candidate with the previous one: different (or notified
   * meanwhile) means wait another settle time; the same means it is stable, and what it means
   * compared with the reported state is decided.
   */
  private List<Emission> settle(Candidate c, Observation o, long at) {
    assert lock.isHeldByCurrentThread();
    if (pending.get(c.path) != c) return List.of(); // dropped
    boolean stable = c.last != null && !c.touched && c.last.sameAs(o) && at - c.observedAt >= settleNanos;
    if (!stable) {
      if (c.last == null || c.touched || !c.last.sameAs(o)) {
        c.last = o;
        c.observedAt = at;
      }
      c.touched = false;
      c.due = c.observedAt + settleNanos;
      due.add(c);
      return List.of();
    }
    pending.remove(c.path);
    untag(c);
    room.signal();
    return decide(c, o);
  }

  private List<Emission> decide(Candidate c, Observation o) {
    Path p = c.path;
    String key = p.toString();
    List<Emission> out = new ArrayList<>(2);
    switch (o.kind) {
      case MISSING -> {
        if (o.rootMissing) break; // an unmounted disk is not a deletion; the scan warns
        if (o.topMissing.equals(p)) {
          if (tracked.containsKey(key)) out.add(deleted(p));
          if (hasTrackedUnder(key)) out.add(directoryDeleted(p));
        } else if (hasTrackedUnder(o.topMissing.toString())) {
          out.add(directoryDeleted(o.topMissing));
        }
      }
      case FILE -> {
        if (hasTrackedUnder(key)) out.add(directoryDeleted(p)); // was a folder
        if (!o.inScope) {
          if (tracked.containsKey(key)) out.add(deleted(p));
        } else if (!o.readable) {
          String reason = "cannot be read: permission denied";
          if (!reason.equals(warned.get(p))) {
            warned.put(p, reason);
            LOG.log(System.Logger.Level.WARNING, p + ": " + reason);
            out.add(new Emission(new FileEvent.Unreadable(p, reason), null, false));
          }
        } else {
          Tracked t = tracked.get(key);
          if (t == null || !t.state.equals(o.state)) {
            long seen = c.seen;
            FileState state = o.state;
            out.add(new Emission(new FileEvent.Changed(p, state.size(), state.modified()), () -> {
              Tracked now = new Tracked(state);
              now.seen = seen;
              tracked.put(key, now);
              warned.remove(p);
            }, false));
          } else {
            warned.remove(p);
          }
        }
      }
      case DIRECTORY -> {
        if (tracked.containsKey(key)) out.add(deleted(p)); // was a file
        if (roots.inScope(p) && !isRegistered(p) && !roots.isRoot(p)) {
          if (subtreeRequests.size() < MAX_SUBTREE_REQUESTS) subtreeRequests.add(p);
          scanWanted.signal();
        }
      }
      case OTHER -> {
        if (tracked.containsKey(key)) out.add(deleted(p));
        if (hasTrackedUnder(key)) out.add(directoryDeleted(p));
      }
      case ERROR -> {
        if (!o.error.equals(warned.get(p))) {
          warned.put(p, o.error);
          LOG.log(System.Logger.Level.WARNING, p + ": " + o.error);
          out.add(new Emission(new FileEvent.Unreadable(p, o.error), null, false));
        }
      }
    }
    return out;
  }

  private Emission deleted(Path p) {
    String key = p.toString();
    return new Emission(new FileEvent.Deleted(p), () -> {
      tracked.remove(key);
      warned.remove(p);
    }, false);
  }

  private Emission directoryDeleted(Path dir) {
    return new Emission(new FileEvent.DirectoryDeleted(dir), () -> {
      rangeUnder(dir.toString()).clear();
      warned.keySet().removeIf(w -> w.startsWith(dir));
    }, false);
  }

  private boolean hasTrackedUnder(String dir) {
    return !rangeUnder(dir).isEmpty();
  }

  private NavigableMap<String, Tracked> rangeUnder(String dir) {
    return tracked.subMap(dir + separator, true, dir + (char) (separator + 1), false);
  }

  /** Calls the listener; on success (or always, for notices) applies the event to the bookkeeping. */
  private void deliver(Emission e) throws InterruptedException {
    boolean ok = false;
    try {
      listener.onEvent(e.event);
      ok = true;
    } catch (InterruptedException ie) {
      if (closed) throw ie;
      LOG.log(System.Logger.Level.WARNING, "the listener was interrupted on " + e.event + "; it is offered again at the next full scan");
    } catch (VirtualMachineError fatal) {
      throw fatal;
    } catch (Throwable t) {
      LOG.log(System.Logger.Level.WARNING, "the listener failed on " + e.event + "; it is offered again at the next full scan", t);
    }
    if (e.commit != null && (ok || e.always)) {
      lock.lock();
      try {
        e.commit.run();
      } finally {
        lock.unlock();
      }
    }
  }

  // ---------------------------------------------------------------- observations (no lock)

  private Observation observe(Path p) {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return missing(p);
    } catch (IOException e) {
      Path parent = p.getParent();
      if (parent != null && !Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)) return missing(p);
      return Observation.error(describe(e));
    }
    if (a.isRegularFile()) {
      FileState state = new FileState(a.size(), a.lastModifiedTime().toInstant());
      boolean inScope = roots.inScope(p);
      boolean readable = true;
      try {
        // No folder between the root and the file may be a link: the last line of defence against following one out.
        if (inScope) inScope = p.getParent().toRealPath().equals(p.getParent());
        p.getFileSystem().provider().checkAccess(p, AccessMode.READ);
      } catch (NoSuchFileException e) {
        return missing(p); // vanished between the two looks
      } catch (AccessDeniedException e) {
        readable = false;
      } catch (IOException e) {
        return Observation.error(describe(e));
      }
      return Observation.file(state, inScope, readable);
    }
    if (a.isDirectory()) return Observation.DIRECTORY;
    return Observation.OTHER;
  }

  /** Missing, with the highest folder above it (below its root) that is missing too. */
  private Observation missing(Path p) {
    Path root = roots.rootOf(p);
    if (root == null) return new Observation(Kind.MISSING, null, false, false, p, false, null);
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) return new Observation(Kind.MISSING, null, false, false, p, true, null);
    Path top = p;
    while (top.getParent() != null && !top.getParent().equals(root) && !Files.isDirectory(top.getParent(), LinkOption.NOFOLLOW_LINKS)) {
      top = top.getParent();
    }
    return new Observation(Kind.MISSING, null, false, false, top, false, null);
  }

  private static BasicFileAttributes attributes(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null;
    }
  }

  private static String describe(Throwable e) {
    if (e instanceof AccessDeniedException) return "cannot be read: permission denied";
    String m = e.getMessage();
    return "cannot be read: " + (m == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m);
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }

  // ---------------------------------------------------------------- small types

  private enum Kind { FILE, DIRECTORY, MISSING, OTHER, ERROR }

  /**
   * What one look at a path found.
   *
   * @param state size and time, for files
   * @param inScope for files: in the watched scope and reached without links
   * @param readable for files: the process may read it
   * @param topMissing for missing paths: the highest missing folder above (or the path)
   * @param rootMissing for missing paths: the watched folder itself is gone
   * @param error for errors: the reason
   */
  private record Observation(Kind kind, FileState state, boolean inScope, boolean readable, Path topMissing, boolean rootMissing, String error) {
    static final Observation DIRECTORY = new Observation(Kind.DIRECTORY, null, false, false, null, false, null);
    static final Observation OTHER = new Observation(Kind.OTHER, null, false, false, null, false, null);

    static Observation file(FileState state, boolean inScope, boolean readable) {
      return new Observation(Kind.FILE, state, inScope, readable, null, false, null);
    }

    static Observation error(String reason) {
      return new Observation(Kind.ERROR, null, false, false, null, false, reason);
    }

    /** Same kind and, for files, same size and time: what stability means. */
    boolean sameAs(Observation o) {
      return kind == o.kind && Objects.equals(state, o.state) && Objects.equals(error, o.error);
    }
  }

  /** A path waiting to settle. Guarded by the lock; in {@code due} at most once, and only while waiting. */
  private static final class Candidate {
    final Path path;
    Observation last;
    long observedAt;
    long due;
    /** A notification (or a scan seeing it differ) arrived since the last observation. */
    boolean touched;
    /** The full scan waiting for it (0: none). */
    long tag;
    /** The latest scan whose walk saw it. */
    long seen;

    Candidate(Path path, Observation last, long observedAt, long seen, long tag) {
      this.path = path;
      this.last = last;
      this.observedAt = observedAt;
      this.seen = seen;
      this.tag = tag;
    }
  }

  private static final class Tracked {
    final FileState state;
    /** The latest scan whose walk saw the file unchanged. */
    long seen;

    Tracked(FileState state) {
      this.state = state;
    }
  }

  private record Seen(Path path, FileState state) {}

  private record Walked(long seq, ScanStats stats) {}

  /** An event and what delivering it changes in the bookkeeping (run under the lock; when the listener failed too if {@code always}). */
  private record Emission(FileEvent event, Runnable commit, boolean always) {}

  private static final class Counters {
    long files;
    long directories;
    long differing;
    long missing;
    long skipped;
    long unreadable;
  }
}
