package dev.loupe.indexer;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.indexer.ContentProcessor.Item;
import dev.loupe.indexer.chunk.Chunk;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.Action;
import dev.loupe.indexer.journal.ContentInfo;
import dev.loupe.indexer.journal.ContentState;
import dev.loupe.indexer.journal.Decision;
import dev.loupe.indexer.journal.FileFailure;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.indexer.journal.JournalStatus;
import dev.loupe.indexer.journal.PathInfo;
import dev.loupe.indexer.journal.Work;
import dev.loupe.indexer.watch.FileEvent;
import dev.loupe.indexer.watch.FileState;
import dev.loupe.indexer.watch.FolderWatcher;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.VectorIndex;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The ingest pipeline: turns the files of watched folders (or of a one-shot {@link #ingest}) into
 * index items, exactly once, following the {@link IngestJournal}'s protocol.
 *
 * <h2>Flow</h2>
 *
 * <pre>
 *   watcher / ingest()  --hash, journal--&gt;  [jobs]  --N extraction workers--&gt;  embedders (batched across files)
 *        --&gt;  [writes]  --one writer: reserve, delete, add; sync journal, commit indexes, done/failed/purged
 * </pre>
 *
 * <ul>
 *   <li>Every file seen is {@linkplain IngestJournal#observe observed}; a file the journal does not
 *       know at this size and time is hashed (SHA-256, streamed) on the caller's thread (the
 *       watcher's listener), and the journal decides: unchanged, a new content to ingest, or a
 *       content already known (a copy, a moved or renamed file: only the journal's path list
 *       changes, nothing is embedded).
 *   <li>Extraction workers ({@link IngestConfig#workers()}) read the file with {@link Extractors},
 *       write a thumbnail per visual, chunk the text ({@link TextChunker}) and submit every input
 *       to the embedder of its space; embedders batch the inputs of many files
 *       ({@link IngestConfig#embedBatch()}).
 *   <li>One writer thread writes a file's items all at once (so they land in one commit), together
 *       with the deletion of the content the file had before (a modified file is replaced
 *       atomically), and commits when its queue runs empty or after {@link
 *       IngestConfig#commitItems()} writes: {@code journal.sync()}, the text index's commit, the
 *       visual index's commit, then {@code done} / {@code failed} / {@code purged} in the journal.
 *   <li>The queues are bounded ({@link IngestConfig#queueCapacity()}): a slow embedder blocks the
 *       workers, full workers block the watcher's listener, and the watcher then stops scanning, so
 *       memory stays flat however large the folder.
 * </ul>
 *
 * <h2>Items</h2>
 *
 * Item {@code i} of content {@code sha} has the id {@code sha#i} ({@link IngestJournal#itemId}):
 * visuals first, in the order the extractor found them, then text chunks. Text chunks go to the
 * text index ({@code type} {@code chunk}, BM25 over the chunk text, fields {@code sha},
 * {@code start}, {@code end}, {@code tokens}, {@code mime}, {@code extractor}); images, page
 * renders, embedded images and video frames go to the visual index ({@code type} {@code image},
 * {@code page}, {@code embedded-image}, {@code frame}; {@code timestamp} the frame's position in
 * ms or the EXIF date in epoch ms; the file name as text; fields {@code sha}, {@code mime},
 * {@code extractor}, {@code thumbnail} (relative to the data directory), {@code width},
 * {@code height} and the extractor's own fields). The {@code path} stored is the file the
 * content was ingested from; the files that have the content now are the journal's ({@link
 * #paths(String)}): a move changes the journal only, never the index.
 *
 * <h2>A missing model</h2>
 *
 * Either embedder may be absent (null). Without the text embedder, chunks are still indexed, for
 * keyword search alone ({@link HybridIndex#addKeywordOnly}: BM25 finds them, vector search never
 * returns them), so document search works without any model. Without the visual embedder (and
 * index), visuals are skipped: no item, no thumbnail. Either way the content is recorded done with
 * the extractor name suffixed {@code +notext} or {@code +novisual}, so the contents to complete
 * when the model arrives can be found in the journal ({@link ContentInfo#extractor()}).
 *
 * <p>When the model arrives, {@link #start()} finds them and ingests them again, in the
 * background, from a file that still has them ({@link IngestJournal#reingest}): the new items,
 * with vectors and visuals, replace the old ones in one commit, so a crash leaves either the old
 * items or the new, and the next start finishes the work. Contents waiting for this count as
 * pending in the {@link #status()}. A model removed later changes nothing: the items keep their
 * vectors.
 *
 * <h2>Failures</h2>
 *
 * A file that cannot be extracted (corrupt, encrypted, unsupported, over a limit, unreadable, or a
 * parser that throws) becomes a failed journal entry with its reason and message, is retried only
 * when it changes or on {@link #retry}, and never stops the pipeline. Pieces an extractor sent
 * before it failed are discarded. A failing journal sync or index commit is fatal: the writer
 * stops, {@link #status()} says {@link IngestStatus.State#STOPPED}, and the journal, which was
 * never told more than the index holds, recovers everything at the next start.
 *
 * <h2>Threads and ownership</h2>
 *
 * The ingester owns its threads and nothing else: the journal, the indexes and the embedders are
 * the caller's, opened before and closed after it. All public methods are thread-safe.
 */
public final class Ingester implements AutoCloseable {
  /** Seconds over which {@link IngestStatus#filesPerSecond()} is measured. */
  public static final int RATE_WINDOW_SECONDS = 30;

  private static final System.Logger LOG = System.getLogger(Ingester.class.getName());
  private static final Pattern FIELD_KEY = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
  /** Suffixes of a journal's extractor label: the content was indexed without the text, or the visual, embedder. */
  static final String NO_TEXT = "+notext", NO_VISUAL = "+novisual";

  /** One content to extract from one file. */
  record Job(String sha, Path path, int cleanBound, List<Work.Delete> deletes) {}

  /** What the writer does. */
  sealed interface Write {}

  record Items(Job job, String extractor, List<Item> items) implements Write {}

  record Failed(Job job, String reason, String message) implements Write {}

  record Deletes(List<Work.Delete> deletes) implements Write {}

  /** The job's file vanished before it was read: give the ingest up, and take it up again from another file if one has the content. */
  record Abandoned(Job job) implements Write {}

  record CollectOrphans() implements Write {}

  private final IngestConfig config;
  private final IngestJournal journal;
  private final Extractors extractors;
  private final TextChunker chunker;
  private final HybridIndex textIndex;
  private final VectorIndex visualIndex;
  private final BatchEmbedder text;
  private final BatchEmbedder visual;
  private final Thumbnails thumbnails;
  /** The dimensions the embedders make (0 without one), which every vector is checked against. */
  private final int textDimension, visualDimension;
  /** Where contents are processed when not in this process; null to process them here. */
  private final ContentProcessor remote;
  /** Set when {@link #remote} cannot start: contents are then processed here, as without it. */
  private volatile boolean remoteUnavailable;

  private final LinkedBlockingQueue<Job> jobs;
  /** Jobs the writer starts (a purged content taken back by a path); never blocks the writer. */
  private final ConcurrentLinkedQueue<Job> urgent = new ConcurrentLinkedQueue<>();
  /** Extracted files whose vectors are on their way, in order. */
  private final LinkedBlockingQueue<FileWork> assembling;
  private final LinkedBlockingQueue<Write> writes;
  private final List<Thread> workers = new ArrayList<>();
  private Thread assembler;
  private Thread writer;
  private Thread catchUp;
  /** Files of contents the catch-up has not queued yet (the journal counts them once queued). */
  private final AtomicInteger catchUpFiles = new AtomicInteger();

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Jobs and write tasks created and not yet finished (after their commit). Guarded by lock. */
  private int inFlight;
  private boolean started;
  private volatile boolean paused;
  private volatile boolean closed;
  private volatile Throwable fatal;
  private final AtomicInteger hashing = new AtomicInteger();
  private final AtomicInteger extracting = new AtomicInteger();
  private final AtomicInteger embedding = new AtomicInteger();
  private final AtomicLong filesFinished = new AtomicLong();
  private final AtomicLong itemsWritten = new AtomicLong();
  /** (nanoTime, filesFinished, itemsWritten) at each commit of the last window. Guarded by lock. */
  private final ArrayDeque<long[]> samples = new ArrayDeque<>();
  private volatile FolderWatcher watcher;
  /** When orphans left by deleted files are collected, if the watcher has caught up; 0 for never. */
  private volatile long collectDue;
  private volatile Runnable afterCommit = () -> {};

  /**
   * An ingester over these parts; {@link #start()} it before use.
   *
   * @param config how it runs
   * @param journal the open journal, not yet {@linkplain IngestJournal#recover() recovered}
   * @param extractors the extractors to use, e.g. {@link Extractors#standard()}
   * @param chunker cuts extracted text into passages, best with the text embedder's tokenizer
   * @param textEmbedder embeds passages; null when no text model is installed (chunks are then
   *     indexed for keyword search alone)
   * @param textIndex where passages go, with BM25 over their text; its dimension is the text
   *     embedder's
   * @param visualEmbedder embeds images (CLIP); null when no image model is installed
   * @param visualIndex where visuals go; null exactly when {@code visualEmbedder} is null
   * @throws IllegalArgumentException when an embedder does not take its modality or its dimension
   *     differs from its index's, naming both
   */
  public Ingester(IngestConfig config, IngestJournal journal, Extractors extractors, TextChunker chunker,
      Embedder textEmbedder, HybridIndex textIndex, Embedder visualEmbedder, VectorIndex visualIndex) {
    this(config, journal, extractors, chunker, textEmbedder, textIndex, visualEmbedder, visualIndex, null);
  }

  /**
   * As {@link #Ingester(IngestConfig, IngestJournal, Extractors, TextChunker, Embedder, HybridIndex,
   * Embedder, VectorIndex)}, but the workers hand each content to {@code remote} (which must use
   * the same models, extractors and chunking; the embedders here then only decide what a content
   * lacks, and are checked against the indexes) and write what it returns. The caller closes
   * {@code remote} after this ingester.
   */
  public Ingester(IngestConfig config, IngestJournal journal, Extractors extractors, TextChunker chunker,
      Embedder textEmbedder, HybridIndex textIndex, Embedder visualEmbedder, VectorIndex visualIndex, ContentProcessor remote) {
    this.remote = remote;
    this.config = Objects.requireNonNull(config, "config");
    this.journal = Objects.requireNonNull(journal, "journal");
    this.extractors = Objects.requireNonNull(extractors, "extractors");
    this.chunker = Objects.requireNonNull(chunker, "chunker");
    this.textIndex = Objects.requireNonNull(textIndex, "textIndex");
    if ((visualEmbedder == null) != (visualIndex == null)) {
      throw new IllegalArgumentException("the visual embedder and the visual index go together: got "
          + (visualEmbedder == null ? "an index without an embedder" : "an embedder without an index"));
    }
    if (visualIndex == textIndex) {
      throw new IllegalArgumentException("text and visual items are of two embedding spaces and need two indexes");
    }
    check(textEmbedder, Modality.TEXT, textIndex, "text");
    check(visualEmbedder, Modality.IMAGE, visualIndex, "visual");
    this.visualIndex = visualIndex;
    this.jobs = new LinkedBlockingQueue<>(config.queueCapacity());
    this.assembling = new LinkedBlockingQueue<>(config.queueCapacity());
    this.writes = new LinkedBlockingQueue<>(config.queueCapacity());
    this.text = textEmbedder == null ? null : new BatchEmbedder(textEmbedder, config.embedBatch(), "text");
    this.visual = visualEmbedder == null ? null : new BatchEmbedder(visualEmbedder, config.embedBatch(), "visual");
    this.thumbnails = new Thumbnails(config.thumbnailDir(), config.thumbnailSize());
    this.textDimension = textEmbedder == null ? 0 : textEmbedder.info().dimension();
    this.visualDimension = visualEmbedder == null ? 0 : visualEmbedder.info().dimension();
  }

  /** A processing-only ingester: no journal, indexes or threads but the embedders'; see {@link #processor}. */
  private Ingester(IngestConfig config, Extractors extractors, TextChunker chunker, Embedder textEmbedder, Embedder visualEmbedder) {
    this.config = Objects.requireNonNull(config, "config");
    this.journal = null;
    this.extractors = Objects.requireNonNull(extractors, "extractors");
    this.chunker = Objects.requireNonNull(chunker, "chunker");
    this.textIndex = null;
    this.visualIndex = null;
    this.remote = null;
    this.jobs = new LinkedBlockingQueue<>(1);
    this.assembling = new LinkedBlockingQueue<>(1);
    this.writes = new LinkedBlockingQueue<>(1);
    this.text = textEmbedder == null ? null : new BatchEmbedder(textEmbedder, config.embedBatch(), "text");
    this.visual = visualEmbedder == null ? null : new BatchEmbedder(visualEmbedder, config.embedBatch(), "visual");
    this.thumbnails = new Thumbnails(config.thumbnailDir(), config.thumbnailSize());
    this.textDimension = textEmbedder == null ? 0 : textEmbedder.info().dimension();
    this.visualDimension = visualEmbedder == null ? 0 : visualEmbedder.info().dimension();
  }

  /**
   * Processes contents in this process the way an ingester's workers do (extraction, chunking,
   * thumbnails under {@code config}'s folder, embedding in batches shared by concurrent callers),
   * returning their items instead of writing them: what an ingestion child process runs. Closing
   * it stops the embedders' threads, not the embedders.
   */
  public static ContentProcessor processor(IngestConfig config, Extractors extractors, TextChunker chunker,
      Embedder textEmbedder, Embedder visualEmbedder) {
    Ingester in = new Ingester(config, extractors, chunker, textEmbedder, visualEmbedder);
    return in.new LocalProcessor();
  }

  private final class LocalProcessor implements ContentProcessor {
    @Override
    public Processed process(String sha, Path path) throws IOException, InterruptedException {
      Object r = extract(new Job(sha, path, 0, List.of()));
      if (r == null) throw new InterruptedException("the processor is closing");
      if (r instanceof FileWork w) {
        embedding.incrementAndGet();
        try {
          return new ContentProcessor.Items(w.extractorLabel(), w.items());
        } catch (ExecutionException | IllegalArgumentException e) {
          Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
          Ingester.Failed f = (Ingester.Failed) failed(w, "embedding", path + ": embedding failed: " + cause);
          return new ContentProcessor.Failed(f.reason(), f.message());
        } catch (CancellationException e) {
          throw new InterruptedException("the embedders were closed");
        } finally {
          embedding.decrementAndGet();
        }
      }
      return switch ((Write) r) {
        case Ingester.Failed f -> new ContentProcessor.Failed(f.reason(), f.message());
        case Ingester.Abandoned a -> new ContentProcessor.Gone();
        default -> throw new IllegalStateException("unexpected " + r);
      };
    }

    @Override
    public void close() {
      Ingester.this.close();
    }
  }

  /**
   * One content through {@link #remote}: its items (their vectors checked here, as local ones
   * are), a failure, or null when closing. A processor that keeps failing (its process dying on
   * this file) fails the file, not the ingester.
   */
  private Object processRemotely(Job job) throws IOException {
    extracting.incrementAndGet();
    try {
      return switch (remote.process(job.sha(), job.path())) {
        case ContentProcessor.Items i -> {
          try {
            for (Item item : i.items()) {
              if (item.visual() || text != null) checkedVector(item.vector(), item.visual() ? visualDimension : textDimension);
            }
            yield new Items(job, i.extractor(), i.items());
          } catch (IllegalArgumentException e) {
            thumbnails.delete(job.sha());
            yield new Failed(job, "embedding", job.path() + ": embedding failed: " + e.getMessage());
          }
        }
        case ContentProcessor.Failed f -> {
          thumbnails.delete(job.sha());
          yield new Failed(job, f.reason(), f.message());
        }
        case ContentProcessor.Gone g -> {
          thumbnails.delete(job.sha());
          yield new Abandoned(job);
        }
      };
    } catch (InterruptedException e) {
      return null; // only close() interrupts a worker
    } catch (dev.loupe.indexer.isolate.ChildProcessor.CannotStart e) {
      if (closed) return null;
      if (!remoteUnavailable) {
        remoteUnavailable = true;
        LOG.log(Level.WARNING, "ingest: extraction goes on in this process, because " + e.getMessage());
      }
      extracting.decrementAndGet();
      try {
        return extract(job); // not the file's fault: it is processed here instead
      } finally {
        extracting.incrementAndGet();
      }
    } catch (IOException e) {
      if (closed) return null;
      thumbnails.delete(job.sha());
      return new Failed(job, "crash", job.path() + " could not be processed: " + e.getMessage());
    } finally {
      extracting.decrementAndGet();
    }
  }

  private static void check(Embedder embedder, Modality modality, VectorIndex index, String space) {
    if (embedder == null) {
      return;
    }
    Embedder.Info info = embedder.info();
    if (!info.accepts(modality)) {
      throw new IllegalArgumentException("the " + space + " embedder " + info.modelId() + " does not embed " + modality.label());
    }
    if (info.dimension() != index.spec().dimension()) {
      throw new IllegalArgumentException("the " + space + " embedder " + info.modelId() + " makes " + info.dimension()
          + "-d vectors but the " + space + " index holds " + index.spec().dimension() + "-d ones");
    }
  }

  /** Whether contents are processed in another process now: there is one, and it could be started. */
  public boolean processesElsewhere() {
    return remote != null && !remoteUnavailable;
  }

  /** Calls {@code hook} on the writer thread after each index commit, before the journal hears of it; for tests. */
  void afterCommit(Runnable hook) {
    this.afterCommit = Objects.requireNonNull(hook, "hook");
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /**
   * Starts the threads and recovers what a crash interrupted: contents being ingested are
   * ingested again (their possibly written items deleted first), contents being deleted are
   * deleted, and thumbnail folders of contents the journal does not hold are swept.
   *
   * @throws IllegalStateException when already started or closed
   * @throws IOException when the thumbnail folder cannot be read
   */
  public void start() throws IOException, InterruptedException {
    lock.lock();
    try {
      if (closed) throw new IllegalStateException("the ingester is closed");
      if (started) throw new IllegalStateException("the ingester is already started");
      started = true;
    } finally {
      lock.unlock();
    }
    writer = Thread.ofPlatform().daemon().name("loupe-ingest-writer").start(background(this::writeLoop));
    assembler = Thread.ofPlatform().daemon().name("loupe-ingest-assembler").start(background(this::assembleLoop));
    for (int i = 0; i < config.workers(); i++) {
      workers.add(Thread.ofPlatform().daemon().name("loupe-ingest-worker-" + i).start(background(this::workLoop)));
    }
    List<Work> work = journal.recover();
    if (!work.isEmpty()) {
      LOG.log(Level.INFO, "ingest: recovering " + work.size() + " content(s) a previous run left unfinished");
    }
    for (Work w : work) {
      switch (w) {
        case Work.Delete d -> send(new Deletes(List.of(d)));
        case Work.Ingest i -> resume(i);
      }
    }
    for (String sha : thumbnails.contents()) {
      Optional<ContentInfo> c = journal.content(sha);
      if (c.isEmpty() || c.get().state() == ContentState.FAILED) {
        thumbnails.delete(sha);
      }
    }
    List<ContentInfo> incomplete = journal.contents().stream()
        .filter(c -> c.state() == ContentState.DONE && !c.paths().isEmpty() && incomplete(c.extractor())).toList();
    if (!incomplete.isEmpty()) {
      LOG.log(Level.INFO, "ingest: " + incomplete.size() + " content(s) were indexed without a model installed now;"
          + " ingesting them again in the background");
      catchUpFiles.set(incomplete.stream().mapToInt(c -> c.paths().size()).sum());
      begin(); // the catch-up itself is in flight until it has queued its last job
      catchUp = Thread.ofPlatform().daemon().name("loupe-ingest-catch-up").start(background(() -> catchUp(incomplete)));
    }
  }

  /** Whether a content done with this extractor label lacks what one of this ingester's embedders adds. */
  private boolean incomplete(String extractor) {
    return text != null && extractor.contains(NO_TEXT) || visual != null && extractor.contains(NO_VISUAL);
  }

  /**
   * Queues the contents to complete, one at a time (the job queue is bounded), each from a file
   * that still has its bytes; a content none of whose files has it any more is left to the watcher
   * or the next ingest, which see the change.
   */
  private void catchUp(List<ContentInfo> contents) {
    try {
      for (ContentInfo c : contents) {
        if (closed) return;
        Optional<Path> from = Optional.empty();
        for (String p : c.paths()) {
          Path path = Path.of(p);
          try {
            if (Files.isRegularFile(path) && sha256(path).equals(c.sha())) {
              from = Optional.of(path);
              break;
            }
          } catch (IOException e) {
            LOG.log(Level.DEBUG, "ingest: " + path + " cannot be read to complete it: " + e);
          }
        }
        Optional<Work.Ingest> work = from.isEmpty() ? Optional.empty() : journal.reingest(c.sha());
        catchUpFiles.addAndGet(-c.paths().size());
        if (work.isPresent()) {
          submit(new Job(c.sha(), from.get(), work.get().cleanBound(), List.of()));
        }
      }
    } catch (InterruptedException e) {
      // closing: what is marked pending is recovered at the next start, the rest found again
    } catch (RuntimeException e) {
      if (!closed) LOG.log(Level.WARNING, "ingest: completing the contents indexed without a model stopped: " + e);
    } finally {
      catchUpFiles.set(0);
      finish(1, 0);
    }
  }

  /** Ingests a recovered content from a file that still has it, or abandons it. */
  private void resume(Work.Ingest work) throws InterruptedException {
    for (String p : work.paths()) {
      Path path = Path.of(p);
      try {
        if (Files.isRegularFile(path) && sha256(path).equals(work.sha())) {
          submit(new Job(work.sha(), path, work.cleanBound(), List.of()));
          return;
        }
      } catch (IOException e) {
        LOG.log(Level.DEBUG, "ingest: " + path + " cannot be read to resume it: " + e);
      }
    }
    send(new Deletes(List.of(journal.abandon(work.sha()))));
  }

  /**
   * Watches folders (the watch service plus periodic full scans) and ingests what they hold and
   * every change until {@link #close()}. Files the journal knows are compared with it at start, so
   * changes made while Loupe was not running are found.
   *
   * @throws IllegalStateException when not started, or already watching
   * @throws IllegalArgumentException naming a root that is missing or not a folder
   */
  public void watch(List<Path> roots) throws IOException {
    requireStarted();
    FolderWatcher w = new FolderWatcher(config.watchOptions(roots, true), known(roots), this::onEvent);
    lock.lock();
    try {
      if (watcher != null) throw new IllegalStateException("the ingester already watches " + watcher.roots());
      watcher = w;
    } finally {
      lock.unlock();
    }
    w.start();
  }

  /**
   * Asks for a full reconciliation scan of the watched folders now; returns its number.
   *
   * @throws IllegalStateException when not watching
   */
  public long rescan() {
    FolderWatcher w = watcher;
    if (w == null) throw new IllegalStateException("the ingester watches no folder");
    return w.rescanNow();
  }

  /**
   * Waits until full scan {@code scan} of the watched folders was handled (its changes are in the
   * pipeline) and then until the pipeline is idle.
   */
  public boolean awaitScan(long scan, Duration timeout) throws InterruptedException {
    FolderWatcher w = watcher;
    if (w == null) throw new IllegalStateException("the ingester watches no folder");
    long deadline = System.nanoTime() + timeout.toNanos();
    return w.awaitScan(scan, timeout) && awaitIdle(Duration.ofNanos(deadline - System.nanoTime()));
  }

  /**
   * Ingests files and folders once: every file in them (skip rules applied to folders' contents;
   * a file named explicitly is ingested whatever its name), files the journal knew under them and
   * that are gone are removed, and the call returns when everything is done or failed and
   * committed. Folders are scanned, not watched; a file is taken once it stayed unchanged for the
   * settle time.
   *
   * @throws IllegalArgumentException naming a path that does not exist
   * @throws IllegalStateException when not started, or when the pipeline stopped on a fatal error
   */
  public IngestSummary ingest(List<Path> paths) throws IOException, InterruptedException {
    requireStarted();
    List<Path> dirs = new ArrayList<>(), files = new ArrayList<>();
    for (Path p : paths) {
      Path abs = p.toAbsolutePath().normalize();
      if (Files.isDirectory(abs)) {
        dirs.add(abs.toRealPath()); // as the watcher reports its files
      } else if (Files.isRegularFile(abs)) {
        files.add(abs.getParent().toRealPath().resolve(abs.getFileName()));
      } else if (journal.path(abs).isPresent()) {
        journal.removed(abs); // a file given by name that is gone: its orphan is collected below
      } else {
        throw new IllegalArgumentException("cannot ingest " + abs + ": no such file or folder");
      }
    }
    for (Path f : files) {
      BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
      onFile(f, a.size(), IngestJournal.mtime(a.lastModifiedTime()));
    }
    if (!dirs.isEmpty()) {
      FolderWatcher scanner = new FolderWatcher(config.watchOptions(dirs, false).withRescanInterval(Duration.ofDays(365)),
          known(dirs), this::onEvent);
      try {
        scanner.start();
        while (!scanner.awaitScan(1, Duration.ofSeconds(1))) {
          checkRunning();
        }
      } finally {
        scanner.close();
      }
    }
    collectOrphans();
    while (!awaitIdle(Duration.ofSeconds(1))) {
      checkRunning();
    }
    List<Path> roots = new ArrayList<>(dirs);
    roots.addAll(files);
    return summary(roots);
  }

  /**
   * The journal's counts for the files under {@code paths}, taken as {@link #ingest} takes them
   * (paths that do not exist are left out): for the progress of a one-shot ingest while it runs.
   * Reads the whole journal; call it about once a second, not in a loop.
   */
  public IngestSummary progressOf(List<Path> paths) {
    List<Path> roots = new ArrayList<>();
    for (Path p : paths) {
      Path abs = p.toAbsolutePath().normalize();
      try {
        if (Files.isDirectory(abs)) {
          roots.add(abs.toRealPath());
        } else if (Files.isRegularFile(abs)) {
          roots.add(abs.getParent().toRealPath().resolve(abs.getFileName()));
        }
      } catch (IOException e) {
        // gone since: nothing of it to count
      }
    }
    return summary(roots);
  }

  /** Queues a collection of the orphans (contents no file has any more): their items are deleted. */
  public void collectOrphans() {
    requireStarted();
    send(new CollectOrphans());
  }

  /**
   * Waits until nothing is in flight: every job and deletion created so far committed.
   *
   * @return false when the time ran out first
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (inFlight > 0) {
        if (left <= 0 || fatal != null) return false;
        left = changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Stops taking new files: files being extracted finish, queued ones wait. */
  public void pause() {
    lock.lock();
    try {
      paused = true;
    } finally {
      lock.unlock();
    }
  }

  /** Takes files again after {@link #pause()}. */
  public void resume() {
    lock.lock();
    try {
      paused = false;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tries a failed file again (a user's request): its content is ingested again, or the file
   * hashed again when it had failed itself.
   *
   * @return what was done: {@link Action#INGEST} (queued again), {@link Action#HASH} (hashed again,
   *     and queued if its content is new), or {@link Action#UNCHANGED} when the file had not failed
   */
  public Action retry(Path path) throws IOException, InterruptedException {
    requireStarted();
    Path abs = path.toAbsolutePath().normalize();
    Decision d = journal.retry(abs);
    switch (d.action()) {
      case INGEST -> submit(new Job(d.sha(), abs, 0, List.of()));
      case HASH -> {
        BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class);
        onFile(abs, a.size(), IngestJournal.mtime(a.lastModifiedTime()));
      }
      default -> {}
    }
    return d.action();
  }

  /**
   * Stops: the watcher, the workers (a file being extracted stays pending in the journal and is
   * ingested at the next start), the embedders' threads, and the writer after it has committed
   * what was already embedded. Does not close the journal, indexes or embedders. Idempotent.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) return;
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    FolderWatcher w = watcher;
    if (w != null) w.close();
    if (catchUp != null) {
      catchUp.interrupt();
      join(catchUp);
    }
    workers.forEach(Thread::interrupt);
    for (Thread t : workers) {
      join(t);
    }
    if (assembler != null) {
      assembler.interrupt();
      join(assembler);
    }
    if (text != null) text.close();
    if (visual != null) visual.close();
    if (writer != null) {
      join(writer);
    }
  }

  private static void join(Thread t) {
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- status -----------------------------------------------------------------------------------

  /** The pipeline now; a pass over the journal's state, cheap enough to call every second. */
  public IngestStatus status() {
    JournalStatus js = journal.status();
    long now = System.nanoTime();
    long files = filesFinished.get(), items = itemsWritten.get();
    double fps = 0, ips = 0;
    lock.lock();
    try {
      trimSamples(now);
      long[] first = samples.peekFirst();
      if (first != null && now - first[0] > TimeUnit.MILLISECONDS.toNanos(500)) {
        double seconds = (now - first[0]) / 1e9;
        fps = (files - first[1]) / seconds;
        ips = (items - first[2]) / seconds;
      }
    } finally {
      lock.unlock();
    }
    IngestStatus.State state = closed || fatal != null ? IngestStatus.State.STOPPED
        : paused ? IngestStatus.State.PAUSED : IngestStatus.State.RUNNING;
    int queued = jobs.size() + urgent.size();
    int pending = js.pending() + catchUpFiles.get();
    Duration eta = pending == 0 || fps <= 0 ? null : Duration.ofMillis((long) Math.ceil(pending / fps * 1000));
    // Files only: the writer's queue also carries bookkeeping (deletions, orphan collection).
    int writing = (int) writes.stream().filter(w -> !(w instanceof Deletes) && !(w instanceof CollectOrphans)).count();
    return new IngestStatus(state, js.files(), hashing.get(), queued, extracting.get(), embedding.get(), writing, pending,
        js.done(), js.failed(), js.failedByReason(), js.items(), fps, ips, eta);
  }

  /** The files that failed, with their reasons, sorted by path. */
  public List<FileFailure> failures() {
    return journal.failures();
  }

  /** The files that have the content of item {@code itemId} now (a search hit's current locations). */
  public List<String> paths(String itemId) {
    return journal.content(IngestJournal.contentOf(itemId)).map(ContentInfo::paths).orElse(List.of());
  }

  private void trimSamples(long now) {
    long window = TimeUnit.SECONDS.toNanos(RATE_WINDOW_SECONDS);
    while (samples.size() > 1 && now - samples.peekFirst()[0] > window) {
      samples.pollFirst();
    }
  }

  private IngestSummary summary(List<Path> roots) {
    int files = 0, done = 0, failed = 0;
    long items = 0;
    Set<String> counted = new HashSet<>();
    List<FileFailure> failures = new ArrayList<>();
    for (FileFailure f : journal.failures()) {
      if (under(Path.of(f.path()), roots)) failures.add(f);
    }
    for (PathInfo p : journal.files()) {
      if (!under(Path.of(p.path()), roots)) continue;
      files++;
      if (p.sha() == null) {
        failed++;
        continue;
      }
      ContentInfo c = journal.content(p.sha()).orElseThrow();
      switch (c.state()) {
        case DONE -> {
          done++;
          if (counted.add(c.sha())) items += c.bound();
        }
        case FAILED -> failed++;
        default -> {}
      }
    }
    return new IngestSummary(files, done, failed, items, failures);
  }

  private static boolean under(Path p, List<Path> roots) {
    for (Path r : roots) {
      if (p.startsWith(r)) return true;
    }
    return false;
  }

  // ---- the watcher's side -----------------------------------------------------------------------

  /** The journal's files under {@code roots}, as the watcher's starting point. */
  private Map<Path, FileState> known(List<Path> roots) {
    List<Path> abs = roots.stream().map(r -> r.toAbsolutePath().normalize()).toList();
    Map<Path, FileState> known = new HashMap<>();
    for (PathInfo p : journal.files()) {
      Path path = Path.of(p.path());
      if (under(path, abs)) {
        // A time an older journal kept in milliseconds is reported once more at start if the file's
        // has finer digits, and the journal then finds it unchanged without hashing it.
        known.put(path, new FileState(p.size(), Instant.EPOCH.plusNanos(p.mtime())));
      }
    }
    return known;
  }

  private void onEvent(FileEvent event) throws IOException, InterruptedException {
    switch (event) {
      case FileEvent.Changed c -> onFile(c.path(), c.size(), IngestJournal.mtime(c.modified()));
      case FileEvent.Deleted d -> {
        journal.removed(d.path()); // the orphan waits: a move shows up as a deletion plus a creation
        orphansLater();
      }
      case FileEvent.DirectoryDeleted d -> {
        for (PathInfo p : journal.files()) {
          Path path = Path.of(p.path());
          if (d.covers(path)) journal.removed(path);
        }
        orphansLater();
      }
      case FileEvent.Unreadable u -> LOG.log(Level.WARNING, "ingest: " + u.path() + ": " + u.reason());
      case FileEvent.ScanFinished s -> {
        collectDue = 0;
        send(new CollectOrphans());
      }
    }
  }

  private void orphansLater() {
    collectDue = System.nanoTime() + 2 * config.settleTime().toNanos() + TimeUnit.SECONDS.toNanos(1);
  }

  /** A file seen with this size and time: hash it if the journal does not know it so, and act on the decision. */
  private void onFile(Path path, long size, long mtime) throws IOException, InterruptedException {
    if (closed || journal.observe(path, size, mtime) != Action.HASH) {
      return;
    }
    String sha;
    hashing.incrementAndGet();
    try {
      sha = sha256(path);
    } catch (NoSuchFileException e) {
      return; // gone already; the watcher reports the deletion
    } catch (IOException e) {
      Decision d = journal.unreadable(path, size, mtime, "io", path + " cannot be read: " + e.getMessage());
      retireNow(d);
      return;
    } finally {
      hashing.decrementAndGet();
    }
    Decision d = journal.hashed(path, sha, size, mtime);
    List<Work.Delete> retired = retire(d.orphaned());
    if (d.action() == Action.INGEST) {
      submit(new Job(sha, path, 0, retired)); // the old content goes in the same commit as the new one
    } else if (!retired.isEmpty()) {
      send(new Deletes(retired));
    }
  }

  private void retireNow(Decision d) {
    List<Work.Delete> retired = retire(d.orphaned());
    if (!retired.isEmpty()) send(new Deletes(retired));
  }

  private List<Work.Delete> retire(List<String> orphaned) {
    List<Work.Delete> retired = new ArrayList<>();
    for (String sha : orphaned) {
      journal.retire(sha).ifPresent(retired::add);
    }
    return retired;
  }

  // ---- queues -----------------------------------------------------------------------------------

  private void submit(Job job) throws InterruptedException {
    begin();
    jobs.put(job);
  }

  /** Hands the writer a task; the writer queue may exceed its bound by these (they are small). */
  private void send(Write w) {
    begin();
    if (!writes.offer(w)) {
      overflow.add(w);
    }
  }

  /** Tasks sent while the writer's queue was full; taken before the queue. */
  private final ConcurrentLinkedQueue<Write> overflow = new ConcurrentLinkedQueue<>();

  private void begin() {
    lock.lock();
    try {
      if (fatal != null) throw new IllegalStateException("the ingester stopped: " + fatal, fatal);
      inFlight++;
    } finally {
      lock.unlock();
    }
  }

  private void finish(int n, long files) {
    lock.lock();
    try {
      inFlight -= n;
      filesFinished.addAndGet(files);
      long now = System.nanoTime();
      samples.addLast(new long[] {now, filesFinished.get(), itemsWritten.get()});
      trimSamples(now);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void requireStarted() {
    lock.lock();
    try {
      if (!started) throw new IllegalStateException("the ingester is not started: call start() first");
      if (closed) throw new IllegalStateException("the ingester is closed");
    } finally {
      lock.unlock();
    }
    checkFatal();
  }

  private void checkRunning() {
    if (closed) throw new IllegalStateException("the ingester was closed before the ingest finished");
    checkFatal();
  }

  private void checkFatal() {
    Throwable f = fatal;
    if (f != null) throw new IllegalStateException("the ingester stopped: " + f, f);
  }

  // ---- extraction workers -----------------------------------------------------------------------

  private Job nextJob() throws InterruptedException {
    lock.lock();
    try {
      while (paused && !closed) {
        changed.await();
      }
    } finally {
      lock.unlock();
    }
    Job j = urgent.poll();
    if (j == null) j = jobs.poll(100, TimeUnit.MILLISECONDS);
    if (j != null && paused) {
      urgent.add(j); // paused while this worker waited for the queue: the job waits too
      return null;
    }
    return j;
  }

  private void workLoop() {
    while (!closed) {
      Job job;
      try {
        job = nextJob();
      } catch (InterruptedException e) {
        if (closed) return;
        continue;
      }
      if (job == null) continue;
      try {
        Object result = remote != null && !remoteUnavailable ? processRemotely(job) : extract(job);
        if (result == null) return; // closing: the content stays pending for the next start
        if (result instanceof FileWork w) {
          embedding.incrementAndGet();
          assembling.put(w);
        } else {
          writes.put((Write) result);
        }
      } catch (InterruptedException e) {
        return;
      } catch (Throwable t) {
        LOG.log(Level.ERROR, "ingest worker failed on " + job.path(), t);
        fatal = t;
        return;
      }
    }
  }

  /**
   * Extracts one content, handing its inputs to the embedders: the file's work, whose vectors
   * are on their way; a {@link Failed}; or null when the ingester is closing.
   */
  private Object extract(Job job) throws IOException {
    FileWork work = new FileWork(job);
    extracting.incrementAndGet();
    try {
      thumbnails.delete(job.sha()); // left by an earlier attempt
      Extractors.Choice choice = extractors.choose(job.path(), config.limits());
      work.mime = choice.mediaType();
      work.extractor = choice.extractor().name();
      choice.extractor().extract(job.path(), config.limits(), work::accept);
      work.chunkText();
      return work;
    } catch (ExtractionException e) {
      return failed(work, e.reason().name().toLowerCase(Locale.ROOT), e.getMessage());
    } catch (UncheckedIOException e) {
      return failed(work, "io", job.path() + " could not be ingested: " + e.getCause().getMessage());
    } catch (NoSuchFileException e) {
      if (closed) return null;
      // Moved or deleted since it was hashed: not a failure of the content, which another file may have.
      work.discard();
      thumbnails.delete(job.sha());
      return new Abandoned(job);
    } catch (IOException e) {
      if (closed) return null;
      return failed(work, "io", job.path() + " cannot be read: " + e.getMessage());
    } catch (InterruptedException e) {
      return null; // only close() interrupts a worker
    } catch (CancellationException e) {
      if (closed || Thread.currentThread().isInterrupted()) return null;
      return failed(work, "error", job.path() + ": " + e);
    } catch (RuntimeException | StackOverflowError e) {
      if (closed) return null;
      LOG.log(Level.DEBUG, "ingest: " + job.path() + " failed with an unexpected exception", e);
      return failed(work, "error", job.path() + " could not be extracted: " + e);
    } finally {
      extracting.decrementAndGet();
    }
  }

  /**
   * Takes extracted files in order, waits for their vectors and hands their items to the writer.
   * On a thread of its own, so that the workers go on extracting while the embedders fill their
   * batches with the inputs of many files.
   */
  private void assembleLoop() {
    while (true) {
      FileWork work;
      try {
        work = assembling.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (work == null) {
        if (closed && !anyAlive(workers)) return;
        continue;
      }
      try {
        Write result;
        try {
          result = new Items(work.job, work.extractorLabel(), work.items());
        } catch (ExecutionException | IllegalArgumentException e) {
          if (closed) return;
          Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
          result = failed(work, "embedding", work.job.path() + ": embedding failed: " + cause);
        } catch (CancellationException e) {
          return; // the embedders were closed
        } finally {
          embedding.decrementAndGet();
        }
        writes.put(result);
      } catch (InterruptedException e) {
        return;
      } catch (Throwable t) {
        LOG.log(Level.ERROR, "ingest: assembling the items of " + work.job.path() + " failed", t);
        fatal = t;
        return;
      }
    }
  }

  private static boolean anyAlive(List<Thread> threads) {
    for (Thread t : threads) {
      if (t.isAlive()) return true;
    }
    return false;
  }

  private Write failed(FileWork work, String reason, String message) throws IOException {
    work.discard();
    thumbnails.delete(work.job.sha());
    return new Failed(work.job, reason, message == null ? work.job.path() + " failed" : message);
  }

  /** One content's pieces on their way to the index. */
  private final class FileWork {
    final Job job;
    String mime = "application/octet-stream";
    String extractor = "unknown";
    int next;
    boolean skippedText, skippedVisual;
    final List<Extracted.Text> texts = new ArrayList<>();
    final Map<String, String> documentFields = new LinkedHashMap<>();
    /** In ordinal order. */
    final List<Pending> pending = new ArrayList<>();

    /** An item waiting for its vector; a visual's pixels are not kept, only what its metadata needs. */
    record Pending(int ordinal, CompletableFuture<float[]> vector, Extracted.Kind kind, int page, long timestampMs,
        Map<String, String> fields, Chunk chunk) {
      boolean visual() {
        return kind != null;
      }
    }

    FileWork(Job job) {
      this.job = job;
    }

    /** The extractor's sink, on the extractor's thread. */
    void accept(Extracted piece) {
      switch (piece) {
        case Extracted.Text t -> texts.add(t);
        case Extracted.Metadata m -> documentFields.putAll(m.fields());
        case Extracted.Visual v -> {
          if (visual == null) {
            skippedVisual = true;
            return;
          }
          int ordinal = next++;
          try {
            thumbnails.write(job.sha(), ordinal, v.pixels());
            CompletableFuture<float[]> f = visual.submit(new Media.Image(v.pixels()));
            // The pixels are needed only until embedded: keep the piece without them.
            pending.add(new Pending(ordinal, f, v.kind(), v.page(), v.timestampMs(), withSize(v), null));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the embedder");
          }
        }
      }
    }

    private Map<String, String> withSize(Extracted.Visual v) {
      Map<String, String> m = new TreeMap<>(v.metadata());
      m.put("width", Integer.toString(v.pixels().width()));
      m.put("height", Integer.toString(v.pixels().height()));
      return m;
    }

    void chunkText() throws InterruptedException {
      for (Chunk c : chunker.chunk(texts)) {
        // Without a text model a chunk is kept for BM25 alone: a vector-less item.
        CompletableFuture<float[]> vector = text == null ? CompletableFuture.completedFuture(null) : text.submit(new Media.Text(c.text()));
        skippedText |= text == null;
        pending.add(new Pending(next++, vector, null, c.page(), -1, Map.of(), c));
      }
      texts.clear();
    }

    String extractorLabel() {
      return extractor + (skippedText ? NO_TEXT : "") + (skippedVisual ? NO_VISUAL : "");
    }

    List<Item> items() throws InterruptedException, ExecutionException {
      List<Item> items = new ArrayList<>(pending.size());
      String path = job.path().toString();
      String name = job.path().getFileName() == null ? path : job.path().getFileName().toString();
      for (Pending p : pending) {
        float[] vector = p.visual() || text != null ? checkedVector(p.vector().get(), p.visual() ? visualDimension : textDimension) : null;
        Map<String, String> fields = new TreeMap<>();
        fields.put("sha", job.sha());
        fields.put("mime", mime);
        fields.put("extractor", extractor);
        Metadata m;
        if (p.visual()) {
          for (var e : p.fields().entrySet()) {
            String key = e.getKey();
            if (FIELD_KEY.matcher(key).matches() && !Metadata.BUILT_IN_FIELDS.contains(key)) fields.put(key, e.getValue());
          }
          fields.put("thumbnail", Thumbnails.relative(job.sha(), p.ordinal()));
          long timestamp = p.timestampMs() >= 0 ? p.timestampMs() : exifMillis(p.fields().get("exif_date"));
          m = new Metadata(p.kind().type, path, p.page(), timestamp, name, fields);
        } else {
          Chunk c = p.chunk();
          fields.put("start", Long.toString(c.start()));
          fields.put("end", Long.toString(c.end()));
          fields.put("tokens", Integer.toString(c.tokens()));
          String title = documentFields.get("title");
          if (title != null && !title.isBlank()) fields.put("title", title);
          m = new Metadata("chunk", path, c.page(), 0L, c.text(), fields);
        }
        items.add(new Item(p.ordinal(), p.visual(), vector, m));
      }
      pending.clear();
      return items;
    }

    void discard() {
      pending.forEach(p -> p.vector().cancel(false));
      pending.clear();
      texts.clear();
    }
  }

  /** The vector if an index of {@code dimension} can take it; else an exception that fails this file alone, not the writer. */
  private static float[] checkedVector(float[] v, int dimension) {
    if (v == null || v.length != dimension) {
      throw new IllegalArgumentException("the embedder returned a vector of " + (v == null ? "no" : v.length)
          + " dimensions for an index of " + dimension);
    }
    double norm = 0;
    for (float f : v) {
      if (!Float.isFinite(f)) throw new IllegalArgumentException("the embedder returned a vector with a non-finite component " + f);
      norm += f * f;
    }
    if (norm == 0) throw new IllegalArgumentException("the embedder returned a zero vector");
    return v;
  }

  /** An EXIF date (local time, no zone: read as UTC) in epoch milliseconds, or 0. */
  static long exifMillis(String date) {
    if (date == null) return 0;
    try {
      return LocalDateTime.parse(date).toInstant(ZoneOffset.UTC).toEpochMilli();
    } catch (DateTimeParseException e) {
      return 0;
    }
  }

  /** {@code body} on a thread lowered to {@link BackgroundPriority#NICE} first: searches come before ingestion. */
  static Runnable background(Runnable body) {
    return () -> {
      BackgroundPriority.lowerCurrentThread();
      body.run();
    };
  }

  // ---- the index writer -------------------------------------------------------------------------

  /** What the journal hears after a commit. */
  private sealed interface AfterCommit {}

  private record MarkDone(String sha, int items, String extractor) implements AfterCommit {}

  private record MarkFailed(String sha, String reason, String message) implements AfterCommit {}

  private record MarkPurged(String sha) implements AfterCommit {}

  /** Least time between two commits while writes keep arriving. */
  private static final long BUSY_COMMIT_INTERVAL_NS = 1_000_000_000L;

  private void writeLoop() {
    List<AfterCommit> after = new ArrayList<>();
    int[] tasks = {0};
    int writesSinceCommit = 0;
    long lastCommit = System.nanoTime();
    try {
      while (true) {
        Write w = overflow.poll();
        if (w == null) w = writes.poll(100, TimeUnit.MILLISECONDS);
        if (w == null) {
          if (tasks[0] > 0) {
            commit(after, tasks);
            writesSinceCommit = 0;
            lastCommit = System.nanoTime();
          }
          if (closed && workersDone()) return;
          maybeCollectOrphans();
          continue;
        }
        writesSinceCommit += apply(w, after);
        tasks[0]++;
        // While files keep coming, commit at most once a second (each commit syncs files and
        // gives searches a new reader); 100 ms without a write commits at once (above).
        if (writesSinceCommit >= config.commitItems()
            || (writes.isEmpty() && overflow.isEmpty() && System.nanoTime() - lastCommit >= BUSY_COMMIT_INTERVAL_NS)) {
          commit(after, tasks);
          writesSinceCommit = 0;
          lastCommit = System.nanoTime();
        }
      }
    } catch (Throwable t) {
      LOG.log(Level.ERROR, "ingest: the index writer stopped; what is not committed is recovered at the next start", t);
      fatal = t;
      lock.lock();
      try {
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private boolean workersDone() {
    return !anyAlive(workers) && (assembler == null || !assembler.isAlive()) && writes.isEmpty() && overflow.isEmpty();
  }

  private void maybeCollectOrphans() {
    long due = collectDue;
    FolderWatcher w = watcher;
    if (due != 0 && System.nanoTime() - due > 0 && w != null && w.status().pending() == 0) {
      collectDue = 0;
      send(new CollectOrphans());
    }
  }

  /** Applies one task to the indexes; returns the number of index writes. */
  private int apply(Write w, List<AfterCommit> after) {
    switch (w) {
      case Items i -> {
        String sha = i.job().sha();
        int n = i.items().size();
        if (n > 0) journal.reserve(sha, n);
        int writes = deleteItems(sha, i.job().cleanBound()) + deleteAll(i.job().deletes(), after);
        for (Item item : i.items()) {
          String id = IngestJournal.itemId(sha, item.ordinal());
          if (item.visual()) {
            visualIndex.add(id, item.vector(), item.metadata());
          } else if (item.vector() == null) {
            textIndex.addKeywordOnly(id, item.metadata());
          } else {
            textIndex.add(id, item.vector(), item.metadata());
          }
        }
        after.add(new MarkDone(sha, n, i.extractor()));
        return writes + n;
      }
      case Failed f -> {
        int writes = deleteItems(f.job().sha(), f.job().cleanBound()) + deleteAll(f.job().deletes(), after);
        after.add(new MarkFailed(f.job().sha(), f.reason(), f.message()));
        return writes;
      }
      case Deletes d -> {
        return deleteAll(d.deletes(), after);
      }
      case CollectOrphans c -> {
        return deleteAll(journal.collectOrphans(), after);
      }
      case Abandoned a -> {
        forgetMissing(a.job().sha());
        return deleteAll(List.of(journal.abandon(a.job().sha())), after) + deleteAll(a.job().deletes(), after);
      }
    }
  }

  /**
   * Removes from the journal the files of content {@code sha} that no longer exist (the watcher
   * reports their deletion later, and a removal of an unknown path is then a no-op), so that a
   * content is never ingested from a file that is gone.
   */
  private void forgetMissing(String sha) {
    for (String p : journal.content(sha).map(ContentInfo::paths).orElse(List.of())) {
      Path path = Path.of(p);
      if (!Files.isRegularFile(path)) {
        journal.removed(path);
      }
    }
  }

  private int deleteAll(List<Work.Delete> deletes, List<AfterCommit> after) {
    int n = 0;
    for (Work.Delete d : deletes) {
      n += deleteItems(d.sha(), d.bound());
      after.add(new MarkPurged(d.sha()));
    }
    return n;
  }

  private int deleteItems(String sha, int bound) {
    for (int i = 0; i < bound; i++) {
      String id = IngestJournal.itemId(sha, i);
      textIndex.delete(id);
      if (visualIndex != null) visualIndex.delete(id);
    }
    return bound;
  }

  private void commit(List<AfterCommit> after, int[] tasks) throws IOException {
    journal.sync(); // reservations and retirements durable before the index holds their effects
    textIndex.commit();
    if (visualIndex != null) visualIndex.commit();
    afterCommit.run();
    long files = 0;
    List<Job> again = new ArrayList<>();
    List<Work.Delete> nowhere = new ArrayList<>();
    for (AfterCommit a : after) {
      switch (a) {
        case MarkDone d -> {
          journal.done(d.sha(), d.items(), d.extractor());
          itemsWritten.addAndGet(d.items());
          files++;
        }
        case MarkFailed f -> {
          journal.failed(f.sha(), f.reason(), f.message());
          files++;
        }
        case MarkPurged p -> {
          thumbnails.delete(p.sha());
          Optional<Decision> d = journal.purged(p.sha());
          if (d.isPresent()) {
            // A file took the content back meanwhile: ingest it from a file that is still there.
            forgetMissing(p.sha());
            Optional<Path> from = journal.content(p.sha()).orElseThrow().paths().stream().map(Path::of)
                .filter(Files::isRegularFile).findFirst();
            if (from.isPresent()) {
              again.add(new Job(p.sha(), from.get(), 0, List.of()));
            } else {
              nowhere.add(journal.abandon(p.sha())); // no file has it any more: forgotten at the next purge
            }
          }
        }
      }
    }
    for (Job j : again) {
      begin();
      urgent.add(j);
    }
    if (!nowhere.isEmpty()) {
      send(new Deletes(nowhere));
    }
    after.clear();
    int n = tasks[0];
    tasks[0] = 0;
    finish(n, files);
  }

  // ---- hashing ----------------------------------------------------------------------------------

  /** The SHA-256 of a file's bytes, streamed, in lower-case hex. */
  static String sha256(Path file) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        md.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
