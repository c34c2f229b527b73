package dev.loupe.indexer.isolate;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.VectorSource;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A server's text and visual Lucene indexes whose writers live in another process, started with
 * {@code command} (which runs {@link IndexWriterServer} over its standard input and output at
 * background priority; its standard error goes to this process's). This process searches
 * read-only views of the same directories ({@link LuceneVectorIndex#openReadOnly}), refreshed at
 * each commit, and sends the writes to the writer process.
 *
 * <p>Why: building a new segment's HNSW graph, flushing and merging allocate and keep hundreds of
 * megabytes; in the searching JVM those buffers lengthen every young collection, and every
 * collection pauses the searches. A view of committed segments allocates nothing for indexing.
 *
 * <p>Semantics, as {@link LuceneVectorIndex} with {@code readYourWrites} false: a write is checked
 * here (same messages as the index's own checks), counted at once by {@link VectorIndex#contains}
 * and {@link VectorIndex#size}, and seen by searches and {@link VectorIndex#get} after the next
 * {@link VectorIndex#commit()}, which returns once the writer process has committed and this
 * process's view sees it. Writes not yet committed are kept here; when the writer process dies,
 * the next commit starts a new one and sends them again (a write replaces an item with the same
 * id, and deleting an absent one does nothing, so sending twice is harmless), up to {@value
 * #ATTEMPTS} times in a row. When this process ends without committing, the writer process drops
 * what was not committed, as a crash of an in-process writer would.
 *
 * <p>Thread-safe. Writes are serialized on this object and commits on a lock of their own; no
 * read takes either (a read never waits behind a commit, which waits for a writer process that
 * runs only when the machine has nothing else to do). {@link VectorIndex#size} may be off by the
 * writes of a commit for the moment between the view's refresh and the bookkeeping after it.
 */
public final class RemoteIndexes implements Closeable {
  private static final System.Logger LOG = System.getLogger(RemoteIndexes.class.getName());
  static final int ATTEMPTS = 3;

  private final List<String> command;
  private final LuceneVectorIndex[] views = new LuceneVectorIndex[2];
  private final Facade[] facades = new Facade[2];
  private final AtomicInteger starts = new AtomicInteger();
  private final java.util.concurrent.locks.ReentrantLock commits = new java.util.concurrent.locks.ReentrantLock();
  private Writer writer; // guarded by this
  private long sequence; // guarded by this
  private long ops; // guarded by this: writes so far, numbering them
  private boolean closed; // guarded by this

  private record Writer(Process process, DataOutputStream ops, Map<Long, CompletableFuture<Void>> pending, AtomicBoolean dead,
      AtomicReference<String> failure) {}

  /** A write not yet committed: a put (vector null for keyword-only) or a delete. */
  private record Op(long seq, String id, float[] vector, Metadata metadata, boolean delete) {}

  /** An id's presence after the writes since the last commit, and the last of those writes. */
  private record Written(boolean present, long seq) {}

  /** The writer process died, or reported a failure, before it answered. */
  private static final class Died extends IOException {
    Died(String message) {
      super(message);
    }
  }

  private RemoteIndexes(List<String> command, LuceneVectorIndex text, LuceneVectorIndex visual) {
    this.command = List.copyOf(command);
    views[WriterWire.TEXT] = text;
    views[WriterWire.VISUAL] = visual;
    facades[WriterWire.TEXT] = new Facade(WriterWire.TEXT, text);
    facades[WriterWire.VISUAL] = visual == null ? null : new Facade(WriterWire.VISUAL, visual);
  }

  /**
   * Starts the writer process for read-only views {@code text} and {@code visual} (null when there
   * is no visual index), which this object then owns and closes.
   *
   * @throws ChildProcessor.CannotStart if the process does not start or does not answer its
   *     handshake; the views are not closed then, so the caller can fall back to writing in-process
   */
  public static RemoteIndexes start(List<String> command, LuceneVectorIndex text, LuceneVectorIndex visual) throws IOException {
    Objects.requireNonNull(command, "command");
    if (command.isEmpty()) throw new IllegalArgumentException("the writer's command is empty");
    for (LuceneVectorIndex view : new LuceneVectorIndex[] {text, visual}) {
      if (view != null && !view.readOnly()) {
        throw new IllegalArgumentException(view + " is not a read-only view; its writer would hold the directory's lock");
      }
    }
    RemoteIndexes remote = new RemoteIndexes(command, Objects.requireNonNull(text, "text view"), visual);
    synchronized (remote) {
      remote.writer(); // fails now rather than at the first commit
    }
    return remote;
  }

  /** The text index: writes go to the writer process, reads to the view. */
  public HybridIndex text() {
    return facades[WriterWire.TEXT];
  }

  /** The visual index, or null when there is none. */
  public HybridIndex visual() {
    return facades[WriterWire.VISUAL];
  }

  /** How many writer processes were started so far (for tests and the log). */
  public int starts() {
    return starts.get();
  }

  /** The running writer process's id, if one runs (for tests). */
  public synchronized OptionalLong pid() {
    return writer == null || !writer.process().isAlive() ? OptionalLong.empty() : OptionalLong.of(writer.process().pid());
  }

  // ---- the writer process --------------------------------------------------------------------

  private Writer writer() throws IOException {
    assert Thread.holdsLock(this);
    if (closed) throw new IOException("the indexes are closed");
    if (writer != null && !writer.dead().get() && writer.process().isAlive()) return writer;
    if (writer != null) {
      // Its index write lock must be free before a new writer opens the directories.
      writer.process().destroyForcibly();
      try {
        writer.process().waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for the dead index writer process to exit");
      }
      writer = null;
    }
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    starts.incrementAndGet();
    DataInputStream answers = new DataInputStream(new BufferedInputStream(p.getInputStream()));
    try {
      int magic = answers.readInt(), version = answers.readInt();
      if (magic != WriterWire.MAGIC || version != WriterWire.VERSION) {
        kill(p);
        throw new ChildProcessor.CannotStart("the index writer process " + command + " does not speak this protocol ("
            + Integer.toHexString(magic) + " v" + version + ")", null);
      }
    } catch (IOException e) {
      kill(p); // so that a writer in-process, the caller's fallback, finds the index lock free
      if (e instanceof ChildProcessor.CannotStart) throw e;
      throw new ChildProcessor.CannotStart("the index writer process could not start (" + ChildProcessor.exit(p) + "; its messages are above): "
          + String.join(" ", command), e);
    }
    Writer w = new Writer(p, new DataOutputStream(new BufferedOutputStream(p.getOutputStream(), 1 << 16)), new ConcurrentHashMap<>(),
        new AtomicBoolean(), new AtomicReference<>());
    Thread.ofPlatform().daemon().name("loupe-index-writer-reader-" + p.pid()).start(() -> read(w, answers));
    writer = w;
    int replayed = 0;
    for (Facade f : facades) {
      if (f == null) continue;
      for (Op op : f.log) {
        send(f.index, op);
        replayed++;
      }
    }
    LOG.log(Level.INFO, "index writes go to process " + p.pid() + (replayed > 0 ? " (" + replayed + " uncommitted writes sent again)" : ""));
    return w;
  }

  private void read(Writer w, DataInputStream answers) {
    String end;
    try {
      while (true) {
        byte kind = answers.readByte();
        if (kind == WriterWire.COMMITTED) {
          answers.readByte();
          CompletableFuture<Void> f = w.pending().remove(answers.readLong());
          if (f != null) f.complete(null);
        } else if (kind == WriterWire.FAILED) {
          w.failure().set(Wire.readString(answers));
        } else {
          throw new IOException("corrupt stream: answer kind " + kind);
        }
      }
    } catch (IOException e) {
      end = e instanceof java.io.EOFException ? "it ended" : "its output broke off: " + e.getMessage();
    }
    w.dead().set(true);
    w.process().destroyForcibly();
    String failure = w.failure().get();
    Died died = new Died(failure != null ? failure : "the index writer process " + w.process().pid() + " died (" + ChildProcessor.exit(w.process()) + ", " + end + ")");
    w.pending().values().forEach(f -> f.completeExceptionally(died));
    w.pending().clear();
  }

  /** Sends {@code op} to the running writer; a writer that is gone gets it again at the next commit. */
  private void send(byte index, Op op) {
    assert Thread.holdsLock(this);
    Writer w = writer;
    if (w == null || w.dead().get()) return;
    try {
      if (op.delete()) {
        WriterWire.writeDelete(w.ops(), index, op.id());
      } else {
        WriterWire.writePut(w.ops(), index, op.id(), op.vector(), op.metadata());
      }
    } catch (IOException e) {
      w.dead().set(true); // the reader sees the end too; the next commit starts a new writer
    }
  }

  private synchronized void write(Facade f, String id, float[] vector, Metadata metadata, boolean delete) {
    if (closed) throw new IllegalStateException("the indexes are closed");
    Op op = new Op(++ops, id, vector, metadata, delete);
    f.log.add(op);
    send(f.index, op);
    f.record(id, !delete, op.seq());
  }

  private void commit(Facade f) throws IOException {
    commits.lock();
    try {
      commitLocked(f);
    } finally {
      commits.unlock();
    }
  }

  private void commitLocked(Facade f) throws IOException {
    IOException last = null;
    long covered = 0;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      Writer w;
      synchronized (this) {
        w = writer(); // a new one gets every uncommitted write again
        long seq = ++sequence;
        covered = ops; // this commit makes every write so far durable
        w.pending().put(seq, done);
        if (w.dead().get() && w.pending().remove(seq) != null) {
          last = new Died("the index writer process " + w.process().pid() + " died");
          continue;
        }
        try {
          WriterWire.writeCommit(w.ops(), f.index, seq);
          w.ops().flush();
        } catch (IOException e) {
          // The reader sees the writer's end too and fails what is pending, this commit included.
        }
      }
      try {
        done.get(); // without the write lock: writes may go on meanwhile, reads never wait
        last = null;
        break;
      } catch (ExecutionException e) {
        last = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        LOG.log(Level.WARNING, "ingest: " + last.getMessage() + " while committing the " + WriterWire.name(f.index) + " index (attempt "
            + attempt + " of " + ATTEMPTS + "); its uncommitted writes go to a new writer process");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while the index writer process committed the " + WriterWire.name(f.index) + " index");
      }
    }
    if (last != null) {
      throw new IOException("the " + WriterWire.name(f.index) + " index could not be committed: the index writer process failed "
          + ATTEMPTS + " times in a row (" + last.getMessage() + ")", last);
    }
    f.view.refresh();
    synchronized (this) {
      f.committed(covered);
    }
  }

  private static void kill(Process p) {
    p.destroyForcibly();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Ends the writer process without a last commit (close or commit the indexes first: {@link
   * Facade#close()} commits) and closes the views. Waits for the process to exit, killing it after
   * 30 s.
   */
  @Override
  public void close() throws IOException {
    Writer w;
    synchronized (this) {
      if (closed) return;
      closed = true;
      w = writer;
      writer = null;
    }
    if (w != null) {
      try {
        w.ops().close();
      } catch (IOException e) {
        // already gone
      }
      try {
        if (!w.process().waitFor(30, TimeUnit.SECONDS)) w.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        w.process().destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    IOException failed = null;
    for (LuceneVectorIndex view : views) {
      try {
        if (view != null) view.close();
      } catch (IOException e) {
        if (failed == null) failed = e;
        else failed.addSuppressed(e);
      }
    }
    if (failed != null) throw failed;
  }

  // ---- one index -----------------------------------------------------------------------------

  /** One index: checks and counts writes here, sends them to the writer process, reads from the view. */
  private final class Facade implements HybridIndex, VectorSource {
    final byte index;
    final LuceneVectorIndex view;
    /** Uncommitted writes in order, for a new writer process. Guarded by the enclosing object. */
    final java.util.ArrayDeque<Op> log = new java.util.ArrayDeque<>();
    /** Ids written since the last commit (changed under the enclosing object, read without it). */
    final Map<String, Written> overlay = new ConcurrentHashMap<>();
    /** Items present minus items the view has (changed under the enclosing object). */
    volatile int sizeDelta;
    private volatile boolean closedFacade;

    Facade(byte index, LuceneVectorIndex view) {
      this.index = index;
      this.view = view;
    }

    private boolean present(String id) {
      Written written = overlay.get(id);
      return written != null ? written.present() : view.contains(id);
    }

    void record(String id, boolean nowPresent, long seq) {
      assert Thread.holdsLock(RemoteIndexes.this);
      boolean before = present(id);
      overlay.put(id, new Written(nowPresent, seq));
      if (before != nowPresent) sizeDelta += nowPresent ? 1 : -1;
    }

    /** After a commit of the writes up to {@code covered} and the view's refresh: forgets them, recounts the rest. */
    void committed(long covered) {
      assert Thread.holdsLock(RemoteIndexes.this);
      while (!log.isEmpty() && log.peekFirst().seq() <= covered) log.pollFirst();
      overlay.values().removeIf(w -> w.seq() <= covered);
      int delta = 0;
      for (var e : overlay.entrySet()) {
        boolean inView = view.contains(e.getKey());
        if (e.getValue().present() != inView) delta += inView ? -1 : 1;
      }
      sizeDelta = delta;
    }

    private void put(String id, float[] vector, Metadata metadata, Boolean mustExist) {
      ensureOpen();
      view.checkWrite(id, vector, metadata);
      float[] copy = vector == null ? null : vector.clone();
      synchronized (RemoteIndexes.this) {
        boolean present = present(id);
        if (mustExist != null && mustExist && !present) {
          throw new IllegalArgumentException("id '" + id + "' is not present; use add for a new item");
        }
        if (mustExist != null && !mustExist && present) {
          throw new IllegalArgumentException("id '" + id + "' is already present; use update to replace it");
        }
        write(this, id, copy, metadata, false);
      }
    }

    @Override
    public IndexSpec spec() {
      return view.spec();
    }

    @Override
    public void add(String id, float[] vector, Metadata metadata) {
      if (vector == null) throw new IllegalArgumentException("vector must not be null (use addKeywordOnly for an item without one)");
      put(id, vector, metadata, false);
    }

    @Override
    public void addKeywordOnly(String id, Metadata metadata) {
      put(id, null, metadata, false);
    }

    @Override
    public void update(String id, float[] vector, Metadata metadata) {
      if (vector == null) throw new IllegalArgumentException("vector must not be null");
      put(id, vector, metadata, true);
    }

    @Override
    public boolean delete(String id) {
      VectorIndex.checkId(id);
      ensureOpen();
      synchronized (RemoteIndexes.this) {
        if (!present(id)) return false;
        write(this, id, null, null, true);
        return true;
      }
    }

    @Override
    public Optional<Metadata> get(String id) {
      VectorIndex.checkId(id);
      Written written = overlay.get(id);
      return written != null && !written.present() ? Optional.empty() : view.get(id);
    }

    @Override
    public Optional<float[]> vector(String id) {
      VectorIndex.checkId(id);
      Written written = overlay.get(id);
      return written != null && !written.present() ? Optional.empty() : view.vector(id);
    }

    @Override
    public boolean contains(String id) {
      VectorIndex.checkId(id);
      ensureOpen();
      return present(id);
    }

    @Override
    public int size() {
      ensureOpen();
      return view.size() + sizeDelta;
    }

    @Override
    public List<SearchHit> search(float[] query, int k, Filter filter) {
      return view.search(query, k, filter);
    }

    @Override
    public List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter) {
      return view.searchBatch(queries, k, filter);
    }

    @Override
    public List<SearchHit> keywordSearch(String text, int k, Filter filter) {
      return view.keywordSearch(text, k, filter);
    }

    @Override
    public List<SearchHit> similarTextSearch(String text, int maxTerms, int k, Filter filter) {
      return view.similarTextSearch(text, maxTerms, k, filter);
    }

    @Override
    public List<SearchHit> hybridSearch(String text, float[] vector, int k, Filter filter, Fusion fusion) {
      return view.hybridSearch(text, vector, k, filter, fusion);
    }

    @Override
    public Set<String> fieldNames() {
      return view.fieldNames();
    }

    @Override
    public void forEachVector(Visitor visitor) {
      view.forEachVector(visitor);
    }

    @Override
    public void commit() throws IOException {
      ensureOpen();
      RemoteIndexes.this.commit(this);
    }

    @Override
    public long ramBytesUsed() {
      return view.ramBytesUsed();
    }

    /** Commits what is pending; the view and the writer process end with {@link RemoteIndexes#close()}. */
    @Override
    public void close() throws IOException {
      if (closedFacade) return;
      commit();
      closedFacade = true;
    }

    private void ensureOpen() {
      if (closedFacade) throw new IllegalStateException("the " + WriterWire.name(index) + " index is closed");
    }

    @Override
    public String toString() {
      return "RemoteIndexes.Facade[" + WriterWire.name(index) + ", " + view + "]";
    }
  }
}
