package dev.loupe.indexer.journal;

import dev.loupe.vectorstore.durable.AtomicFile;
import dev.loupe.vectorstore.durable.DirectoryLock;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The durable record of what the ingest pipeline did with every file, kept in one file
 * ({@value #FILE}) of its own directory: which content (SHA-256) each path has, and for each
 * content whether its items are pending, done (how many), failed (why) or being deleted.
 *
 * <h2>Identity</h2>
 *
 * Content is identified by its SHA-256; a content's index items have the ids {@code sha#0},
 * {@code sha#1}... ({@link #itemId}), so the items of any content can be found, and deleted, from
 * the journal alone. Several paths may share one content: it is indexed once and listed under each
 * ({@link ContentInfo#paths()}). An unchanged file is never ingested again; a moved or renamed
 * file keeps its items ({@link #moved}, or delete-then-create: the content stays an
 * <em>orphan</em>, items intact, until {@link #collectOrphans}, and a path that turns up with its
 * hash in the meantime takes it back); a modified file gets its new content ingested and its old
 * content {@linkplain #retire retired} in the same index commit; a deleted file's content is
 * retired once no path has it.
 *
 * <h2>The pipeline's protocol</h2>
 *
 * <ol>
 *   <li>On start, {@link #recover()} once: re-ingest or delete what a crash interrupted.
 *   <li>For each file seen (watch event or scan): {@link #observe}; on {@link Action#HASH}, hash it
 *       and call {@link #hashed} (or {@link #unreadable} if it cannot be read).
 *   <li>On {@link Action#INGEST}: extract and embed; before writing items with ordinals below
 *       {@code n} to an index, {@link #reserve reserve(sha, n)} (reserve generously, say in steps of
 *       256: deleting absent ids later is cheap).
 *   <li><b>Before every index commit, call {@link #sync()}</b>: it makes the reservations (and
 *       retirements) durable, so that nothing the index holds after a crash is unknown to the
 *       journal.
 *   <li>After the commit that holds all of a content's items: {@link #done}. After a failure, with
 *       the items it wrote deleted in a commit (or none written): {@link #failed}. An ingest that
 *       stops otherwise (the file changed or vanished under the extractor, a cancel) is
 *       {@link #abandon}ed.
 *   <li>To replace the items of an indexed content (a model was installed since it was done):
 *       {@link #reingest}, then as for {@link Action#INGEST}, deleting the old items in the commit
 *       that writes the new ones.
 *   <li>Contents that lost their last path ({@link Decision#orphaned()}, {@link #collectOrphans()}):
 *       {@link #retire}, delete their items, sync, commit, then {@link #purged}.
 *   <li>On removal of a file: {@link #removed}; the reconciliation scan also removes journal
 *       paths ({@link #files()}) that no longer exist.
 * </ol>
 *
 * The pipeline must not run two ingests of one content at once; the journal helps by answering
 * {@link Action#INGEST} only when a content becomes pending, and {@link Action#LINKED} to every
 * other path that turns up with it while it is.
 *
 * <h2>Durability</h2>
 *
 * A mutating method changes the in-memory state and appends a record to a buffer; it does no I/O
 * and returns at memory speed. <b>A change is durable once a later {@link #sync()} (or
 * {@link #close()}) returns</b>; {@code sync} writes every record appended before it was called
 * and forces the file once, so calls from many threads are grouped into one {@code fsync} (group
 * commit). After a crash the journal reopens with a prefix of its records that holds at least
 * everything synced: a torn tail is cut off with a warning in the log. Changes lost that way were
 * never relied on by the index (see the protocol), so they are found again by the next scan.
 *
 * <p>When the file has grown past twice its size at the last compaction (and at least
 * {@value #DEFAULT_COMPACT_MIN_BYTES} bytes), {@code sync} rewrites it from the current state with
 * {@link AtomicFile#replace} (temporary file, fsync, atomic rename, directory fsync); a crash at any
 * step leaves either the old or the new file, and the temporary file is deleted on the next open.
 * Mutations wait only while the state is serialized in memory, not for the disk.
 *
 * <h2>Thread safety</h2>
 *
 * Thread-safe: every method may be called from any thread. The directory is locked ({@link
 * DirectoryLock}) while the journal is open, so a second instance, in this process or another,
 * fails to open it.
 */
public final class IngestJournal implements Closeable {
  /** The journal file's name in its directory. */
  public static final String FILE = "ingest.journal";
  /** The file is never compacted below this size. */
  public static final long DEFAULT_COMPACT_MIN_BYTES = 4L << 20;

  private static final System.Logger LOG = System.getLogger(IngestJournal.class.getName());
  static final long NANOS_PER_MILLI = 1_000_000L;
  /** Entries per framed record in a compacted file; a path is at most a few KiB, well under the frame limit. */
  private static final int SNAPSHOT_GROUP = 64;

  /**
   * A path's entry: its content, or its own failure. {@code coarse}: the time is known only to the
   * millisecond (recorded by a version that kept milliseconds).
   */
  private record PathEntry(String sha, long size, long mtime, Failure failure, boolean coarse) {
    /** Whether a file seen with this size and time is as recorded. */
    boolean matches(long size, long mtime) {
      return this.size == size
          && (this.mtime == mtime || coarse && Math.floorDiv(mtime, NANOS_PER_MILLI) * NANOS_PER_MILLI == this.mtime);
    }
  }

  /** A content's entry; mutated only under {@link #lock}, through {@link #apply}. */
  private static final class Content {
    ContentState state;
    int bound;
    String extractor = "";
    Failure failure;
    final TreeSet<String> paths = new TreeSet<>();

    ContentInfo info(String sha) {
      return new ContentInfo(sha, state, bound, extractor, failure, new ArrayList<>(paths));
    }
  }

  private final Path dir;
  private final Path file;
  private final DirectoryLock dirLock;
  private final long compactMinBytes;

  /** Guards the maps, the buffer and {@link #appended}. Never held while waiting for {@link #io}. */
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<String, PathEntry> paths = new HashMap<>();
  private final Map<String, Content> contents = new HashMap<>();
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1 << 16);
  /** The entries of the change in progress, framed together when it ends. */
  private final List<JournalRecord> change = new ArrayList<>();
  /** Changes framed into the buffer so far (a sequence number). */
  private long appended;
  private boolean closed;
  private boolean recovered;

  /** Guards the channel and the file; taken before {@link #lock} when both are needed. */
  private final ReentrantLock io = new ReentrantLock();
  private FileChannel channel;
  private long fileBytes;
  private long compactedBytes;
  /** Sequence number of the last record known to be on disk. */
  private volatile long durable;
  /** The write that failed; after it the file no longer matches the state, so nothing more is written. */
  private volatile IOException broken;

  private IngestJournal(Path dir, DirectoryLock dirLock, long compactMinBytes) {
    this.dir = dir;
    this.file = dir.resolve(FILE);
    this.dirLock = dirLock;
    this.compactMinBytes = compactMinBytes;
  }

  /**
   * Opens the journal in {@code dir}, creating both if needed, and replays it.
   *
   * @throws CorruptJournalException if the file is damaged before its end, naming the offset
   * @throws IOException if another journal instance has the directory open, or the file is not a
   *     journal of this version, naming the file
   */
  public static IngestJournal open(Path dir) throws IOException {
    return open(dir, DEFAULT_COMPACT_MIN_BYTES);
  }

  /** {@link #open(Path)} with a lower compaction threshold, for tests that want compactions. */
  static IngestJournal open(Path dir, long compactMinBytes) throws IOException {
    if (compactMinBytes < 1) {
      throw new IllegalArgumentException("compaction threshold " + compactMinBytes + " is not positive");
    }
    dir = dir.toAbsolutePath().normalize();
    DirectoryLock dirLock = DirectoryLock.acquire(dir);
    try {
      int leftovers = AtomicFile.deleteLeftovers(dir);
      if (leftovers > 0) {
        LOG.log(Level.INFO, "ingest journal {0}: deleted {1} temporary file(s) left by an interrupted compaction", dir, leftovers);
      }
      IngestJournal journal = new IngestJournal(dir, dirLock, compactMinBytes);
      Path file = journal.file;
      if (!Files.exists(file)) {
        byte[] header = JournalFile.header();
        AtomicFile.replace(file, channel -> writeFully(channel, header));
      }
      journal.fileBytes = JournalFile.replay(file, journal::apply);
      journal.compactedBytes = journal.fileBytes;
      journal.channel = FileChannel.open(file, StandardOpenOption.WRITE);
      int version = JournalFile.version(file);
      if (version != JournalFile.VERSION) {
        // Rewritten before anything is appended, so that no file mixes versions.
        try {
          journal.compact();
        } catch (IOException | RuntimeException e) {
          journal.channel.close();
          throw e;
        }
        LOG.log(Level.INFO, "ingest journal {0}: rewritten from format version {1} to {2}", file, version, JournalFile.VERSION);
      }
      return journal;
    } catch (IOException | RuntimeException e) {
      dirLock.close();
      throw e;
    }
  }

  /** The directory the journal lives in. */
  public Path directory() {
    return dir;
  }

  // ---- item ids ---------------------------------------------------------------------------------

  /** The id of item {@code ordinal} of content {@code sha}: {@code sha#ordinal}. */
  public static String itemId(String sha, int ordinal) {
    if (ordinal < 0) {
      throw new IllegalArgumentException("item ordinal " + ordinal + " is negative");
    }
    return checkSha(sha) + "#" + ordinal;
  }

  /** The ids {@code sha#0 .. sha#(count-1)}. */
  public static List<String> itemIds(String sha, int count) {
    if (count < 0) {
      throw new IllegalArgumentException("item count " + count + " is negative");
    }
    String s = checkSha(sha);
    List<String> ids = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      ids.add(s + "#" + i);
    }
    return ids;
  }

  /** The content hash of an item id made by {@link #itemId}. */
  public static String contentOf(String itemId) {
    int hash = itemId.indexOf('#');
    if (hash != 64) {
      throw new IllegalArgumentException("item id '" + itemId + "' is not of the form <sha256>#<ordinal>");
    }
    return checkSha(itemId.substring(0, 64));
  }

  // ---- file changes -----------------------------------------------------------------------------

  /**
   * A file's modification time as the journal keeps it: nanoseconds since the epoch (saturated
   * past the year 2262), so that a file written twice within a millisecond is told apart.
   */
  public static long mtime(Instant modified) {
    return FileTime.from(modified).to(TimeUnit.NANOSECONDS);
  }

  /** {@link #mtime(Instant)} of a file time. */
  public static long mtime(FileTime modified) {
    return modified.to(TimeUnit.NANOSECONDS);
  }

  /**
   * What to do about a file seen with this size and modification time ({@link #mtime}): {@link
   * Action#UNCHANGED} when the journal has it with the same size and time (indexed, in progress, or
   * failed: a failed file is retried only when it changes), else {@link Action#HASH}. A time
   * recorded by a version that kept milliseconds matches any time within its millisecond. Changes
   * nothing.
   */
  public Action observe(Path path, long size, long mtime) {
    String key = key(path);
    return read(() -> {
      PathEntry e = paths.get(key);
      return e != null && e.matches(size, mtime) ? Action.UNCHANGED : Action.HASH;
    });
  }

  /**
   * Records that {@code path} has content {@code sha} at this size and time, and decides:
   *
   * <ul>
   *   <li>{@link Action#UNCHANGED}: the path already had this content (its time is updated), or
   *   <li>{@link Action#INGEST}: the content is new, or it had failed and this file changed since
   *       (its size or time differ): it is now pending;
   *   <li>{@link Action#LINKED}: the content is known (another copy, a moved file, a pending
   *       ingest, a failure that this new path does not change); nothing to embed.
   * </ul>
   *
   * The content the path had before, if different, loses this path; it is in {@link
   * Decision#orphaned()} when that leaves an indexed content with no path.
   */
  public Decision hashed(Path path, String sha, long size, long mtime) {
    String key = key(path);
    String s = checkSha(sha);
    return mutate(() -> {
      PathEntry old = paths.get(key);
      Content c = contents.get(s);
      if (old != null && s.equals(old.sha)) {
        boolean changed = !old.matches(size, mtime);
        if (changed) {
          record(new JournalRecord.PathPut(key, s, size, mtime, null));
        }
        if (c.state == ContentState.FAILED && changed) {
          record(new JournalRecord.ContentPut(s, ContentState.PENDING, 0, "", null));
          return Decision.of(Action.INGEST, s);
        }
        return Decision.of(Action.UNCHANGED, s);
      }
      Action action = Action.LINKED;
      if (c == null) {
        record(new JournalRecord.ContentPut(s, ContentState.PENDING, 0, "", null));
        action = Action.INGEST;
      }
      record(new JournalRecord.PathPut(key, s, size, mtime, null));
      return new Decision(action, s, detached(old));
    });
  }

  /**
   * Records that {@code path} itself failed (it could not be read or hashed); it is retried when
   * its size or time change, or on {@link #retry}. Its previous content loses the path.
   */
  public Decision unreadable(Path path, long size, long mtime, String reason, String message) {
    String key = key(path);
    Failure failure = new Failure(reason, message);
    return mutate(() -> {
      PathEntry old = paths.get(key);
      record(new JournalRecord.PathPut(key, null, size, mtime, failure));
      return new Decision(Action.UNCHANGED, null, detached(old));
    });
  }

  /**
   * Records that {@code path} no longer exists. The decision names the content it had ({@code
   * sha}, null if the path was unknown or had failed) and whether that content is now an orphan.
   */
  public Decision removed(Path path) {
    String key = key(path);
    return mutate(() -> {
      PathEntry old = paths.get(key);
      if (old == null) {
        return new Decision(Action.UNCHANGED, null, List.of());
      }
      record(new JournalRecord.PathGone(key));
      return new Decision(Action.UNCHANGED, old.sha, detached(old));
    });
  }

  /**
   * Records that the file at {@code from} is now at {@code to}, unchanged: the journal entry moves,
   * the items stay. {@link Action#HASH} if {@code from} is unknown (treat {@code to} as a new
   * file); else {@link Action#LINKED} (or {@link Action#UNCHANGED} for a path that had failed),
   * with the content {@code to} had before orphaned if that was its last path.
   */
  public Decision moved(Path from, Path to) {
    String fromKey = key(from), toKey = key(to);
    return mutate(() -> {
      PathEntry old = paths.get(fromKey);
      if (old == null) {
        return new Decision(Action.HASH, null, List.of());
      }
      if (fromKey.equals(toKey)) {
        return new Decision(old.sha == null ? Action.UNCHANGED : Action.LINKED, old.sha, List.of());
      }
      PathEntry target = paths.get(toKey);
      record(new JournalRecord.PathGone(fromKey));
      record(new JournalRecord.PathPut(toKey, old.sha, old.size, old.mtime, old.failure, old.coarse));
      List<String> orphaned = target != null && target.sha != null && !target.sha.equals(old.sha) ? detached(target) : List.of();
      return new Decision(old.sha == null ? Action.UNCHANGED : Action.LINKED, old.sha, orphaned);
    });
  }

  /**
   * A user's request to try a failed file again: {@link Action#INGEST} if its content had failed
   * (now pending), {@link Action#HASH} if the file itself had failed (now forgotten, so hash it
   * again), else {@link Action#UNCHANGED}.
   */
  public Decision retry(Path path) {
    String key = key(path);
    return mutate(() -> {
      PathEntry e = paths.get(key);
      if (e == null) {
        return Decision.of(Action.HASH, null);
      }
      if (e.sha == null) {
        record(new JournalRecord.PathGone(key));
        return Decision.of(Action.HASH, null);
      }
      if (contents.get(e.sha).state == ContentState.FAILED) {
        record(new JournalRecord.ContentPut(e.sha, ContentState.PENDING, 0, "", null));
        return Decision.of(Action.INGEST, e.sha);
      }
      return Decision.of(Action.UNCHANGED, e.sha);
    });
  }

  // ---- ingest and delete ------------------------------------------------------------------------

  /**
   * Declares that items of pending content {@code sha} with ordinals below {@code ordinals} may be
   * written to the index. Must be durable ({@link #sync()}) before an index commit that can hold
   * them.
   *
   * @throws IllegalStateException if the content is not pending
   */
  public void reserve(String sha, int ordinals) {
    String s = checkSha(sha);
    if (ordinals < 0) {
      throw new IllegalArgumentException("reserved ordinals " + ordinals + " is negative");
    }
    mutate(() -> {
      Content c = require(s, ContentState.PENDING, "reserve item ordinals for");
      if (ordinals > c.bound) {
        record(new JournalRecord.ContentPut(s, ContentState.PENDING, ordinals, "", null));
      }
      return null;
    });
  }

  /**
   * Records that pending content {@code sha} is indexed: its items {@code sha#0 ..
   * sha#(itemCount-1)} are committed, and any item at a higher ordinal (from an earlier attempt)
   * is deleted in a commit. A content whose paths all went away meanwhile becomes an orphan.
   *
   * @param extractor the extractor's name, kept for the status and for re-ingesting after an
   *     extractor upgrade
   * @throws IllegalStateException if the content is not pending, or {@code itemCount} is over its
   *     reservation
   */
  public void done(String sha, int itemCount, String extractor) {
    String s = checkSha(sha);
    if (itemCount < 0) {
      throw new IllegalArgumentException("item count " + itemCount + " of " + s + " is negative");
    }
    if (extractor == null || extractor.isBlank()) {
      throw new IllegalArgumentException("extractor name '" + extractor + "' of " + s + " is blank");
    }
    mutate(() -> {
      Content c = require(s, ContentState.PENDING, "mark done");
      if (itemCount > c.bound) {
        throw new IllegalStateException("content " + s + " has " + itemCount + " items but only ordinals below " + c.bound
            + " were reserved; call reserve (and sync) before writing items to the index");
      }
      record(new JournalRecord.ContentPut(s, ContentState.DONE, itemCount, extractor, null));
      return null;
    });
  }

  /**
   * Records that pending content {@code sha} failed; the items it wrote must already be deleted in
   * a commit. It is retried when one of its files changes, or on {@link #retry}.
   *
   * @param reason a short token, e.g. an {@code ExtractionException.Reason} in lower case
   * @throws IllegalStateException if the content is not pending
   */
  public void failed(String sha, String reason, String message) {
    String s = checkSha(sha);
    Failure failure = new Failure(reason, message);
    mutate(() -> {
      Content c = require(s, ContentState.PENDING, "mark failed");
      if (c.paths.isEmpty()) {
        record(new JournalRecord.ContentGone(s));
      } else {
        record(new JournalRecord.ContentPut(s, ContentState.FAILED, 0, "", failure));
      }
      return null;
    });
  }

  /**
   * Gives up an ingest that ends without {@link #done} or {@link #failed}: the file changed or
   * vanished under the extractor (its bytes no longer hash to {@code sha}), the recovered work's
   * paths all have other content now, or the user cancelled it. The content becomes {@link
   * ContentState#DELETING}: delete what the attempt wrote, sync, commit, then {@link #purged}
   * (which asks for a new ingest if a path still has the content).
   *
   * @throws IllegalStateException if the content is not pending
   */
  public Work.Delete abandon(String sha) {
    String s = checkSha(sha);
    return mutate(() -> {
      Content c = require(s, ContentState.PENDING, "abandon the ingest of");
      record(new JournalRecord.ContentPut(s, ContentState.DELETING, c.bound, "", null));
      return new Work.Delete(s, c.bound);
    });
  }

  /**
   * Starts deleting an orphan (an indexed content no path has): it becomes {@link
   * ContentState#DELETING} and can no longer be taken back by a path. Empty if {@code sha} is not
   * an orphan (any more). Sync before the index commit that deletes its items.
   */
  public Optional<Work.Delete> retire(String sha) {
    String s = checkSha(sha);
    return mutate(() -> Optional.ofNullable(retireLocked(s)));
  }

  /** {@link #retire}s every orphan, in hash order. */
  public List<Work.Delete> collectOrphans() {
    return mutate(() -> {
      List<String> orphans = new ArrayList<>();
      contents.forEach((sha, c) -> {
        if (c.state == ContentState.DONE && c.paths.isEmpty()) {
          orphans.add(sha);
        }
      });
      Collections.sort(orphans);
      List<Work.Delete> work = new ArrayList<>(orphans.size());
      for (String sha : orphans) {
        work.add(retireLocked(sha));
      }
      return work;
    });
  }

  /**
   * Records that the items of a content being deleted are gone, in a commit. If a path took the
   * content back meanwhile, the content becomes pending and the answer is an {@link
   * Action#INGEST} decision; else it is forgotten and the answer is empty.
   *
   * @throws IllegalStateException if the content is not being deleted
   */
  public Optional<Decision> purged(String sha) {
    String s = checkSha(sha);
    return mutate(() -> {
      Content c = require(s, ContentState.DELETING, "mark purged");
      if (c.paths.isEmpty()) {
        record(new JournalRecord.ContentGone(s));
        return Optional.empty();
      }
      record(new JournalRecord.ContentPut(s, ContentState.PENDING, 0, "", null));
      return Optional.of(Decision.of(Action.INGEST, s));
    });
  }

  /**
   * Starts ingesting an indexed content again, e.g. to complete it with a model installed since it
   * was done: it becomes pending with its bound kept, so that the ingest replaces the old items
   * (it deletes ordinals below {@link Work.Ingest#cleanBound()} in the commit that adds the new
   * ones), and a crash before that commit leaves the old items, complete, for {@link #recover()}
   * to ingest again. Empty, changing nothing, if the content is not {@link ContentState#DONE} or
   * no path has it.
   */
  public Optional<Work.Ingest> reingest(String sha) {
    String s = checkSha(sha);
    return mutate(() -> {
      Content c = contents.get(s);
      if (c == null || c.state != ContentState.DONE || c.paths.isEmpty()) {
        return Optional.empty();
      }
      record(new JournalRecord.ContentPut(s, ContentState.PENDING, c.bound, "", null));
      return Optional.of(new Work.Ingest(s, new ArrayList<>(c.paths), c.bound));
    });
  }

  /**
   * The work a crash interrupted, in hash order; call once, right after {@link #open}, and finish
   * it before starting new ingests of the same contents. A pending content that still has paths is
   * to be {@linkplain Work.Ingest ingested again} (after deleting what the interrupted attempt may
   * have written); one without paths, and one being deleted, is to be {@linkplain Work.Delete
   * deleted}. Orphans are not included: scan first (a moved file takes its content back), then
   * {@link #collectOrphans()}.
   *
   * @throws IllegalStateException on a second call
   */
  public List<Work> recover() {
    return mutate(() -> {
      if (recovered) {
        throw new IllegalStateException("recover() was already called on the journal in " + dir
            + "; it returns the work of the previous run only once");
      }
      recovered = true;
      List<Work> work = new ArrayList<>();
      for (var e : new TreeMap<>(contents).entrySet()) {
        String sha = e.getKey();
        Content c = e.getValue();
        switch (c.state) {
          case PENDING -> {
            if (c.paths.isEmpty()) {
              record(new JournalRecord.ContentPut(sha, ContentState.DELETING, c.bound, "", null));
              work.add(new Work.Delete(sha, c.bound));
            } else {
              work.add(new Work.Ingest(sha, new ArrayList<>(c.paths), c.bound));
            }
          }
          case DELETING -> work.add(new Work.Delete(sha, c.bound));
          case DONE, FAILED -> {}
        }
      }
      return work;
    });
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** What the journal knows of {@code path}. */
  public Optional<PathInfo> path(Path path) {
    String key = key(path);
    return read(() -> Optional.ofNullable(paths.get(key)).map(e -> info(key, e)));
  }

  /** What the journal knows of content {@code sha}. */
  public Optional<ContentInfo> content(String sha) {
    String s = checkSha(sha);
    return read(() -> Optional.ofNullable(contents.get(s)).map(c -> c.info(s)));
  }

  /** Every path the journal knows, sorted; for the reconciliation scan. */
  public List<PathInfo> files() {
    return read(() -> {
      List<PathInfo> all = new ArrayList<>(paths.size());
      paths.forEach((p, e) -> all.add(info(p, e)));
      all.sort((a, b) -> a.path().compareTo(b.path()));
      return all;
    });
  }

  /** Every content the journal knows, sorted by hash. */
  public List<ContentInfo> contents() {
    return read(() -> {
      List<ContentInfo> all = new ArrayList<>(contents.size());
      contents.forEach((sha, c) -> all.add(c.info(sha)));
      all.sort((a, b) -> a.sha().compareTo(b.sha()));
      return all;
    });
  }

  /** The files that failed, themselves or through their content, sorted by path. */
  public List<FileFailure> failures() {
    return read(() -> {
      List<FileFailure> all = new ArrayList<>();
      paths.forEach((p, e) -> {
        Failure f = e.sha == null ? e.failure : contents.get(e.sha).failure;
        if (f != null) {
          all.add(new FileFailure(p, e.sha, f));
        }
      });
      all.sort((a, b) -> a.path().compareTo(b.path()));
      return all;
    });
  }

  /** Counts for the status; a pass over the state, cheap enough to call every second. */
  public JournalStatus status() {
    return read(() -> {
      int pending = 0, done = 0, failed = 0;
      Map<String, Integer> byReason = new TreeMap<>();
      for (PathEntry e : paths.values()) {
        Failure f = e.failure;
        if (e.sha != null) {
          Content c = contents.get(e.sha);
          switch (c.state) {
            case PENDING, DELETING -> pending++;
            case DONE -> done++;
            case FAILED -> f = c.failure;
          }
        }
        if (f != null) {
          failed++;
          byReason.merge(f.reason(), 1, Integer::sum);
        }
      }
      long items = 0;
      int orphans = 0, deleting = 0;
      for (Content c : contents.values()) {
        if (c.state == ContentState.DONE) {
          items += c.bound;
          if (c.paths.isEmpty()) {
            orphans++;
          }
        } else if (c.state == ContentState.DELETING) {
          deleting++;
        }
      }
      return new JournalStatus(paths.size(), pending, done, failed, byReason, items, contents.size(), orphans, deleting);
    });
  }

  // ---- durability -------------------------------------------------------------------------------

  /**
   * Makes every change made before this call durable: writes the buffered records and forces the
   * file once. Concurrent calls share one force. May compact the file (see the class comment).
   *
   * @throws IOException if the write fails; the journal then refuses further changes (reopen it:
   *     the file holds a consistent prefix)
   */
  public void sync() throws IOException {
    long target;
    lock.lock();
    try {
      checkOpen();
      target = appended;
    } finally {
      lock.unlock();
    }
    if (durable >= target) {
      return;
    }
    io.lock();
    try {
      if (durable >= target) {
        return; // another thread's force covered these records
      }
      writeBuffered();
      if (fileBytes > Math.max(compactMinBytes, 2 * compactedBytes)) {
        compactLocked();
      }
    } finally {
      io.unlock();
    }
  }

  /**
   * Rewrites the file from the current state (also done by {@link #sync()} when the file has
   * grown); everything changed before the call is durable when it returns.
   */
  public void compact() throws IOException {
    io.lock();
    try {
      lock.lock();
      try {
        checkOpen();
      } finally {
        lock.unlock();
      }
      compactLocked();
    } finally {
      io.unlock();
    }
  }

  /** The journal file's size in bytes, buffered records excluded. */
  long fileBytes() {
    io.lock();
    try {
      return fileBytes;
    } finally {
      io.unlock();
    }
  }

  /** Syncs, closes the file and unlocks the directory. Idempotent. */
  @Override
  public void close() throws IOException {
    io.lock();
    try {
      lock.lock();
      try {
        if (closed) {
          return;
        }
      } finally {
        lock.unlock();
      }
      try {
        if (broken == null) {
          writeBuffered();
        }
      } finally {
        lock.lock();
        try {
          closed = true;
        } finally {
          lock.unlock();
        }
        try {
          channel.close();
        } finally {
          dirLock.close();
        }
      }
    } finally {
      io.unlock();
    }
  }

  /** Writes the buffered records and forces the file. Holding {@link #io}. */
  private void writeBuffered() throws IOException {
    assert io.isHeldByCurrentThread();
    byte[] bytes;
    long seq;
    lock.lock();
    try {
      bytes = buffer.toByteArray();
      buffer.reset();
      seq = appended;
    } finally {
      lock.unlock();
    }
    try {
      long position = fileBytes;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        position += channel.write(b, position);
      }
      channel.force(false);
      fileBytes = position;
      durable = seq;
    } catch (IOException e) {
      broken = e;
      throw new IOException("could not write the ingest journal " + file + ": " + e.getMessage()
          + "; it accepts no further changes until it is reopened", e);
    }
  }

  /** Replaces the file with the current state. Holding {@link #io}. */
  private void compactLocked() throws IOException {
    assert io.isHeldByCurrentThread();
    if (broken != null) {
      throw new IOException("the ingest journal " + file + " had a failed write and accepts no further changes", broken);
    }
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream(1 << 16);
    long seq;
    lock.lock();
    try {
      snapshot.writeBytes(JournalFile.header());
      // Contents before the paths that name them, as replay requires; framed in groups, since
      // the whole file appears at once.
      List<JournalRecord> group = new ArrayList<>(SNAPSHOT_GROUP);
      for (var e : contents.entrySet()) {
        Content c = e.getValue();
        group.add(new JournalRecord.ContentPut(e.getKey(), c.state, c.bound, c.extractor, c.failure));
        if (group.size() == SNAPSHOT_GROUP) {
          JournalFile.encode(group, snapshot);
          group.clear();
        }
      }
      for (var e : paths.entrySet()) {
        PathEntry p = e.getValue();
        group.add(new JournalRecord.PathPut(e.getKey(), p.sha, p.size, p.mtime, p.failure, p.coarse));
        if (group.size() == SNAPSHOT_GROUP) {
          JournalFile.encode(group, snapshot);
          group.clear();
        }
      }
      if (!group.isEmpty()) {
        JournalFile.encode(group, snapshot);
      }
      // The snapshot holds every record appended so far; later ones stay buffered for the new file.
      buffer.reset();
      seq = appended;
    } finally {
      lock.unlock();
    }
    long before = fileBytes;
    byte[] bytes = snapshot.toByteArray();
    try {
      AtomicFile.replace(file, ch -> writeFully(ch, bytes));
      channel.close();
      channel = FileChannel.open(file, StandardOpenOption.WRITE);
    } catch (IOException e) {
      broken = e;
      throw new IOException("could not compact the ingest journal " + file + ": " + e.getMessage()
          + "; it accepts no further changes until it is reopened", e);
    }
    fileBytes = bytes.length;
    compactedBytes = fileBytes;
    durable = seq;
    LOG.log(Level.DEBUG, "ingest journal {0}: compacted {1} bytes to {2}", file, before, fileBytes);
  }

  private static void writeFully(FileChannel channel, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  // ---- state --------------------------------------------------------------------------------------

  /** Applies one record to the maps; replay and live changes share it. Holding {@link #lock} or opening. */
  private void apply(JournalRecord record) {
    switch (record) {
      case JournalRecord.PathPut p -> {
        if (p.sha() != null && !contents.containsKey(p.sha())) {
          throw new IllegalStateException("path " + p.path() + " names content " + p.sha() + ", which the journal does not have");
        }
        PathEntry old = paths.put(p.path(), new PathEntry(p.sha(), p.size(), p.mtime(), p.failure(), p.coarse()));
        if (old != null && old.sha != null) {
          contents.get(old.sha).paths.remove(p.path());
        }
        if (p.sha() != null) {
          contents.get(p.sha()).paths.add(p.path());
        }
      }
      case JournalRecord.PathGone p -> {
        PathEntry old = paths.remove(p.path());
        if (old == null) {
          throw new IllegalStateException("path " + p.path() + " is removed but was never recorded");
        }
        if (old.sha != null) {
          contents.get(old.sha).paths.remove(p.path());
        }
      }
      case JournalRecord.ContentPut c -> {
        if ((c.state() == ContentState.FAILED) != (c.failure() != null) || c.bound() < 0) {
          throw new IllegalStateException("content " + c.sha() + " in state " + c.state() + " with bound " + c.bound()
              + (c.failure() == null ? " and no failure" : " and a failure"));
        }
        Content content = contents.computeIfAbsent(c.sha(), k -> new Content());
        content.state = c.state();
        content.bound = c.bound();
        content.extractor = c.extractor();
        content.failure = c.failure();
      }
      case JournalRecord.ContentGone c -> {
        Content content = contents.get(c.sha());
        if (content == null || !content.paths.isEmpty()) {
          throw new IllegalStateException("content " + c.sha() + " is forgotten but "
              + (content == null ? "was never recorded" : "paths still have it: " + content.paths));
        }
        contents.remove(c.sha());
      }
    }
  }

  /** Applies {@code record} and adds it to the change in progress. Holding {@link #lock}. */
  private void record(JournalRecord record) {
    assert lock.isHeldByCurrentThread();
    apply(record);
    change.add(record);
  }

  /**
   * After a path left {@code old}'s content: forgets the content if it had failed and has no path
   * left, and returns it as an orphan if it is indexed and has no path left.
   */
  private List<String> detached(PathEntry old) {
    if (old == null || old.sha == null) {
      return List.of();
    }
    Content c = contents.get(old.sha);
    if (c == null || !c.paths.isEmpty()) {
      return List.of();
    }
    return switch (c.state) {
      case DONE -> List.of(old.sha);
      case FAILED -> {
        record(new JournalRecord.ContentGone(old.sha));
        yield List.of();
      }
      case PENDING, DELETING -> List.of(); // an ingest or a purge is in flight; it ends the story
    };
  }

  private Work.Delete retireLocked(String sha) {
    Content c = contents.get(sha);
    if (c == null || c.state != ContentState.DONE || !c.paths.isEmpty()) {
      return null;
    }
    record(new JournalRecord.ContentPut(sha, ContentState.DELETING, c.bound, "", null));
    return new Work.Delete(sha, c.bound);
  }

  private Content require(String sha, ContentState state, String what) {
    Content c = contents.get(sha);
    if (c == null || c.state != state) {
      throw new IllegalStateException("cannot " + what + " content " + sha + ": it is "
          + (c == null ? "unknown to the journal" : c.state) + ", not " + state);
    }
    return c;
  }

  private PathInfo info(String path, PathEntry e) {
    return new PathInfo(path, e.sha, e.size, e.mtime, e.failure);
  }

  private <T> T mutate(Supplier<T> op) {
    lock.lock();
    try {
      checkOpen();
      if (broken != null) {
        throw new IllegalStateException("the ingest journal " + file + " had a failed write (" + broken.getMessage()
            + ") and accepts no further changes; reopen it");
      }
      return op.get();
    } finally {
      // Framed even if the operation failed half-way, so that the file always matches memory.
      if (!change.isEmpty()) {
        JournalFile.encode(change, buffer);
        change.clear();
        appended++;
      }
      lock.unlock();
    }
  }

  private <T> T read(Supplier<T> query) {
    lock.lock();
    try {
      checkOpen();
      return query.get();
    } finally {
      lock.unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the ingest journal " + file + " is closed");
    }
  }

  private static String key(Path path) {
    if (!path.isAbsolute()) {
      throw new IllegalArgumentException("path '" + path + "' is not absolute; the journal keys files by absolute path");
    }
    return path.normalize().toString();
  }

  static String checkSha(String sha) {
    if (sha == null || sha.length() != 64) {
      throw new IllegalArgumentException("content hash '" + sha + "' is not 64 hex digits (a SHA-256)");
    }
    for (int i = 0; i < 64; i++) {
      char c = sha.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
        throw new IllegalArgumentException("content hash '" + sha + "' has a non-hex character at " + i);
      }
    }
    return sha.toLowerCase(Locale.ROOT);
  }
}
