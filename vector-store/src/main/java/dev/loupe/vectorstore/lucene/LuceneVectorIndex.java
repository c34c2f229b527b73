package dev.loupe.vectorstore.lucene;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.VectorSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherFactory;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IOUtils;
import org.apache.lucene.util.QueryBuilder;
import org.apache.lucene.util.VectorUtil;

/**
 * The appliance's default on-disk {@link HybridIndex}: one Lucene index in a directory, served
 * through {@link MMapDirectory}, with an HNSW graph over the vectors and BM25 over the items'
 * text.
 *
 * <h2>Document layout</h2>
 *
 * Each item is one document: {@code id} (indexed string, stored), {@code vector} (HNSW), {@code
 * type} and {@code path} (indexed strings, stored), {@code page} (int point, stored), {@code
 * timestamp} (long point, stored), {@code text} (analyzed with {@link StandardAnalyzer}, stored)
 * and each free metadata field as indexed, stored string {@code meta.<key>}. The spec (dimension
 * and similarity) and a layout version live in the user data of every commit, and a reopen with a
 * different spec is refused.
 *
 * <h2>Similarity</h2>
 *
 * {@link Similarity#COSINE} vectors are normalized on the way in and indexed as Lucene {@code
 * DOT_PRODUCT}; {@link Similarity#DOT_PRODUCT} is Lucene {@code MAXIMUM_INNER_PRODUCT}; {@link
 * Similarity#EUCLIDEAN} is Lucene {@code EUCLIDEAN}. Lucene's scores are mapped back to the
 * {@link Similarity} convention. With {@link Options#scalarQuantized()} the graph is searched on
 * 8-bit codes and the candidates are rescored exactly against the float vectors Lucene keeps
 * beside them.
 *
 * <h2>Visibility, durability, concurrency</h2>
 *
 * Writes go straight to the {@link IndexWriter}; the next search or {@link #get} refreshes the
 * near-real-time reader first, so a write is visible once its call returns. {@link #commit()} is
 * {@link IndexWriter#commit()}: after a crash Lucene reopens its last commit. Presence of ids is
 * tracked in a concurrent set loaded from the index at open and updated under a per-id lock
 * stripe, so add/update/delete of one id are serialized while writes of different ids and all
 * searches run concurrently. The index owns its directory, writer and merge threads until {@link
 * #close()}; a directory can be open in one instance at a time (Lucene's write lock).
 *
 * <h2>Read-only views</h2>
 *
 * {@link #openReadOnly} opens a directory another process writes (the writer child of {@code loupe
 * serve}): no writer, no write lock, no id set; searches see the writer's last commit as of the
 * last {@link #refresh()}, presence is looked up in the index, and every write method throws
 * {@link UnsupportedOperationException}. Such a view allocates nothing for indexing, so a server
 * that searches while another process ingests keeps the writer's garbage out of its heap.
 */
public final class LuceneVectorIndex implements HybridIndex, VectorSource {

  /** Version of the document layout above; stored in the commit user data. */
  static final String LAYOUT_VERSION = "1";

  static final String KEY_LAYOUT = "loupe.layout";
  static final String KEY_DIMENSION = "loupe.dimension";
  static final String KEY_SIMILARITY = "loupe.similarity";

  static final String ID = "id";
  static final String VECTOR = "vector";
  static final String TEXT = "text";

  /** Largest indexed string term Lucene accepts, in UTF-8 bytes. */
  private static final int MAX_TERM_BYTES = IndexWriter.MAX_TERM_LENGTH;

  private static final int LOCK_STRIPES = 64;

  /**
   * How the HNSW graph is built and searched.
   *
   * @param maxConn neighbours per node (HNSW {@code M}), in [1, 512]
   * @param beamWidth candidates kept while inserting ({@code efConstruction}), in [1, 3200]
   * @param scalarQuantized search the graph on 8-bit scalar-quantized codes and rescore the
   *     candidates with the float vectors
   * @param efSearch candidates a vector search collects before keeping the top k (at least k),
   *     in [1, {@link VectorIndex#MAX_K}]
   * @param mergeWorkers threads that build the graph of a merged segment, in [1, 512]
   * @param readYourWrites true: a search sees every write that returned before it, refreshing
   *     the reader first when writes came in since the last search (the default, and what the
   *     {@link VectorIndex} contract states). false: a search never waits for a refresh; it sees
   *     the index as of the last {@link #commit()}, which refreshes the reader before it returns.
   *     For a server that searches while it ingests: with writes arriving all the time, the
   *     default would make nearly every search pay for a refresh (a segment flush) and queue
   *     behind the others doing the same.
   */
  public record Options(
      int maxConn, int beamWidth, boolean scalarQuantized, int efSearch, int mergeWorkers, boolean readYourWrites) {

    public Options {
      if (maxConn < 1 || maxConn > Lucene99HnswVectorsFormat.MAXIMUM_MAX_CONN) {
        throw new IllegalArgumentException(
            "maxConn " + maxConn + " is outside [1, " + Lucene99HnswVectorsFormat.MAXIMUM_MAX_CONN
                + "]");
      }
      if (beamWidth < 1 || beamWidth > Lucene99HnswVectorsFormat.MAXIMUM_BEAM_WIDTH) {
        throw new IllegalArgumentException(
            "beamWidth " + beamWidth + " is outside [1, "
                + Lucene99HnswVectorsFormat.MAXIMUM_BEAM_WIDTH + "]");
      }
      if (efSearch < 1 || efSearch > VectorIndex.MAX_K) {
        throw new IllegalArgumentException(
            "efSearch " + efSearch + " is outside [1, " + VectorIndex.MAX_K + "]");
      }
      if (mergeWorkers < 1 || mergeWorkers > 512) {
        throw new IllegalArgumentException("mergeWorkers " + mergeWorkers + " is outside [1, 512]");
      }
    }

    /** Options that read their writes. */
    public Options(int maxConn, int beamWidth, boolean scalarQuantized, int efSearch, int mergeWorkers) {
      this(maxConn, beamWidth, scalarQuantized, efSearch, mergeWorkers, true);
    }

    /**
     * M=32, beam width 200, float vectors, efSearch 100, one merge worker per processor, searches
     * read their writes.
     *
     * <p>At 1M clustered 512-d vectors M=16 / beam 100 reached recall@10 0.83 at efSearch 100 and
     * 0.95 only past 2 ms; M=32 / beam 200 reaches 0.98 at about 1.1 ms (BENCHMARKS.md). The
     * graph costs about four times as long to build, which an appliance whose ingest is bounded
     * by its embedder (about 15 images/s on two cores) does not notice.
     */
    public static Options defaults() {
      return new Options(32, 200, false, 100, Runtime.getRuntime().availableProcessors());
    }

    /** These options with scalar quantization switched on or off. */
    public Options withScalarQuantized(boolean quantized) {
      return new Options(maxConn, beamWidth, quantized, efSearch, mergeWorkers, readYourWrites);
    }

    /** These options with another {@code efSearch}. */
    public Options withEfSearch(int ef) {
      return new Options(maxConn, beamWidth, scalarQuantized, ef, mergeWorkers, readYourWrites);
    }

    /** These options with searches that read every returned write, or only committed ones (see {@link #readYourWrites()}). */
    public Options withReadYourWrites(boolean read) {
      return new Options(maxConn, beamWidth, scalarQuantized, efSearch, mergeWorkers, read);
    }
  }

  private final Path path;
  private final IndexSpec spec;
  private final Options options;
  private final VectorSimilarityFunction luceneSimilarity;
  private final MMapDirectory directory;
  private final IndexWriter writer;
  private final SearcherManager searchers;
  private final ExecutorService mergeExecutor;
  private final Analyzer analyzer;

  /** Ids present, including uncommitted writes; null in a read-only view, which asks its reader. */
  private final Set<String> ids;

  private final ReentrantLock[] stripes = new ReentrantLock[LOCK_STRIPES];

  /** Count of completed writes; searches refresh when the reader lags behind it. */
  private final AtomicLong writes = new AtomicLong();

  private final Object refreshLock = new Object();
  private volatile long refreshedThrough;
  private final AtomicBoolean closed = new AtomicBoolean();

  /** A read-only view's free metadata keys, with the reader they were read from. */
  private record FieldNames(DirectoryReader reader, Set<String> keys) {}

  private volatile FieldNames readerFieldNames;

  private LuceneVectorIndex(
      Path path,
      IndexSpec spec,
      Options options,
      MMapDirectory directory,
      IndexWriter writer,
      ExecutorService mergeExecutor,
      Analyzer analyzer)
      throws IOException {
    this.path = path;
    this.spec = spec;
    this.options = options;
    this.luceneSimilarity = luceneSimilarity(spec.similarity());
    this.directory = directory;
    this.writer = writer;
    this.mergeExecutor = mergeExecutor;
    this.analyzer = analyzer;
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
    this.searchers = writer != null ? new SearcherManager(writer, new SearcherFactory()) : new SearcherManager(directory, new SearcherFactory());
    try {
      this.ids = writer != null ? loadIds() : null;
    } catch (Throwable t) {
      IOUtils.closeWhileSuppressingExceptions(t, searchers);
      throw t;
    }
  }

  /**
   * Opens the index in {@code dir}, creating it (and the directory) if there is none.
   *
   * @throws IllegalArgumentException if the index was created with another spec, or the
   *     directory holds a Lucene index that Loupe did not write
   * @throws IOException if the directory cannot be read or written, or another instance holds it
   */
  public static LuceneVectorIndex open(Path dir, IndexSpec spec, Options options)
      throws IOException {
    if (dir == null) {
      throw new IllegalArgumentException("index directory must not be null");
    }
    if (spec == null) {
      throw new IllegalArgumentException("index spec must not be null");
    }
    if (options == null) {
      throw new IllegalArgumentException("options must not be null");
    }
    Files.createDirectories(dir);
    MMapDirectory directory = new MMapDirectory(dir);
    ExecutorService mergeExecutor = null;
    IndexWriter writer = null;
    Analyzer analyzer = new StandardAnalyzer();
    try {
      boolean existed = DirectoryReader.indexExists(directory);
      mergeExecutor = options.mergeWorkers() > 1 ? newMergeExecutor(options.mergeWorkers()) : null;
      IndexWriterConfig config = new IndexWriterConfig(analyzer);
      config.setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND);
      config.setCodec(LuceneCodecs.codec(options, mergeExecutor));
      // Separate files rather than compound ones, so the vector files are mapped (and counted
      // by ramBytesUsed) on their own.
      config.setUseCompoundFile(false);
      // Each indexing thread builds its segment's graph as it goes; a larger buffer means fewer,
      // larger segments and less graph merging after a bulk load.
      config.setRAMBufferSizeMB(256);
      TieredMergePolicy mergePolicy = new TieredMergePolicy();
      mergePolicy.setNoCFSRatio(0.0);
      config.setMergePolicy(mergePolicy);
      writer = new IndexWriter(directory, config);
      if (existed) {
        Map<String, String> userData = new HashMap<>();
        for (var e : writer.getLiveCommitData()) {
          userData.put(e.getKey(), e.getValue());
        }
        checkSpec(dir, userData, spec);
      }
      writer.setLiveCommitData(specUserData(spec).entrySet());
      if (!existed) {
        writer.commit();
      }
      return new LuceneVectorIndex(
          dir, spec, options, directory, writer, mergeExecutor, analyzer);
    } catch (Throwable t) {
      if (writer != null) {
        // Roll back rather than close: closing commits, and a refused open must change nothing.
        IOUtils.closeWhileSuppressingExceptions(t, writer::rollback);
      }
      IOUtils.closeWhileSuppressingExceptions(t, directory, analyzer);
      if (mergeExecutor != null) {
        mergeExecutor.shutdownNow();
      }
      throw t;
    }
  }

  /**
   * Opens a read-only view of the index in {@code dir}, which another process writes (see the class
   * documentation). When there is no index yet, one is created first (and committed), so the view
   * and its writer agree on the spec from the start.
   *
   * @throws IllegalArgumentException if the index was created with another spec, or the
   *     directory holds a Lucene index that Loupe did not write
   * @throws IOException if the directory cannot be read
   */
  public static LuceneVectorIndex openReadOnly(Path dir, IndexSpec spec, Options options) throws IOException {
    if (dir == null || spec == null || options == null) {
      throw new IllegalArgumentException("a read-only view needs a directory, a spec and options");
    }
    Files.createDirectories(dir);
    try (MMapDirectory probe = new MMapDirectory(dir)) {
      if (!DirectoryReader.indexExists(probe)) {
        open(dir, spec, options).close(); // creates and commits an empty index with the spec
      }
    }
    MMapDirectory directory = new MMapDirectory(dir);
    Analyzer analyzer = new StandardAnalyzer();
    try {
      checkSpec(dir, org.apache.lucene.index.SegmentInfos.readLatestCommit(directory).getUserData(), spec);
      return new LuceneVectorIndex(dir, spec, options.withReadYourWrites(false), directory, null, null, analyzer);
    } catch (Throwable t) {
      IOUtils.closeWhileSuppressingExceptions(t, directory, analyzer);
      throw t;
    }
  }

  /**
   * Checks a write as {@link #add} (or, with a null {@code vector}, {@link #addKeywordOnly}) would,
   * without writing: the id, the vector against the spec, the metadata and the length of every
   * indexed term. For a read-only view that forwards writes to its writer's process, so bad input
   * fails in the caller with the same message.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public void checkWrite(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    toDocument(id, vector == null ? null : spec.checkAndPrepare(vector, "vector"), VectorIndex.checkMetadata(metadata));
  }

  /** True for a view opened with {@link #openReadOnly}. */
  public boolean readOnly() {
    return writer == null;
  }

  /**
   * Makes searches see the directory's latest commit, blocking until the new reader is open. For
   * a read-only view, after its writer committed; a writing instance refreshes by itself.
   */
  public void refresh() throws IOException {
    ensureOpen();
    searchers.maybeRefreshBlocking();
  }

  /**
   * The fully qualified class name of the vectorization provider Lucene uses in this JVM: {@code
   * org.apache.lucene.internal.vectorization.PanamaVectorizationProvider} when Lucene scores
   * vectors with the Java Vector API (the JVM runs with {@code --add-modules
   * jdk.incubator.vector}), otherwise {@code …DefaultVectorizationProvider}.
   */
  public static String vectorizationProvider() {
    return LuceneVectorization.provider();
  }

  // ---------------------------------------------------------------------------------- writes

  @Override
  public IndexSpec spec() {
    return spec;
  }

  /** The options this instance was opened with. */
  public Options options() {
    return options;
  }

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    ensureWritable();
    VectorIndex.checkId(id);
    float[] v = spec.checkAndPrepare(vector, "vector");
    addDocument(id, toDocument(id, v, VectorIndex.checkMetadata(metadata)));
  }

  /** A document without the vector field: BM25 matches it, the vector queries never do. */
  @Override
  public void addKeywordOnly(String id, Metadata metadata) {
    ensureWritable();
    VectorIndex.checkId(id);
    addDocument(id, toDocument(id, null, VectorIndex.checkMetadata(metadata)));
  }

  private void addDocument(String id, Document doc) {
    ReentrantLock lock = stripe(id);
    lock.lock();
    try {
      ensureOpen();
      if (!ids.add(id)) {
        throw new IllegalArgumentException(
            "id '" + id + "' is already present; use update to replace it");
      }
      boolean added = false;
      try {
        writer.addDocument(doc);
        added = true;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot add '" + id + "' to the index at " + path, e);
      } finally {
        if (!added) {
          ids.remove(id);
        }
      }
      writes.incrementAndGet();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    ensureWritable();
    VectorIndex.checkId(id);
    float[] v = spec.checkAndPrepare(vector, "vector");
    Document doc = toDocument(id, v, VectorIndex.checkMetadata(metadata));
    ReentrantLock lock = stripe(id);
    lock.lock();
    try {
      ensureOpen();
      if (!ids.contains(id)) {
        throw new IllegalArgumentException("id '" + id + "' is not present; use add for a new item");
      }
      try {
        writer.updateDocument(new Term(ID, id), doc);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot update '" + id + "' in the index at " + path, e);
      }
      writes.incrementAndGet();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean delete(String id) {
    ensureWritable();
    VectorIndex.checkId(id);
    ReentrantLock lock = stripe(id);
    lock.lock();
    try {
      ensureOpen();
      if (!ids.contains(id)) {
        return false;
      }
      try {
        writer.deleteDocuments(new Term(ID, id));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete '" + id + "' from the index at " + path, e);
      }
      ids.remove(id);
      writes.incrementAndGet();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Commits; in a read-only view, {@link #refresh() refreshes} (there is nothing of its own to commit). */
  @Override
  public void commit() throws IOException {
    ensureOpen();
    if (writer == null) {
      refresh();
      return;
    }
    long target = writes.get();
    writer.commit();
    if (!options.readYourWrites()) {
      refreshThrough(target);
    }
  }

  /**
   * Merges the index down to at most {@code maxSegments} segments and commits. Worth it after a
   * bulk load: a k-NN query searches one HNSW graph per segment, so fewer segments mean fewer
   * graph walks. Blocks until the merge is done; searches go on meanwhile.
   */
  public void forceMerge(int maxSegments) throws IOException {
    if (maxSegments < 1) {
      throw new IllegalArgumentException("maxSegments " + maxSegments + " must be at least 1");
    }
    ensureOpen();
    ensureWritable();
    writer.forceMerge(maxSegments);
    writer.commit();
  }

  @Override
  public void close() throws IOException {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      // Closing the writer commits, waits for running merges and releases the write lock.
      IOUtils.close(searchers, writer, analyzer, directory);
    } finally {
      if (mergeExecutor != null) {
        mergeExecutor.shutdown();
      }
    }
  }

  /**
   * Closes without committing: what was written since the last {@link #commit()} is dropped, as
   * after a crash. For a writer process whose server went away, so the index never holds writes
   * the server's journal did not make durable first. A read-only view just closes.
   */
  public void rollbackAndClose() throws IOException {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      IOUtils.close(searchers, writer == null ? null : writer::rollback, analyzer, directory);
    } finally {
      if (mergeExecutor != null) {
        mergeExecutor.shutdown();
      }
    }
  }

  // ----------------------------------------------------------------------------------- reads

  @Override
  public Optional<Metadata> get(String id) {
    VectorIndex.checkId(id);
    ensureOpen();
    if (ids != null && !ids.contains(id)) {
      return Optional.empty();
    }
    return withSearcher(
        searcher -> {
          OptionalInt live = liveDoc(searcher, id);
          return live.isEmpty() ? Optional.empty() : Optional.of(toMetadata(searcher.storedFields().document(live.getAsInt())));
        });
  }

  /**
   * Per thread and index, the id field's {@link TermsEnum} of each segment of the last reader it
   * looked ids up in, reused while that reader stays the one searched (a thread keeps at most one
   * retired reader reachable, until its next lookup). A fresh enum per segment per lookup was the
   * server's largest allocation while ingesting: the presence check of each forwarded
   * write ({@link #contains}) came to 1.9 GB in 85 s (JFR), garbage that makes young collections
   * more frequent for the searches beside it.
   */
  private record IdTerms(IndexReader reader, TermsEnum[] perLeaf) {}

  private final ThreadLocal<IdTerms> idTerms = new ThreadLocal<>();

  /** The live document of {@code id} in {@code searcher}'s view (which hides deleted ones), if any. */
  private OptionalInt liveDoc(IndexSearcher searcher, String id) throws IOException {
    // A seek per segment rather than a TermQuery, whose weight, scorers and collector allocate
    // kilobytes per segment for what is one term lookup (a "similar to" search makes one).
    BytesRef term = new BytesRef(id);
    PostingsEnum postings = null;
    IndexReader reader = searcher.getIndexReader();
    List<LeafReaderContext> leaves = reader.leaves();
    IdTerms cached = idTerms.get();
    if (cached == null || cached.reader() != reader) {
      cached = new IdTerms(reader, new TermsEnum[leaves.size()]);
      idTerms.set(cached);
    }
    for (LeafReaderContext leaf : leaves) {
      TermsEnum te = cached.perLeaf()[leaf.ord];
      if (te == null) {
        Terms terms = leaf.reader().terms(ID);
        if (terms == null) {
          continue;
        }
        te = terms.iterator();
        cached.perLeaf()[leaf.ord] = te;
      }
      if (!te.seekExact(term)) {
        continue;
      }
      Bits live = leaf.reader().getLiveDocs();
      postings = te.postings(postings, PostingsEnum.NONE);
      for (int d = postings.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = postings.nextDoc()) {
        if (live == null || live.get(d)) {
          return OptionalInt.of(leaf.docBase + d);
        }
      }
    }
    return OptionalInt.empty();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Read from the float vectors of the document's segment, which Lucene keeps whether or not
   * the graph is {@link Options#scalarQuantized() scalar-quantized}: always the full-precision
   * vector, never a decoded 8-bit code.
   */
  @Override
  public Optional<float[]> vector(String id) {
    VectorIndex.checkId(id);
    ensureOpen();
    if (ids != null && !ids.contains(id)) {
      return Optional.empty();
    }
    return withSearcher(
        searcher -> {
          OptionalInt live = liveDoc(searcher, id);
          if (live.isEmpty()) {
            return Optional.empty();
          }
          int doc = live.getAsInt();
          List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
          LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(doc, leaves));
          FloatVectorValues values = leaf.reader().getFloatVectorValues(VECTOR);
          if (values == null) {
            return Optional.empty(); // a segment of keyword-only documents
          }
          int local = doc - leaf.docBase;
          KnnVectorValues.DocIndexIterator it = values.iterator();
          if (it.advance(local) != local) {
            return Optional.empty(); // added with addKeywordOnly
          }
          // vectorValue may return a buffer Lucene reuses; the caller gets its own copy.
          return Optional.of(values.vectorValue(it.index()).clone());
        });
  }

  /**
   * {@inheritDoc}
   *
   * <p>Walks the float vectors of every segment of one searcher (a point-in-time view), skipping
   * deleted and keyword-only documents; vectors are full precision, as {@link #vector} returns them.
   * For the GPU hot tier's mirror.
   */
  @Override
  public void forEachVector(VectorSource.Visitor visitor) {
    withSearcher(
        searcher -> {
          for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            LeafReader reader = leaf.reader();
            FloatVectorValues values = reader.getFloatVectorValues(VECTOR);
            if (values == null) {
              continue;
            }
            Bits live = reader.getLiveDocs();
            org.apache.lucene.index.StoredFields stored = reader.storedFields();
            KnnVectorValues.DocIndexIterator it = values.iterator();
            for (int doc = it.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = it.nextDoc()) {
              if (live != null && !live.get(doc)) {
                continue;
              }
              Document document = stored.document(doc);
              visitor.visit(document.get(ID), values.vectorValue(it.index()).clone(), toMetadata(document));
            }
          }
          return null;
        });
  }

  @Override
  public boolean contains(String id) {
    VectorIndex.checkId(id);
    ensureOpen();
    return ids != null ? ids.contains(id) : withSearcher(searcher -> liveDoc(searcher, id).isPresent());
  }

  @Override
  public int size() {
    ensureOpen();
    return ids != null ? ids.size() : withSearcher(searcher -> searcher.getIndexReader().numDocs());
  }

  /**
   * The free metadata keys of every {@code meta.*} field in the writer's field infos: fields of
   * committed segments, loaded at open, and of writes since.
   */
  @Override
  public Set<String> fieldNames() {
    ensureOpen();
    if (writer == null) {
      return withSearcher(searcher -> readerFieldNames((DirectoryReader) searcher.getIndexReader()));
    }
    Set<String> keys = new TreeSet<>();
    for (String field : writer.getFieldNames()) {
      if (field.startsWith(LuceneQueries.META_PREFIX)) {
        keys.add(field.substring(LuceneQueries.META_PREFIX.length()));
      }
    }
    return Collections.unmodifiableSet(keys);
  }

  /** A read-only view's field names: read once per reader, as its field infos do not change. */
  private Set<String> readerFieldNames(DirectoryReader reader) {
    FieldNames known = readerFieldNames;
    if (known != null && known.reader() == reader) {
      return known.keys();
    }
    Set<String> keys = new TreeSet<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      for (org.apache.lucene.index.FieldInfo field : leaf.reader().getFieldInfos()) {
        if (field.name.startsWith(LuceneQueries.META_PREFIX)) {
          keys.add(field.name.substring(LuceneQueries.META_PREFIX.length()));
        }
      }
    }
    Set<String> result = Collections.unmodifiableSet(keys);
    readerFieldNames = new FieldNames(reader, result);
    return result;
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    float[] q = spec.checkAndPrepare(query, "query");
    VectorIndex.checkK(k);
    Query filterQuery = filterQuery(filter);
    return withSearcher(searcher -> toHits(searcher, vectorRanking(searcher, q, k, filterQuery)));
  }

  @Override
  public List<SearchHit> keywordSearch(String text, int k, Filter filter) {
    checkText(text);
    VectorIndex.checkK(k);
    Query filterQuery = filterQuery(filter);
    return withSearcher(searcher -> toHits(searcher, keywordRanking(searcher, text, k, filterQuery)));
  }

  @Override
  public List<SearchHit> similarTextSearch(String text, int maxTerms, int k, Filter filter) {
    checkText(text);
    VectorIndex.checkK(k);
    if (maxTerms < 1 || maxTerms > 1024) {
      throw new IllegalArgumentException("maxTerms " + maxTerms + " is outside [1, 1024]");
    }
    Query filterQuery = filterQuery(filter);
    return withSearcher(
        searcher -> {
          Query terms = distinctiveTerms(searcher, text, maxTerms);
          if (terms == null) {
            return List.of();
          }
          Query query = filterQuery == null ? terms
              : new BooleanQuery.Builder().add(terms, Occur.MUST).add(filterQuery, Occur.FILTER).build();
          TopDocs top = searcher.search(query, k);
          List<ScoredDoc> hits = new ArrayList<>(top.scoreDocs.length);
          for (ScoreDoc sd : top.scoreDocs) {
            hits.add(new ScoredDoc(sd.doc, sd.score));
          }
          return toHits(searcher, hits);
        });
  }

  /** The {@code maxTerms} terms of {@code text} with the highest tf·idf in this index, as SHOULD clauses; null for none. */
  private Query distinctiveTerms(IndexSearcher searcher, String text, int maxTerms) throws IOException {
    Map<String, Integer> tf = new HashMap<>();
    try (TokenStream stream = analyzer.tokenStream(TEXT, text)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      while (stream.incrementToken()) {
        tf.merge(term.toString(), 1, Integer::sum);
      }
      stream.end();
    }
    int docs = Math.max(1, searcher.getIndexReader().numDocs());
    record Weighted(String term, double weight) {}
    List<Weighted> weighted = new ArrayList<>();
    for (var e : tf.entrySet()) {
      int df = searcher.getIndexReader().docFreq(new Term(TEXT, e.getKey()));
      if (df > 0) {
        weighted.add(new Weighted(e.getKey(), e.getValue() * Math.log(1 + (docs - df + 0.5) / (df + 0.5))));
      }
    }
    if (weighted.isEmpty()) {
      return null;
    }
    weighted.sort(Comparator.comparingDouble(Weighted::weight).reversed().thenComparing(Weighted::term));
    BooleanQuery.Builder query = new BooleanQuery.Builder();
    for (Weighted w : weighted.subList(0, Math.min(maxTerms, weighted.size()))) {
      query.add(new TermQuery(new Term(TEXT, w.term())), Occur.SHOULD);
    }
    return query.build();
  }

  @Override
  public List<SearchHit> hybridSearch(
      String text, float[] vector, int k, Filter filter, Fusion fusion) {
    checkText(text);
    float[] q = spec.checkAndPrepare(vector, "query");
    VectorIndex.checkK(k);
    Query filterQuery = filterQuery(filter);
    if (fusion == null) {
      throw new IllegalArgumentException("fusion must not be null");
    }
    return withSearcher(
        searcher -> {
          // Both rankings come from the same searcher, so they see the same documents.
          Map<Integer, Float> fused = new HashMap<>();
          if (fusion.keywordWeight() > 0) {
            addRanks(
                fused, keywordRanking(searcher, text, fusion.candidates(), filterQuery),
                fusion.keywordWeight(), fusion.rankConstant());
          }
          if (fusion.vectorWeight() > 0) {
            addRanks(
                fused, vectorRanking(searcher, q, fusion.candidates(), filterQuery),
                fusion.vectorWeight(), fusion.rankConstant());
          }
          List<Map.Entry<Integer, Float>> ranked = new ArrayList<>(fused.entrySet());
          ranked.sort(
              Map.Entry.<Integer, Float>comparingByValue(Comparator.reverseOrder())
                  .thenComparing(Map.Entry.comparingByKey()));
          List<ScoredDoc> top = new ArrayList<>(Math.min(k, ranked.size()));
          for (var e : ranked.subList(0, Math.min(k, ranked.size()))) {
            top.add(new ScoredDoc(e.getKey(), e.getValue()));
          }
          return toHits(searcher, top);
        });
  }

  /**
   * Bytes held for the items: the writer's indexing buffers plus the size of the vector files
   * ({@code .vec} floats, {@code .veq} quantized codes, {@code .vex} graph) of the segments the
   * current reader maps.
   */
  @Override
  public long ramBytesUsed() {
    ensureOpen();
    long bytes = writer == null ? 0 : writer.ramBytesUsed();
    bytes +=
        withSearcher(
            searcher -> {
              long mapped = 0;
              for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                if (FilterLeafReader.unwrap(leaf.reader()) instanceof SegmentReader segment) {
                  for (String file : segment.getSegmentInfo().files()) {
                    if (file.endsWith(".vec") || file.endsWith(".veq") || file.endsWith(".vex")) {
                      mapped += directory.fileLength(file);
                    }
                  }
                }
              }
              return mapped;
            });
    return bytes;
  }

  @Override
  public String toString() {
    return "LuceneVectorIndex[" + path + ", " + spec + ", " + options + "]";
  }

  // -------------------------------------------------------------------------------- rankings

  private record ScoredDoc(int doc, float score) {}

  /** Top {@code n} vector matches, scores in the {@link Similarity} convention, best first. */
  private List<ScoredDoc> vectorRanking(
      IndexSearcher searcher, float[] query, int n, Query filterQuery) throws IOException {
    int candidates = Math.max(n, options.efSearch());
    TopDocs top =
        searcher.search(new KnnFloatVectorQuery(VECTOR, query, candidates, filterQuery), candidates);
    List<ScoredDoc> hits = new ArrayList<>(top.scoreDocs.length);
    if (options.scalarQuantized()) {
      // Graph scores are estimates from 8-bit codes; rescore every candidate exactly.
      hits.addAll(rescore(searcher, query, top.scoreDocs));
      hits.sort(Comparator.comparingDouble(ScoredDoc::score).reversed());
    } else {
      for (ScoreDoc sd : top.scoreDocs) {
        hits.add(new ScoredDoc(sd.doc, fromLuceneScore(sd.score)));
      }
    }
    return hits.size() > n ? hits.subList(0, n) : hits;
  }

  /** Top {@code n} BM25 matches of {@code text} on the text field, best first. */
  private List<ScoredDoc> keywordRanking(
      IndexSearcher searcher, String text, int n, Query filterQuery) throws IOException {
    Query textQuery = new QueryBuilder(analyzer).createBooleanQuery(TEXT, text);
    if (textQuery == null) {
      return List.of(); // only stop words or punctuation
    }
    Query query = textQuery;
    if (filterQuery != null) {
      query =
          new BooleanQuery.Builder()
              .add(textQuery, Occur.MUST)
              .add(filterQuery, Occur.FILTER)
              .build();
    }
    TopDocs top = searcher.search(query, n);
    List<ScoredDoc> hits = new ArrayList<>(top.scoreDocs.length);
    for (ScoreDoc sd : top.scoreDocs) {
      hits.add(new ScoredDoc(sd.doc, sd.score));
    }
    return hits;
  }

  private static void addRanks(
      Map<Integer, Float> fused, List<ScoredDoc> ranking, float weight, int rankConstant) {
    for (int i = 0; i < ranking.size(); i++) {
      float contribution = weight / (rankConstant + i + 1);
      fused.merge(ranking.get(i).doc, contribution, Float::sum);
    }
  }

  /** Exact scores of the candidates from the float vectors, read leaf by leaf in doc order. */
  private List<ScoredDoc> rescore(IndexSearcher searcher, float[] query, ScoreDoc[] candidates)
      throws IOException {
    ScoreDoc[] byDoc = candidates.clone();
    Arrays.sort(byDoc, Comparator.comparingInt(sd -> sd.doc));
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    List<ScoredDoc> out = new ArrayList<>(byDoc.length);
    int leafIndex = -1;
    FloatVectorValues values = null;
    KnnVectorValues.DocIndexIterator it = null;
    LeafReaderContext leaf = null;
    for (ScoreDoc sd : byDoc) {
      int li = ReaderUtil.subIndex(sd.doc, leaves);
      if (li != leafIndex) {
        leafIndex = li;
        leaf = leaves.get(li);
        values = leaf.reader().getFloatVectorValues(VECTOR);
        it = values == null ? null : values.iterator();
      }
      int local = sd.doc - leaf.docBase;
      if (it == null || it.advance(local) != local) {
        throw new IllegalStateException(
            "document " + sd.doc + " matched the vector query but has no vector in " + path);
      }
      out.add(new ScoredDoc(sd.doc, exactScore(query, values.vectorValue(it.index()))));
    }
    return out;
  }

  private float exactScore(float[] query, float[] vector) {
    return switch (spec.similarity()) {
      case COSINE, DOT_PRODUCT -> VectorUtil.dotProduct(query, vector);
      case EUCLIDEAN -> 1f / (1f + VectorUtil.squareDistance(query, vector));
    };
  }

  /** Maps a Lucene vector score back to the {@link Similarity} convention. */
  private float fromLuceneScore(float score) {
    return switch (spec.similarity()) {
      // Lucene DOT_PRODUCT scores unit vectors as (1 + dot) / 2.
      case COSINE -> 2f * score - 1f;
      // Lucene MAXIMUM_INNER_PRODUCT scores dot < 0 as 1 / (1 - dot), dot >= 0 as dot + 1.
      case DOT_PRODUCT -> score < 1f ? 1f - 1f / score : score - 1f;
      // Lucene EUCLIDEAN already scores 1 / (1 + d²).
      case EUCLIDEAN -> score;
    };
  }

  static VectorSimilarityFunction luceneSimilarity(Similarity similarity) {
    return switch (similarity) {
      case COSINE -> VectorSimilarityFunction.DOT_PRODUCT;
      case DOT_PRODUCT -> VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT;
      case EUCLIDEAN -> VectorSimilarityFunction.EUCLIDEAN;
    };
  }

  // -------------------------------------------------------------------------------- helpers

  @FunctionalInterface
  private interface SearcherCall<T> {
    T apply(IndexSearcher searcher) throws IOException;
  }

  /** Runs {@code call} on a searcher that sees every write completed before this call. */
  private <T> T withSearcher(SearcherCall<T> call) {
    ensureOpen();
    try {
      if (options.readYourWrites() && writer != null) {
        refreshThrough(writes.get());
      }
      IndexSearcher searcher = searchers.acquire();
      try {
        return call.apply(searcher);
      } finally {
        searchers.release(searcher);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the index at " + path, e);
    }
  }

  /** Refreshes the reader unless it already sees the first {@code target} completed writes. */
  private void refreshThrough(long target) throws IOException {
    if (refreshedThrough >= target) {
      return;
    }
    synchronized (refreshLock) {
      if (refreshedThrough < target) {
        // Every write counted in target returned before we read it, so this refresh sees it.
        searchers.maybeRefreshBlocking();
        refreshedThrough = target;
      }
    }
  }

  private Query filterQuery(Filter filter) {
    if (filter == null) {
      throw new IllegalArgumentException("filter must not be null (use Filter.ALL)");
    }
    filter.validate(fieldNames());
    return filter.matchesAll() ? null : LuceneQueries.toQuery(filter);
  }

  private static void checkText(String text) {
    if (text == null) {
      throw new IllegalArgumentException("query text must not be null");
    }
  }

  private ReentrantLock stripe(String id) {
    return stripes[Math.floorMod(id.hashCode(), LOCK_STRIPES)];
  }

  private void ensureWritable() {
    if (writer == null) {
      throw new UnsupportedOperationException("the index at " + path
          + " is open read-only here: another process holds its writer, and writes go through that process");
    }
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the index at " + path + " is closed");
    }
  }

  private Document toDocument(String id, float[] vector, Metadata m) {
    Document doc = new Document();
    doc.add(new StringField(ID, id, Field.Store.YES));
    if (vector != null) {
      doc.add(new KnnFloatVectorField(VECTOR, vector, luceneSimilarity));
    }
    doc.add(new StringField("type", m.type(), Field.Store.YES));
    doc.add(new StringField("path", checkTermLength("path", m.path()), Field.Store.YES));
    doc.add(new IntPoint("page", m.page()));
    doc.add(new StoredField("page", m.page()));
    doc.add(new LongPoint("timestamp", m.timestamp()));
    doc.add(new StoredField("timestamp", m.timestamp()));
    doc.add(new TextField(TEXT, m.text(), Field.Store.YES));
    for (var e : m.fields().entrySet()) {
      doc.add(
          new StringField(
              LuceneQueries.META_PREFIX + e.getKey(),
              checkTermLength(e.getKey(), e.getValue()),
              Field.Store.YES));
    }
    return doc;
  }

  private static String checkTermLength(String field, String value) {
    // Checked here rather than by Lucene so that a failing update never half-applies.
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_TERM_BYTES) {
      throw new IllegalArgumentException(
          "field '" + field + "' value of " + bytes + " UTF-8 bytes is longer than "
              + MAX_TERM_BYTES);
    }
    return value;
  }

  /**
   * The hits of {@code ranking}, their stored fields read through one {@link StoredFields}: each
   * instance decompresses into buffers of its own (tens of kilobytes per segment), so one per hit
   * made stored fields most of what a search allocated.
   */
  private List<SearchHit> toHits(IndexSearcher searcher, List<ScoredDoc> ranking) throws IOException {
    List<SearchHit> result = new ArrayList<>(ranking.size());
    StoredFields storedFields = searcher.storedFields();
    for (ScoredDoc h : ranking) {
      Document stored = storedFields.document(h.doc);
      result.add(new SearchHit(stored.get(ID), h.score, toMetadata(stored)));
    }
    return result;
  }

  private static Metadata toMetadata(Document stored) {
    Map<String, String> fields = new TreeMap<>();
    for (IndexableField f : stored.getFields()) {
      if (f.name().startsWith(LuceneQueries.META_PREFIX)) {
        fields.put(f.name().substring(LuceneQueries.META_PREFIX.length()), f.stringValue());
      }
    }
    return new Metadata(
        stored.get("type"),
        stored.get("path"),
        stored.getField("page").numericValue().intValue(),
        stored.getField("timestamp").numericValue().longValue(),
        stored.get(TEXT),
        fields);
  }

  /** Every live id in the writer's current view, read from the id terms. */
  private Set<String> loadIds() throws IOException {
    Set<String> loaded = ConcurrentHashMap.newKeySet();
    IndexSearcher searcher = searchers.acquire();
    try {
      for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
        LeafReader reader = leaf.reader();
        Terms terms = reader.terms(ID);
        if (terms == null) {
          continue;
        }
        Bits live = reader.getLiveDocs();
        TermsEnum te = terms.iterator();
        PostingsEnum postings = null;
        for (BytesRef term = te.next(); term != null; term = te.next()) {
          postings = te.postings(postings, PostingsEnum.NONE);
          for (int d = postings.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = postings.nextDoc()) {
            if (live == null || live.get(d)) {
              loaded.add(term.utf8ToString());
              break;
            }
          }
        }
      }
    } finally {
      searchers.release(searcher);
    }
    return loaded;
  }

  private static Map<String, String> specUserData(IndexSpec spec) {
    return Map.of(
        KEY_LAYOUT, LAYOUT_VERSION,
        KEY_DIMENSION, Integer.toString(spec.dimension()),
        KEY_SIMILARITY, spec.similarity().name());
  }

  private static void checkSpec(Path dir, Map<String, String> userData, IndexSpec wanted) {
    String layout = userData.get(KEY_LAYOUT);
    String dimension = userData.get(KEY_DIMENSION);
    String similarity = userData.get(KEY_SIMILARITY);
    if (layout == null || dimension == null || similarity == null) {
      throw new IllegalArgumentException(
          "the Lucene index at " + dir + " was not written by Loupe (its commit has no "
              + KEY_LAYOUT + ", " + KEY_DIMENSION + " or " + KEY_SIMILARITY
              + "); choose an empty directory");
    }
    if (!layout.equals(LAYOUT_VERSION)) {
      throw new IllegalArgumentException(
          "the index at " + dir + " has layout version " + layout + "; this Loupe reads version "
              + LAYOUT_VERSION + " only; rebuild the index");
    }
    IndexSpec stored;
    try {
      stored = new IndexSpec(Integer.parseInt(dimension), Similarity.valueOf(similarity));
    } catch (IllegalArgumentException e) { // also NumberFormatException
      throw new IllegalArgumentException(
          "the index at " + dir + " records an unreadable spec: dimension '" + dimension
              + "', similarity '" + similarity + "'", e);
    }
    if (!stored.equals(wanted)) {
      throw new IllegalArgumentException(
          "the index at " + dir + " was created with dimension " + stored.dimension()
              + " and similarity " + stored.similarity() + "; it cannot be opened with dimension "
              + wanted.dimension() + " and similarity " + wanted.similarity());
    }
  }

  private static ExecutorService newMergeExecutor(int workers) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(
        workers,
        r -> {
          Thread t = new Thread(r, "loupe-lucene-merge-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }
}
