package dev.loupe.vectorstore.jvector;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.durable.AtomicFile;
import dev.loupe.vectorstore.durable.DirectoryLock;
import dev.loupe.vectorstore.jvector.JVectorFile.Contents;
import dev.loupe.vectorstore.jvector.JVectorFile.Entry;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ListRandomAccessVectorValues;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.quantization.MutablePQVectors;
import io.github.jbellis.jvector.quantization.ProductQuantization;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.util.PhysicalCoreExecutor;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link VectorIndex} on a jvector graph (DiskANN/Vamana with an HNSW-style hierarchy), kept
 * beside the Lucene HNSW index for comparison behind the same contract.
 *
 * <h2>How it works</h2>
 *
 * <ul>
 *   <li>Items are added to a jvector {@link GraphIndexBuilder} as they come, each under a fresh
 *       int ordinal; string ids map to ordinals. A delete marks the node deleted in the graph
 *       (searches skip it at once) and, once enough deletes pile up, {@code removeDeletedNodes}
 *       repairs the graph around them. An update adds the new vector under a new ordinal, then
 *       deletes the old one. When dead ordinals outnumber live items the graph is rebuilt densely.
 *   <li>Similarity: cosine vectors are normalized by {@link IndexSpec#checkAndPrepare}, so they
 *       use jvector's {@code DOT_PRODUCT}; dot product and Euclidean map to their namesakes.
 *       jvector's scores ({@code (1 + dot) / 2}, {@code 1 / (1 + d²)}) only rank; every returned
 *       score is recomputed exactly from the stored vector in the {@link Similarity} convention.
 *       jvector's graph heuristics assume scores in [0, 1], so {@code DOT_PRODUCT} is meant for
 *       normalized embeddings, as in Lucene: unnormalized vectors still get exact scores (also
 *       below zero), but the graph finds their true top-k less reliably.
 *   <li>Once the index holds {@link Options#pqThreshold} items, a {@link ProductQuantization}
 *       is trained on them and every vector is encoded; searches then walk the graph with the
 *       approximate PQ scores and rerank the {@link Options#efSearch} best candidates exactly
 *       (jvector's two-phase search). The graph itself is always built with exact scores. PQ is
 *       trained once, when the threshold is crossed, and again whenever the graph is rebuilt.
 *   <li>Filters become a jvector {@link Bits} over ordinals, which also hides deleted items.
 *       When at most {@value #EXACT_SCAN_FACTOR} × {@code max(k, efSearch)} items match (all
 *       items, for an unfiltered search) they are scanned exactly instead: a graph walk
 *       restricted to so few nodes visits mostly rejected ones and loses recall, and for a small
 *       index the scan is as cheap as the walk.
 * </ul>
 *
 * <h2>Files and durability</h2>
 *
 * The directory holds {@code jvector.data} (see {@link JVectorFile}: spec, field names, ids,
 * metadata and vectors with magic, version and CRC32C) and {@code write.lock}. {@link #commit()}
 * rewrites the whole data file through a temp file, fsync, atomic rename and directory fsync, so
 * a crash leaves either the previous or the new commit. The graph and the PQ codes are
 * <em>not</em> persisted: {@link #open} rebuilds them from the stored vectors, which costs about
 * as much as adding every item again. Rewriting everything on each commit keeps the format
 * simple; it suits a comparison index, not a very large one committed very often.
 *
 * <h2>Thread safety</h2>
 *
 * Thread-safe. Searches run concurrently with each other and with writes (jvector's builder
 * allows searching during insertion). Writes are serialized among themselves, which keeps the
 * id-to-ordinal map simple at the cost of parallel inserts; training PQ and rebuilding the graph
 * happen under that writer lock, so they hold up writers but not searches. Repairing the graph
 * after deletes and swapping in a rebuilt graph briefly exclude searches.
 */
public final class JVectorIndex implements VectorIndex {
  private static final Logger LOG = LoggerFactory.getLogger(JVectorIndex.class);
  private static final VectorTypeSupport VTS =
      VectorizationProvider.getInstance().getVectorTypeSupport();

  /** Filters matching at most this many times the candidate count are scanned exactly. */
  static final int EXACT_SCAN_FACTOR = 4;
  /** Centroids per PQ subspace: one byte per subspace code. */
  private static final int PQ_CLUSTERS = 256;
  /** Deleted nodes are removed from the graph once they exceed this or a tenth of the items. */
  private static final int MIN_PENDING_DELETES = 64;
  /** The graph is rebuilt densely once dead ordinals exceed the live items and this. */
  private static final int MIN_DEAD_ORDINALS_FOR_REBUILD = 1024;

  /**
   * Graph and search parameters. Immutable.
   *
   * @param maxDegree most neighbours per node (jvector's {@code M})
   * @param beamWidth candidates considered while inserting a node
   * @param neighborOverflow how far a neighbour list may temporarily exceed {@code maxDegree}
   *     while inserting, at least 1
   * @param alpha diversity pruning; above 1 keeps longer edges (Vamana's alpha)
   * @param pqThreshold item count from which product quantization is used; at least 256 (the
   *     256 centroids per subspace need that many training vectors);
   *     {@link Integer#MAX_VALUE} turns PQ off
   * @param pqSubspaces PQ subspaces (one byte of code each); 0 picks {@code max(1, dimension /
   *     4)}, codes 16 times smaller than the float vectors; at most the dimension
   * @param efSearch candidates a search keeps and, with PQ, reranks exactly; raised to {@code
   *     k} when {@code k} is larger
   */
  public record Options(
      int maxDegree,
      int beamWidth,
      float neighborOverflow,
      float alpha,
      int pqThreshold,
      int pqSubspaces,
      int efSearch) {

    public Options {
      if (maxDegree < 2 || maxDegree > 512) {
        throw new IllegalArgumentException("maxDegree " + maxDegree + " is outside [2, 512]");
      }
      if (beamWidth < 1 || beamWidth > MAX_K) {
        throw new IllegalArgumentException(
            "beamWidth " + beamWidth + " is outside [1, " + MAX_K + "]");
      }
      if (!(neighborOverflow >= 1f && neighborOverflow <= 16f)) {
        throw new IllegalArgumentException(
            "neighborOverflow " + neighborOverflow + " is outside [1, 16]");
      }
      if (!(alpha > 0f && alpha <= 16f)) {
        throw new IllegalArgumentException("alpha " + alpha + " is outside (0, 16]");
      }
      if (pqThreshold < PQ_CLUSTERS) {
        throw new IllegalArgumentException(
            "pqThreshold "
                + pqThreshold
                + " is below "
                + PQ_CLUSTERS
                + ", the training vectors product quantization needs");
      }
      if (pqSubspaces < 0 || pqSubspaces > IndexSpec.MAX_DIMENSION) {
        throw new IllegalArgumentException(
            "pqSubspaces "
                + pqSubspaces
                + " is outside [0, "
                + IndexSpec.MAX_DIMENSION
                + "] (0 picks dimension / 4)");
      }
      if (efSearch < 1 || efSearch > MAX_K) {
        throw new IllegalArgumentException(
            "efSearch " + efSearch + " is outside [1, " + MAX_K + "]");
      }
    }

    /** Degree 32, beam 100, overflow 1.2, alpha 1.2, PQ from 100 000 items, efSearch 100. */
    public static Options defaults() {
      return new Options(32, 100, 1.2f, 1.2f, 100_000, 0, 100);
    }

    /** These options with another {@link #pqThreshold}. */
    public Options withPqThreshold(int threshold) {
      return new Options(
          maxDegree, beamWidth, neighborOverflow, alpha, threshold, pqSubspaces, efSearch);
    }

    /** These options with another {@link #efSearch}. */
    public Options withEfSearch(int ef) {
      return new Options(
          maxDegree, beamWidth, neighborOverflow, alpha, pqThreshold, pqSubspaces, ef);
    }

    /** The PQ subspace count for {@code dimension}. */
    int subspacesFor(int dimension) {
      return pqSubspaces == 0 ? Math.max(1, dimension / 4) : pqSubspaces;
    }
  }

  private final Path dir;
  private final IndexSpec spec;
  private final Options options;
  private final VectorSimilarityFunction similarityFunction;
  private final DirectoryLock lock;

  /** Serializes writes, graph maintenance and commit snapshots. */
  private final ReentrantLock writeLock = new ReentrantLock();
  /** Searches share it; removing deleted nodes and swapping graphs take it exclusively. */
  private final ReentrantReadWriteLock graphLock = new ReentrantReadWriteLock();
  /** Serializes commits so an older snapshot never replaces a newer one on disk. */
  private final ReentrantLock commitLock = new ReentrantLock();

  private final Set<String> fieldNames = ConcurrentHashMap.newKeySet();
  private volatile Graph graph;
  private volatile boolean closed;
  /** Write count; guarded by writeLock. */
  private long generation;
  /** Generation on disk, or -1 when the directory has no data file; guarded by commitLock. */
  private long committedGeneration;

  private JVectorIndex(
      Path dir,
      IndexSpec spec,
      Options options,
      DirectoryLock lock,
      Contents contents) {
    this.dir = dir;
    this.spec = spec;
    this.options = options;
    this.lock = lock;
    this.similarityFunction =
        switch (spec.similarity()) {
          case COSINE, DOT_PRODUCT -> VectorSimilarityFunction.DOT_PRODUCT;
          case EUCLIDEAN -> VectorSimilarityFunction.EUCLIDEAN;
        };
    List<Entry> entries = contents == null ? List.of() : contents.entries();
    if (contents != null) {
      fieldNames.addAll(contents.fieldNames());
    }
    this.committedGeneration = contents == null ? -1 : 0;
    this.graph = build(entries);
  }

  /**
   * Opens the index in {@code dir}, creating it when the directory holds none, and rebuilds the
   * graph from the stored vectors.
   *
   * @throws IllegalArgumentException if the stored index has another dimension or similarity
   * @throws IOException if the directory is already open (by this or another process) or the
   *     data file is corrupt; the message names the directory or file
   */
  public static JVectorIndex open(Path dir, IndexSpec spec, Options options) throws IOException {
    if (dir == null || spec == null || options == null) {
      throw new IllegalArgumentException(
          "dir " + dir + ", spec " + spec + " and options " + options + " must not be null");
    }
    if (options.subspacesFor(spec.dimension()) > spec.dimension()) {
      throw new IllegalArgumentException(
          "pqSubspaces "
              + options.pqSubspaces()
              + " exceeds the index dimension "
              + spec.dimension());
    }
    DirectoryLock lock = DirectoryLock.acquire(dir);
    boolean opened = false;
    try {
      int leftovers = AtomicFile.deleteLeftovers(dir);
      if (leftovers > 0) {
        LOG.info("Deleted {} temporary file(s) left in {} by an interrupted commit", leftovers, dir);
      }
      Path file = JVectorFile.path(dir);
      Contents contents = Files.exists(file) ? JVectorFile.read(file) : null;
      if (contents != null && !contents.spec().equals(spec)) {
        throw new IllegalArgumentException(
            "jvector index in "
                + dir
                + " has dimension "
                + contents.spec().dimension()
                + " and similarity "
                + contents.spec().similarity()
                + ", but was opened with dimension "
                + spec.dimension()
                + " and similarity "
                + spec.similarity());
      }
      JVectorIndex index = new JVectorIndex(dir, spec, options, lock, contents);
      opened = true;
      return index;
    } finally {
      if (!opened) {
        lock.close();
      }
    }
  }

  /** Opens with {@link Options#defaults()}. */
  public static JVectorIndex open(Path dir, IndexSpec spec) throws IOException {
    return open(dir, spec, Options.defaults());
  }

  @Override
  public IndexSpec spec() {
    return spec;
  }

  /** The options this index was opened with. */
  public Options options() {
    return options;
  }

  /** True once product quantization is trained and searches use it. */
  public boolean usesProductQuantization() {
    return graph.pq != null;
  }

  // ---- writes ----------------------------------------------------------------------------------

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    float[] prepared = spec.checkAndPrepare(vector, "vector");
    VectorIndex.checkMetadata(metadata);
    writeLock.lock();
    try {
      ensureOpen();
      Graph g = graph;
      if (g.ords.containsKey(id)) {
        throw new IllegalArgumentException(
            "id '" + id + "' is already present; use update to replace it");
      }
      g.ords.put(id, g.insert(id, VTS.createFloatVector(prepared), metadata));
      fieldNames.addAll(metadata.fields().keySet());
      generation++;
      maybeTrainPq(g);
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    float[] prepared = spec.checkAndPrepare(vector, "vector");
    VectorIndex.checkMetadata(metadata);
    writeLock.lock();
    try {
      ensureOpen();
      Graph g = graph;
      Integer old = g.ords.get(id);
      if (old == null) {
        throw new IllegalArgumentException("id '" + id + "' is not present; use add to add it");
      }
      // New node first, then retire the old one, so get() never misses the id; a search racing
      // with this may see both nodes, which search() collapses by id.
      g.ords.put(id, g.insert(id, VTS.createFloatVector(prepared), metadata));
      g.retire(old);
      fieldNames.addAll(metadata.fields().keySet());
      generation++;
      maintain(g);
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public boolean delete(String id) {
    VectorIndex.checkId(id);
    writeLock.lock();
    try {
      ensureOpen();
      Graph g = graph;
      Integer ord = g.ords.remove(id);
      if (ord == null) {
        return false;
      }
      g.retire(ord);
      generation++;
      maintain(g);
      return true;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Repairs the graph once enough nodes are marked deleted, and rebuilds it densely once dead
   * ordinals outnumber live items. Called with writeLock held.
   */
  private void maintain(Graph g) {
    int live = g.ords.size();
    int dead = g.nextOrd - live;
    if (live == 0 || dead > Math.max(MIN_DEAD_ORDINALS_FOR_REBUILD, live)) {
      // Build beside the serving graph; searches keep using the old one until the swap.
      Graph rebuilt = build(g.liveEntries());
      graphLock.writeLock().lock();
      try {
        graph = rebuilt;
      } finally {
        graphLock.writeLock().unlock();
      }
      g.close();
      return;
    }
    if (g.pendingDeletes.size() >= Math.max(MIN_PENDING_DELETES, live / 10)) {
      // jvector's removeDeletedNodes is not safe beside searches or inserts.
      graphLock.writeLock().lock();
      try {
        g.removeDeletedNodes();
      } finally {
        graphLock.writeLock().unlock();
      }
    }
  }

  private void maybeTrainPq(Graph g) {
    if (g.pq == null && g.ords.size() >= options.pqThreshold()) {
      g.trainPq();
    }
  }

  // ---- reads -----------------------------------------------------------------------------------

  @Override
  public Optional<Metadata> get(String id) {
    VectorIndex.checkId(id);
    ensureOpen();
    Graph g = graph;
    Integer ord = g.ords.get(id);
    Item item = ord == null ? null : g.item(ord);
    return item != null && item.id().equals(id)
        ? Optional.of(item.metadata())
        : Optional.empty();
  }

  /**
   * {@inheritDoc}
   *
   * <p>The index keeps every full-precision vector beside its product-quantization codes (reranking
   * and rebuilds need them), so this is always the exact stored vector.
   */
  @Override
  public Optional<float[]> vector(String id) {
    VectorIndex.checkId(id);
    // The read lock keeps removeDeletedNodes from freeing the vector and a rebuild from swapping
    // the graph between the lookup and the copy.
    graphLock.readLock().lock();
    try {
      ensureOpen();
      Graph g = graph;
      for (Integer ord = g.ords.get(id); ord != null; ) {
        Item item = g.item(ord);
        if (item != null && item.id().equals(id)) {
          // place() stores the vector before it publishes the item, so a live item has one.
          VectorFloat<?> v = g.vectors.getVector(ord);
          float[] copy = new float[v.length()];
          for (int i = 0; i < copy.length; i++) {
            copy[i] = v.get(i);
          }
          return Optional.of(copy);
        }
        // An update retired the ordinal after we looked it up; the map already names the new one.
        Integer next = g.ords.get(id);
        ord = ord.equals(next) ? null : next;
      }
      return Optional.empty();
    } finally {
      graphLock.readLock().unlock();
    }
  }

  @Override
  public int size() {
    ensureOpen();
    return graph.ords.size();
  }

  @Override
  public Set<String> fieldNames() {
    return Collections.unmodifiableSet(new TreeSet<>(fieldNames));
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    VectorIndex.checkK(k);
    float[] q = spec.checkAndPrepare(query, "query");
    if (filter == null) {
      throw new IllegalArgumentException("filter must not be null (use Filter.ALL)");
    }
    filter.validate(fieldNames);
    graphLock.readLock().lock();
    try {
      ensureOpen();
      return graph.search(q, k, filter);
    } finally {
      graphLock.readLock().unlock();
    }
  }

  @Override
  public long ramBytesUsed() {
    graphLock.readLock().lock();
    try {
      return graph.ramBytesUsed();
    } finally {
      graphLock.readLock().unlock();
    }
  }

  // ---- durability ------------------------------------------------------------------------------

  @Override
  public void commit() throws IOException {
    commitLock.lock();
    try {
      Contents snapshot;
      long snapshotGeneration;
      writeLock.lock();
      try {
        ensureOpen();
        if (generation == committedGeneration) {
          return;
        }
        snapshot = new Contents(spec, List.copyOf(new TreeSet<>(fieldNames)), graph.liveEntries());
        snapshotGeneration = generation;
      } finally {
        writeLock.unlock();
      }
      // Entries are immutable, so the file is written without blocking writers.
      JVectorFile.write(dir, snapshot);
      committedGeneration = snapshotGeneration;
    } finally {
      commitLock.unlock();
    }
  }

  @Override
  public void close() throws IOException {
    commitLock.lock();
    try {
      if (closed) {
        return;
      }
      try {
        commit();
      } finally {
        writeLock.lock();
        graphLock.writeLock().lock();
        try {
          closed = true;
          graph.close();
        } finally {
          graphLock.writeLock().unlock();
          writeLock.unlock();
          lock.close();
        }
      }
    } finally {
      commitLock.unlock();
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("jvector index in " + dir + " is closed");
    }
  }

  @Override
  public String toString() {
    Graph g = graph;
    return "JVectorIndex[" + dir + ", " + spec + ", " + g.ords.size() + " items"
        + (g.pq != null ? ", PQ" : "") + "]";
  }

  // ---- the graph -------------------------------------------------------------------------------

  /** Builds a graph over {@code entries}, inserting in parallel, and trains PQ if due. */
  private Graph build(List<Entry> entries) {
    Graph g = new Graph();
    int n = entries.size();
    for (Entry e : entries) {
      g.ords.put(e.id(), g.place(e.id(), e.vector(), e.metadata()));
    }
    if (n > 0) {
      ForkJoinPool pool = PhysicalCoreExecutor.pool();
      pool.submit(
              () ->
                  IntStream.range(0, n)
                      .parallel()
                      .forEach(ord -> g.builder.addGraphNode(ord, g.vectors.getVector(ord))))
          .join();
      LOG.debug("Built jvector graph of {} nodes in {}", n, dir);
    }
    maybeTrainPq(g);
    return g;
  }

  /** The payload of one ordinal. */
  private record Item(String id, Metadata metadata) {}

  /** A candidate during search, with its exact score. */
  private record Scored(Item item, float score) {}

  /**
   * One generation of the graph: ordinals, vectors, items and the jvector builder. Replaced as a
   * whole when the index rebuilds densely. Writers mutate it under writeLock; searches read it.
   */
  private final class Graph {
    final ConcurrentHashMap<String, Integer> ords = new ConcurrentHashMap<>();
    final OrdinalVectors vectors = new OrdinalVectors(spec.dimension());
    final GraphIndexBuilder builder;
    /** By ordinal; null once deleted. Grown by copy and republished through the volatile. */
    volatile Item[] items = new Item[64];
    /** One past the highest ordinal handed out; written after the ordinal's slots are filled. */
    volatile int nextOrd;
    /** Ordinals marked deleted in the graph but not yet removed from it; writer only. */
    final List<Integer> pendingDeletes = new ArrayList<>();
    volatile MutablePQVectors pq;

    Graph() {
      BuildScoreProvider scores =
          BuildScoreProvider.randomAccessScoreProvider(vectors, similarityFunction);
      this.builder =
          new GraphIndexBuilder(
              scores,
              spec.dimension(),
              options.maxDegree(),
              options.beamWidth(),
              options.neighborOverflow(),
              options.alpha(),
              true);
    }

    Item item(int ord) {
      Item[] a = items;
      return ord < a.length ? a[ord] : null;
    }

    /** Stores a new ordinal's vector and item without linking it into the graph. */
    int place(String id, VectorFloat<?> vector, Metadata metadata) {
      int ord = nextOrd;
      vectors.set(ord, vector);
      Item[] a = items;
      if (ord >= a.length) {
        a = Arrays.copyOf(a, Math.max(ord + 1, a.length * 2));
      }
      a[ord] = new Item(id, metadata);
      items = a;
      MutablePQVectors codes = pq;
      if (codes != null) {
        codes.encodeAndSet(ord, vector);
      }
      nextOrd = ord + 1;
      return ord;
    }

    /** Stores and links a new node; returns its ordinal. */
    int insert(String id, VectorFloat<?> vector, Metadata metadata) {
      int ord = place(id, vector, metadata);
      builder.addGraphNode(ord, vector);
      return ord;
    }

    /** Hides an ordinal from searches and marks it deleted in the graph. */
    void retire(int ord) {
      Item[] a = items;
      a[ord] = null;
      items = a; // republish so searches on other threads see the cleared slot
      builder.markNodeDeleted(ord);
      pendingDeletes.add(ord);
    }

    /** Removes nodes marked deleted and frees their vectors; callers exclude searches. */
    void removeDeletedNodes() {
      builder.removeDeletedNodes();
      for (int ord : pendingDeletes) {
        vectors.set(ord, null);
      }
      pendingDeletes.clear();
    }

    void trainPq() {
      List<VectorFloat<?>> training = new ArrayList<>(ords.size());
      int upper = nextOrd;
      for (int ord = 0; ord < upper; ord++) {
        if (item(ord) != null) {
          training.add(vectors.getVector(ord));
        }
      }
      int subspaces = options.subspacesFor(spec.dimension());
      // Centering helps Euclidean; for inner products jvector's guidance is not to center.
      boolean center = spec.similarity() == Similarity.EUCLIDEAN;
      ProductQuantization quantization =
          ProductQuantization.compute(
              new ListRandomAccessVectorValues(training, spec.dimension()),
              subspaces,
              PQ_CLUSTERS,
              center);
      MutablePQVectors codes = new MutablePQVectors(quantization);
      // Deleted nodes still in the graph are walked through, so they need codes too.
      for (int ord = 0; ord < upper; ord++) {
        VectorFloat<?> v = vectors.getVector(ord);
        if (v != null) {
          codes.encodeAndSet(ord, v);
        }
      }
      pq = codes;
      LOG.info(
          "jvector index in {}: product quantization trained on {} vectors, {} subspaces",
          dir,
          training.size(),
          subspaces);
    }

    /** Live items in ordinal order. */
    List<Entry> liveEntries() {
      List<Entry> entries = new ArrayList<>(ords.size());
      int upper = nextOrd;
      for (int ord = 0; ord < upper; ord++) {
        Item item = item(ord);
        if (item != null) {
          entries.add(new Entry(item.id(), vectors.getVector(ord), item.metadata()));
        }
      }
      return entries;
    }

    List<SearchHit> search(float[] q, int k, Filter filter) {
      int upper = nextOrd;
      int rerankK = Math.max(k, options.efSearch());
      Bits accept;
      int matches;
      if (filter.matchesAll()) {
        accept = ord -> item(ord) != null;
        matches = ords.size();
      } else {
        BitSet bits = new BitSet(upper);
        for (int ord = 0; ord < upper; ord++) {
          Item item = item(ord);
          if (item != null && filter.test(item.metadata())) {
            bits.set(ord);
          }
        }
        accept = ord -> ord < upper && bits.get(ord);
        matches = bits.cardinality();
      }
      if (matches == 0) {
        return List.of();
      }
      List<Scored> candidates =
          matches <= EXACT_SCAN_FACTOR * rerankK
              ? exactScan(q, k, upper, accept)
              : graphSearch(q, rerankK, accept);
      return best(candidates, k);
    }

    private List<Scored> exactScan(float[] q, int k, int upper, Bits accept) {
      PriorityQueue<Scored> top = new PriorityQueue<>(Comparator.comparingDouble(Scored::score));
      for (int ord = 0; ord < upper; ord++) {
        Item item = item(ord);
        if (item != null && accept.get(ord)) {
          top.add(new Scored(item, exactScore(q, vectors.getVector(ord))));
          if (top.size() > k) {
            top.poll();
          }
        }
      }
      return new ArrayList<>(top);
    }

    private List<Scored> graphSearch(float[] q, int rerankK, Bits accept) {
      VectorFloat<?> query = VTS.createFloatVector(q);
      MutablePQVectors codes = pq;
      SearchScoreProvider scores =
          codes == null
              ? DefaultSearchScoreProvider.exact(query, similarityFunction, vectors)
              : new DefaultSearchScoreProvider(
                  codes.precomputedScoreFunctionFor(query, similarityFunction),
                  vectors.rerankerFor(query, similarityFunction));
      SearchResult result;
      try (GraphSearcher searcher = new GraphSearcher(builder.getGraph())) {
        // Thresholds of -inf: jvector's dot-product scores go below 0 for unnormalized vectors.
        result =
            searcher.search(
                scores, rerankK, rerankK, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, accept);
      } catch (IOException e) {
        throw new UncheckedIOException("closing an on-heap jvector searcher failed", e);
      }
      List<Scored> candidates = new ArrayList<>(result.getNodes().length);
      for (SearchResult.NodeScore node : result.getNodes()) {
        Item item = item(node.node);
        if (item != null) {
          candidates.add(new Scored(item, exactScore(q, vectors.getVector(node.node))));
        }
      }
      return candidates;
    }

    /** Best first, one hit per id (an update racing with the search may show two nodes). */
    private List<SearchHit> best(List<Scored> candidates, int k) {
      candidates.sort(Comparator.comparingDouble(Scored::score).reversed());
      Set<String> seen = new HashSet<>();
      List<SearchHit> hits = new ArrayList<>(Math.min(k, candidates.size()));
      for (Scored s : candidates) {
        if (hits.size() == k) {
          break;
        }
        if (seen.add(s.item().id())) {
          hits.add(new SearchHit(s.item().id(), s.score(), s.item().metadata()));
        }
      }
      return hits;
    }

    /** The {@link Similarity} score of a prepared query and a stored vector, in double. */
    private float exactScore(float[] q, VectorFloat<?> v) {
      double dot = 0, d2 = 0;
      for (int j = 0; j < q.length; j++) {
        double a = q[j], b = v.get(j);
        dot += a * b;
        double diff = a - b;
        d2 += diff * diff;
      }
      return switch (spec.similarity()) {
        case COSINE, DOT_PRODUCT -> (float) dot;
        case EUCLIDEAN -> (float) (1.0 / (1.0 + d2));
      };
    }

    long ramBytesUsed() {
      MutablePQVectors codes = pq;
      return vectors.ramBytesUsed()
          + builder.ramBytesUsed()
          + (codes == null ? 0 : codes.ramBytesUsed())
          + (long) items.length * Integer.BYTES * 2;
    }

    void close() {
      try {
        builder.close();
      } catch (IOException e) {
        throw new UncheckedIOException("closing the jvector graph builder failed", e);
      }
    }
  }

  /**
   * Vectors by ordinal for jvector. One writer sets slots (under writeLock) before the ordinal is
   * linked into the graph or published through {@code nextOrd}; readers only ask for ordinals
   * they learned from one of those, so they see the vector.
   */
  private static final class OrdinalVectors implements RandomAccessVectorValues {
    private final int dimension;
    private volatile VectorFloat<?>[] slots = new VectorFloat<?>[64];
    private volatile int size;
    private volatile long bytes;

    OrdinalVectors(int dimension) {
      this.dimension = dimension;
    }

    void set(int ord, VectorFloat<?> vector) {
      VectorFloat<?>[] a = slots;
      if (ord >= a.length) {
        a = Arrays.copyOf(a, Math.max(ord + 1, a.length * 2));
      }
      VectorFloat<?> old = a[ord];
      a[ord] = vector;
      bytes += (vector == null ? 0 : vector.ramBytesUsed())
          - (old == null ? 0 : old.ramBytesUsed());
      slots = a;
      size = Math.max(size, ord + 1);
    }

    long ramBytesUsed() {
      return bytes + (long) slots.length * Integer.BYTES;
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public int dimension() {
      return dimension;
    }

    @Override
    public VectorFloat<?> getVector(int ord) {
      VectorFloat<?>[] a = slots;
      return ord < a.length ? a[ord] : null;
    }

    @Override
    public boolean isValueShared() {
      return false;
    }

    @Override
    public RandomAccessVectorValues copy() {
      return this;
    }
  }
}
