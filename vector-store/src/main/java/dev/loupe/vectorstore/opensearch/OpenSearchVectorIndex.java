package dev.loupe.vectorstore.opensearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link HybridIndex} kept in one OpenSearch index (one per embedding space), for libraries
 * larger than one machine: the same contract as the embedded Lucene index, with the vectors,
 * metadata and text on a cluster.
 *
 * <h2>Index layout</h2>
 *
 * Each item is one document whose {@code _id} is the item's id: {@code vector} ({@code
 * knn_vector}, HNSW on the <em>Lucene</em> engine always; the k-NN plugin on Maven Central has no
 * native faiss library, and a faiss mapping takes the node down), {@code type} and {@code path}
 * (keyword), {@code page} (integer), {@code timestamp} (long), {@code text} (text, the standard
 * analyzer, BM25) and each free metadata field as keyword {@code meta.<key>}. The mapping's
 * {@code _meta.loupe} records the layout version, dimension and similarity; {@link #open} creates
 * the index when it is missing and otherwise checks both that record and the vector field's
 * dimension, engine and space type, refusing a mismatch with a message naming both sides.
 * {@link Similarity#COSINE} vectors are normalized on the way in and stored as {@code
 * innerproduct}, like {@link Similarity#DOT_PRODUCT}; {@link Similarity#EUCLIDEAN} is {@code l2}.
 * Scores are mapped back to the {@link Similarity} convention.
 *
 * <h2>Writes, visibility and durability</h2>
 *
 * Writes are buffered in this instance and sent as {@code _bulk} requests of {@link
 * Options#bulkActions()} operations (index by id for add and update, delete by id), which are
 * idempotent, so a bulk is retried whole after a connection failure and its failed items are
 * retried after a 429 or an unavailable shard, with backoff (see {@link OpenSearchConnection}).
 * With {@link Options#readYourWrites()} every read first sends the buffer and, for searches,
 * refreshes the index when writes went out since the last refresh, so a write is visible once its
 * call returns, as the contract says; without it (a server ingesting while it searches) reads see
 * the state as of the last {@link #commit()}.
 *
 * <p>{@link #commit()} sends the buffer, waits until OpenSearch has acknowledged every operation
 * in it, then refreshes the index. OpenSearch acknowledges a bulk item once the primary shard and
 * every in-sync replica have written it to their translog and fsynced it ({@code
 * index.translog.durability: request}, set on the indexes Loupe creates). So an acknowledged write
 * survives {@code kill -9} of this process, and of any one node when the index has a replica; a
 * whole-cluster crash replays the translog. A commit is <em>not</em> a Lucene commit ({@code
 * _flush}); OpenSearch flushes on its own. Writes still in the buffer when this process dies are
 * lost, as uncommitted writes are in the embedded index.
 *
 * <h2>Ids and concurrency</h2>
 *
 * Presence of ids is tracked in a set loaded from the index at open (so {@link #add} can refuse
 * a duplicate without a round trip), which makes one Loupe process the only writer of an index;
 * any number of processes may search it. {@link #size()} is that set's size. Writes are serialized
 * by one lock (they only append to the buffer, and the buffer is sent under it); searches run
 * concurrently. Thread-safe. The index owns its connection only when opened with {@link
 * #open(OpenSearchConnection.Config, String, IndexSpec, Options)}.
 */
public final class OpenSearchVectorIndex implements HybridIndex {
  private static final Logger log = LoggerFactory.getLogger(OpenSearchVectorIndex.class);

  /** Version of the layout above; stored in the mapping's {@code _meta.loupe.layout}. */
  static final String LAYOUT_VERSION = "1";

  static final String VECTOR = "vector";
  static final String TEXT = "text";
  static final String META = "meta";

  /** Largest keyword OpenSearch (Lucene) indexes, in UTF-8 bytes. */
  private static final int MAX_TERM_BYTES = 32_766;

  /** OpenSearch index names: lower case, no spaces or {@code \/*?"<>|,#:}, not starting with -_+. */
  private static final Pattern INDEX_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,254}");

  /** Bulk item errors worth sending again: the cluster is busy or a shard is moving. */
  private static final Set<String> RETRYABLE_ERRORS =
      Set.of(
          "es_rejected_execution_exception", "opensearch_rejected_execution_exception",
          "unavailable_shards_exception", "no_shard_available_action_exception",
          "node_disconnected_exception", "node_not_connected_exception", "node_closed_exception",
          "connect_transport_exception", "shard_not_in_primary_mode_exception",
          "primary_missing_action_exception", "cluster_block_exception",
          "retry_on_primary_exception", "replication_failed_exception",
          "not_cluster_manager_exception", "process_cluster_event_timeout_exception",
          "circuit_breaking_exception");

  /**
   * How the index is created and written.
   *
   * @param shards primary shards of a new index, in [1, 1024]
   * @param replicas copies of each shard on other nodes, in [0, 16]; 1 or more for an index that
   *     survives losing a node
   * @param m HNSW neighbours per node, in [2, 100] (the k-NN plugin's limits)
   * @param efConstruction HNSW candidates while inserting, in [2, 4096]
   * @param efSearch candidates a vector search collects before keeping the top k (at least k), in
   *     [1, {@link VectorIndex#MAX_K}]
   * @param bulkActions operations per {@code _bulk} request, in [1, 100000]
   * @param readYourWrites true: reads send buffered writes first and searches refresh (the
   *     contract's visibility); false: reads see the last {@link #commit()}
   */
  public record Options(
      int shards, int replicas, int m, int efConstruction, int efSearch, int bulkActions, boolean readYourWrites) {
    public Options {
      check("shards", shards, 1, 1024);
      check("replicas", replicas, 0, 16);
      check("m", m, 2, 100);
      check("efConstruction", efConstruction, 2, 4096);
      check("efSearch", efSearch, 1, VectorIndex.MAX_K);
      check("bulkActions", bulkActions, 1, 100_000);
    }

    private static void check(String name, int value, int min, int max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(name + " " + value + " is outside [" + min + ", " + max + "]");
      }
    }

    /**
     * One shard with one replica, M=32 and ef_construction 200 (the embedded index's defaults),
     * efSearch 100, bulks of 500, reads that see their writes.
     */
    public static Options defaults() {
      return new Options(1, 1, 32, 200, 100, 500, true);
    }

    public Options withShards(int s) {
      return new Options(s, replicas, m, efConstruction, efSearch, bulkActions, readYourWrites);
    }

    public Options withReplicas(int r) {
      return new Options(shards, r, m, efConstruction, efSearch, bulkActions, readYourWrites);
    }

    public Options withHnsw(int newM, int newEfConstruction) {
      return new Options(shards, replicas, newM, newEfConstruction, efSearch, bulkActions, readYourWrites);
    }

    public Options withEfSearch(int ef) {
      return new Options(shards, replicas, m, efConstruction, ef, bulkActions, readYourWrites);
    }

    public Options withBulkActions(int n) {
      return new Options(shards, replicas, m, efConstruction, efSearch, n, readYourWrites);
    }

    public Options withReadYourWrites(boolean read) {
      return new Options(shards, replicas, m, efConstruction, efSearch, bulkActions, read);
    }
  }

  private final OpenSearchConnection connection;
  private final boolean ownsConnection;
  private final String name;
  private final IndexSpec spec;
  private final Options options;

  /** Ids present, including buffered writes. */
  private final Set<String> ids;

  /** Free metadata keys: those in the mapping at open and those written since. */
  private final Set<String> fieldKeys = ConcurrentHashMap.newKeySet();

  /** Guards the buffer, the bulk being sent and {@link #ids} changes. */
  private final Object writeLock = new Object();

  /** Pending operations: one or two NDJSON lines each, with the id they touch. */
  private final List<PendingOp> pending = new ArrayList<>();

  private long pendingBytes;

  /** Bulks acknowledged so far, and how many of them the last completed refresh covers. */
  private final AtomicLong sentBulks = new AtomicLong();

  private volatile long refreshedThrough;
  private final Object refreshLock = new Object();

  private final AtomicBoolean closed = new AtomicBoolean();

  private record PendingOp(String id, String lines) {}

  private OpenSearchVectorIndex(
      OpenSearchConnection connection, boolean ownsConnection, String name, IndexSpec spec, Options options, Set<String> ids) {
    this.connection = connection;
    this.ownsConnection = ownsConnection;
    this.name = name;
    this.spec = spec;
    this.options = options;
    this.ids = ids;
  }

  /**
   * Opens index {@code name} on the cluster, creating it with {@code options}' shards, replicas
   * and HNSW parameters if it does not exist; the connection stays the caller's.
   *
   * @throws IllegalArgumentException if the name is not a valid index name, or the index exists
   *     with another dimension or similarity, or was not created by Loupe
   * @throws IOException if the cluster cannot be reached or refuses the index
   */
  public static OpenSearchVectorIndex open(
      OpenSearchConnection connection, String name, IndexSpec spec, Options options) throws IOException {
    return open(connection, false, name, spec, options);
  }

  /** Like {@link #open(OpenSearchConnection, String, IndexSpec, Options)} over a connection of its own, closed with the index. */
  public static OpenSearchVectorIndex open(
      OpenSearchConnection.Config config, String name, IndexSpec spec, Options options) throws IOException {
    OpenSearchConnection connection = OpenSearchConnection.open(config);
    try {
      return open(connection, true, name, spec, options);
    } catch (IOException | RuntimeException e) {
      connection.close();
      throw e;
    }
  }

  private static OpenSearchVectorIndex open(
      OpenSearchConnection connection, boolean owns, String name, IndexSpec spec, Options options) throws IOException {
    if (connection == null) {
      throw new IllegalArgumentException("connection must not be null");
    }
    checkIndexName(name);
    if (spec == null) {
      throw new IllegalArgumentException("index spec must not be null");
    }
    if (options == null) {
      throw new IllegalArgumentException("options must not be null");
    }
    OpenSearchConnection.Reply mapping = connection.send("GET", "/" + name + "/_mapping", Map.of(), null);
    if (mapping.status() == 404) {
      OpenSearchConnection.Reply created = connection.send("PUT", "/" + name, Map.of(), createBody(spec, options).toString());
      boolean raced = created.status() == 400 && created.error().startsWith("resource_already_exists_exception");
      if (!created.ok() && !raced) {
        throw new IOException("cannot create OpenSearch index '" + name + "': " + created.status() + " " + created.error());
      }
      if (!raced) {
        log.info("created OpenSearch index {} ({}, {} shard(s), {} replica(s))", name, spec, options.shards(), options.replicas());
      }
      mapping = connection.send("GET", "/" + name + "/_mapping", Map.of(), null);
    }
    if (!mapping.ok()) {
      throw new IOException("cannot read the mapping of OpenSearch index '" + name + "': " + mapping.status() + " " + mapping.error());
    }
    JsonNode mappings = mapping.body().path(name).path("mappings");
    checkMapping(name, mappings, spec);
    // Wait until the index can take writes (a new index allocates its primaries).
    OpenSearchConnection.Reply health = connection.send("GET", "/_cluster/health/" + name,
        Map.of("wait_for_status", "yellow", "timeout", "60s"), null);
    if (!health.ok() || health.body().path("timed_out").asBoolean(false)) {
      throw new IOException("OpenSearch index '" + name + "' has no active primary shards after 60 s: " + health.body());
    }
    OpenSearchVectorIndex index = new OpenSearchVectorIndex(connection, owns, name, spec, options, loadIds(connection, name));
    collectKeys(mappings.path("properties").path(META).path("properties"), "", index.fieldKeys);
    return index;
  }

  /** The OpenSearch index this instance writes. */
  public String name() {
    return name;
  }

  /** The options this instance was opened with. */
  public Options options() {
    return options;
  }

  @Override
  public IndexSpec spec() {
    return spec;
  }

  // ---------------------------------------------------------------------------------- writes

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    float[] v = spec.checkAndPrepare(vector, "vector");
    write(id, document(v, VectorIndex.checkMetadata(metadata)), Mode.ADD);
  }

  @Override
  public void addKeywordOnly(String id, Metadata metadata) {
    VectorIndex.checkId(id);
    write(id, document(null, VectorIndex.checkMetadata(metadata)), Mode.ADD);
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    float[] v = spec.checkAndPrepare(vector, "vector");
    write(id, document(v, VectorIndex.checkMetadata(metadata)), Mode.UPDATE);
  }

  private enum Mode { ADD, UPDATE }

  private void write(String id, ObjectNode doc, Mode mode) {
    String lines = action("index", id) + "\n" + doc + "\n";
    Set<String> keys = new TreeSet<>();
    doc.path(META).fieldNames().forEachRemaining(keys::add);
    synchronized (writeLock) {
      ensureOpen();
      switch (mode) {
        case ADD -> {
          if (ids.contains(id)) {
            throw new IllegalArgumentException("id '" + id + "' is already present; use update to replace it");
          }
        }
        case UPDATE -> {
          if (!ids.contains(id)) {
            throw new IllegalArgumentException("id '" + id + "' is not present; use add for a new item");
          }
        }
      }
      enqueue(new PendingOp(id, lines));
      ids.add(id);
      fieldKeys.addAll(keys);
    }
  }

  @Override
  public boolean delete(String id) {
    VectorIndex.checkId(id);
    synchronized (writeLock) {
      ensureOpen();
      if (!ids.remove(id)) {
        return false;
      }
      enqueue(new PendingOp(id, action("delete", id) + "\n"));
      return true;
    }
  }

  private void enqueue(PendingOp op) {
    assert Thread.holdsLock(writeLock);
    pending.add(op);
    pendingBytes += op.lines().length();
    if (pending.size() >= options.bulkActions() || pendingBytes >= 8L << 20) {
      sendPending();
    }
  }

  /**
   * Sends every buffered operation and returns once OpenSearch acknowledged each one, retrying
   * the whole bulk after a connection failure and single items the cluster pushed back on.
   */
  private void sendPending() {
    assert Thread.holdsLock(writeLock);
    if (pending.isEmpty()) {
      return;
    }
    List<PendingOp> batch = new ArrayList<>(pending);
    long deadline = System.nanoTime() + connection.config().retryFor().toNanos();
    long backoffMillis = 50;
    try {
      while (true) {
        StringBuilder body = new StringBuilder();
        for (PendingOp op : batch) {
          body.append(op.lines());
        }
        OpenSearchConnection.Reply reply = connection.send("POST", "/" + name + "/_bulk", Map.of(), body.toString());
        if (!reply.ok()) {
          throw new IOException("bulk write of " + batch.size() + " operations to OpenSearch index '" + name
              + "' failed: " + reply.status() + " " + reply.error());
        }
        sentBulks.incrementAndGet(); // some or all of it applied: the next search refreshes
        List<PendingOp> retry = new ArrayList<>();
        if (reply.body().path("errors").asBoolean(false)) {
          Iterator<JsonNode> items = reply.body().path("items").elements();
          for (PendingOp op : batch) {
            JsonNode result = items.next().elements().next();
            int status = result.path("status").asInt();
            if (status < 300 || (status == 404 && result.path("result").asText().equals("not_found"))) {
              continue; // done; deleting a missing document is done too
            }
            String type = result.path("error").path("type").asText();
            if (status == 429 || status == 503 || RETRYABLE_ERRORS.contains(type)) {
              retry.add(op);
            } else {
              throw new IllegalStateException("OpenSearch index '" + name + "' refused the write of '" + op.id() + "': "
                  + status + " " + type + ": " + result.path("error").path("reason").asText());
            }
          }
        }
        if (retry.isEmpty()) {
          break;
        }
        if (System.nanoTime() + backoffMillis * 1_000_000 > deadline) {
          throw new IOException(retry.size() + " operations of a bulk write to OpenSearch index '" + name
              + "' were still refused after " + connection.config().retryFor() + " (first: '" + retry.getFirst().id() + "')");
        }
        log.debug("retrying {} of {} bulk operations on {} in {} ms", retry.size(), batch.size(), name, backoffMillis);
        OpenSearchConnection.sleep(backoffMillis);
        backoffMillis = Math.min(5_000, backoffMillis * 2);
        batch = retry;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    } finally {
      // On failure too: what was not acknowledged is lost, as an uncommitted write is.
      pending.clear();
      pendingBytes = 0;
    }
  }

  @Override
  public void commit() throws IOException {
    synchronized (writeLock) {
      ensureOpen();
      try {
        sendPending();
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
    }
    refresh();
  }

  private void refresh() throws IOException {
    refreshThrough(sentBulks.get());
  }

  /**
   * Refreshes unless a completed refresh already covers the first {@code target} bulks; like the
   * embedded index's reader refresh, one at a time, and a search never trusts a refresh still
   * under way.
   */
  private void refreshThrough(long target) throws IOException {
    if (refreshedThrough >= target) {
      return;
    }
    synchronized (refreshLock) {
      if (refreshedThrough >= target) {
        return;
      }
      long covered = sentBulks.get(); // every bulk counted here was acknowledged before the refresh
      OpenSearchConnection.Reply reply = connection.send("POST", "/" + name + "/_refresh", Map.of(), null);
      if (!reply.ok()) {
        throw new IOException("refreshing OpenSearch index '" + name + "' failed: " + reply.status() + " " + reply.error());
      }
      refreshedThrough = covered;
    }
  }

  /** Sends buffered writes and, for searches, refreshes, when this index reads its writes. */
  private void beforeRead(boolean search) {
    ensureOpen();
    if (!options.readYourWrites()) {
      return;
    }
    synchronized (writeLock) {
      sendPending();
    }
    if (search) {
      try {
        refresh();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Commits, then releases the connection if this index owns it. */
  @Override
  public void close() throws IOException {
    if (closed.get()) {
      return;
    }
    try {
      commit();
    } finally {
      closed.set(true);
      if (ownsConnection) {
        connection.close();
      }
    }
  }

  /**
   * Merges each shard down to at most {@code maxSegments} segments (one HNSW graph each) after a
   * bulk load, then refreshes; blocks until OpenSearch is done.
   */
  public void forceMerge(int maxSegments) throws IOException {
    if (maxSegments < 1) {
      throw new IllegalArgumentException("maxSegments " + maxSegments + " must be at least 1");
    }
    commit();
    OpenSearchConnection.Reply reply = connection.send("POST", "/" + name + "/_forcemerge",
        Map.of("max_num_segments", Integer.toString(maxSegments)), null);
    if (!reply.ok()) {
      throw new IOException("force-merging OpenSearch index '" + name + "' failed: " + reply.status() + " " + reply.error());
    }
    refresh();
  }

  /** Bytes the index takes on the cluster's disks, replicas included. */
  public long storeBytes() throws IOException {
    OpenSearchConnection.Reply reply = connection.send("GET", "/" + name + "/_stats/store", Map.of(), null);
    if (!reply.ok()) {
      throw new IOException("reading the size of OpenSearch index '" + name + "' failed: " + reply.status() + " " + reply.error());
    }
    return reply.body().path("_all").path("total").path("store").path("size_in_bytes").asLong();
  }

  /** Deletes the OpenSearch index with every item in it, and closes this instance without a commit. */
  public void deleteIndexAndClose() throws IOException {
    if (!closed.compareAndSet(false, true)) {
      throw new IllegalStateException("the OpenSearch index " + name + " is closed");
    }
    try {
      synchronized (writeLock) {
        pending.clear();
        pendingBytes = 0;
      }
      OpenSearchConnection.Reply reply = connection.send("DELETE", "/" + name, Map.of(), null);
      if (!reply.ok() && reply.status() != 404) {
        throw new IOException("deleting OpenSearch index '" + name + "' failed: " + reply.status() + " " + reply.error());
      }
    } finally {
      if (ownsConnection) {
        connection.close();
      }
    }
  }

  // ----------------------------------------------------------------------------------- reads

  @Override
  public Optional<Metadata> get(String id) {
    VectorIndex.checkId(id);
    return source(id, false).map(s -> toMetadata(s));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Read from the document as OpenSearch returns it: the float vector exactly as stored.
   */
  @Override
  public Optional<float[]> vector(String id) {
    VectorIndex.checkId(id);
    return source(id, true).flatMap(s -> s.has(VECTOR) && !s.get(VECTOR).isNull()
        ? Optional.of(toVector(s.get(VECTOR))) : Optional.empty());
  }

  private Optional<JsonNode> source(String id, boolean withVector) {
    beforeRead(false);
    if (!ids.contains(id)) {
      return Optional.empty();
    }
    Map<String, String> query = withVector ? Map.of("_source_includes", VECTOR) : Map.of("_source_excludes", VECTOR);
    OpenSearchConnection.Reply reply = call("GET", "/" + name + "/_doc/" + encode(id), query, null);
    if (reply.status() == 404 || !reply.body().path("found").asBoolean(false)) {
      return Optional.empty();
    }
    check(reply, "get '" + id + "'");
    return Optional.of(reply.body().path("_source"));
  }

  @Override
  public boolean contains(String id) {
    VectorIndex.checkId(id);
    ensureOpen();
    return ids.contains(id);
  }

  @Override
  public int size() {
    ensureOpen();
    return ids.size();
  }

  @Override
  public Set<String> fieldNames() {
    ensureOpen();
    return Collections.unmodifiableSet(new TreeSet<>(fieldKeys));
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    float[] q = spec.checkAndPrepare(query, "query");
    VectorIndex.checkK(k);
    JsonNode filterQuery = filterQuery(filter);
    beforeRead(true);
    return toHits(vectorRanking(q, k, filterQuery), true);
  }

  @Override
  public List<SearchHit> keywordSearch(String text, int k, Filter filter) {
    checkText(text);
    VectorIndex.checkK(k);
    JsonNode filterQuery = filterQuery(filter);
    beforeRead(true);
    return toHits(keywordRanking(text, k, filterQuery), false);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Term and document frequencies come from OpenSearch's term vectors of the text as an
   * artificial document: with one shard they are the index's, with several the statistics of the
   * shard the text would be routed to.
   */
  @Override
  public List<SearchHit> similarTextSearch(String text, int maxTerms, int k, Filter filter) {
    checkText(text);
    VectorIndex.checkK(k);
    if (maxTerms < 1 || maxTerms > 1024) {
      throw new IllegalArgumentException("maxTerms " + maxTerms + " is outside [1, 1024]");
    }
    JsonNode filterQuery = filterQuery(filter);
    beforeRead(true);
    ObjectNode body = OpenSearchConnection.JSON.createObjectNode();
    body.putObject("doc").put(TEXT, text);
    body.put("term_statistics", true).put("field_statistics", true).put("positions", false).put("offsets", false);
    body.putArray("fields").add(TEXT);
    JsonNode reply = check(call("POST", "/" + name + "/_termvectors", Map.of(), body.toString()), "term vectors").body();
    JsonNode terms = reply.path("term_vectors").path(TEXT).path("terms");
    long docs = Math.max(1, reply.path("term_vectors").path(TEXT).path("field_statistics").path("doc_count").asLong(1));
    record Weighted(String term, double weight) {}
    List<Weighted> weighted = new ArrayList<>();
    for (var it = terms.fields(); it.hasNext(); ) {
      var e = it.next();
      long df = e.getValue().path("doc_freq").asLong(0);
      long tf = e.getValue().path("term_freq").asLong(1);
      if (df > 0) {
        weighted.add(new Weighted(e.getKey(), tf * Math.log(1 + (docs - df + 0.5) / (df + 0.5))));
      }
    }
    if (weighted.isEmpty()) {
      return List.of();
    }
    weighted.sort(Comparator.comparingDouble(Weighted::weight).reversed().thenComparing(Weighted::term));
    ObjectNode bool = OpenSearchConnection.JSON.createObjectNode();
    ArrayNode should = bool.putArray("should");
    for (Weighted w : weighted.subList(0, Math.min(maxTerms, weighted.size()))) {
      should.addObject().putObject("term").put(TEXT, w.term());
    }
    bool.put("minimum_should_match", 1);
    if (filterQuery != null) {
      bool.putArray("filter").add(filterQuery);
    }
    ObjectNode q = OpenSearchConnection.JSON.createObjectNode();
    q.set("bool", bool);
    return toHits(ranking(q, k), false);
  }

  /** Both rankings come from OpenSearch; the fusion is the embedded index's, here in the client. */
  @Override
  public List<SearchHit> hybridSearch(String text, float[] vector, int k, Filter filter, Fusion fusion) {
    checkText(text);
    float[] q = spec.checkAndPrepare(vector, "query");
    VectorIndex.checkK(k);
    JsonNode filterQuery = filterQuery(filter);
    if (fusion == null) {
      throw new IllegalArgumentException("fusion must not be null");
    }
    beforeRead(true);
    Map<String, Float> fused = new HashMap<>();
    Map<String, JsonNode> sources = new HashMap<>();
    if (fusion.keywordWeight() > 0) {
      addRanks(fused, sources, keywordRanking(text, fusion.candidates(), filterQuery), fusion.keywordWeight(), fusion.rankConstant());
    }
    if (fusion.vectorWeight() > 0) {
      addRanks(fused, sources, vectorRanking(q, fusion.candidates(), filterQuery), fusion.vectorWeight(), fusion.rankConstant());
    }
    List<Map.Entry<String, Float>> ranked = new ArrayList<>(fused.entrySet());
    ranked.sort(Map.Entry.<String, Float>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()));
    List<SearchHit> result = new ArrayList<>(Math.min(k, ranked.size()));
    for (var e : ranked.subList(0, Math.min(k, ranked.size()))) {
      result.add(new SearchHit(e.getKey(), e.getValue(), toMetadata(sources.get(e.getKey()))));
    }
    return result;
  }

  private static void addRanks(Map<String, Float> fused, Map<String, JsonNode> sources, List<JsonNode> ranking, float weight, int rankConstant) {
    for (int i = 0; i < ranking.size(); i++) {
      JsonNode hit = ranking.get(i);
      String id = hit.path("_id").asText();
      fused.merge(id, weight / (rankConstant + i + 1), Float::sum);
      sources.putIfAbsent(id, hit.path("_source"));
    }
  }

  /**
   * Memory this client holds: the write buffer and the id set. The cluster's own memory (heap,
   * graphs, page cache) is the cluster's and not counted.
   */
  @Override
  public long ramBytesUsed() {
    ensureOpen();
    long bytes;
    synchronized (writeLock) {
      bytes = 2 * pendingBytes;
    }
    return bytes + ids.size() * 64L;
  }

  @Override
  public String toString() {
    return "OpenSearchVectorIndex[" + name + " at " + connection.config().urls() + ", " + spec + "]";
  }

  // -------------------------------------------------------------------------------- rankings

  /** Top {@code n} vector hits (raw OpenSearch hits), best first. */
  private List<JsonNode> vectorRanking(float[] q, int n, JsonNode filterQuery) {
    ObjectNode knn = OpenSearchConnection.JSON.createObjectNode();
    ObjectNode field = knn.putObject("knn").putObject(VECTOR);
    ArrayNode values = field.putArray("vector");
    for (float x : q) {
      values.add(x);
    }
    field.put("k", Math.max(n, options.efSearch()));
    if (filterQuery != null) {
      field.set("filter", filterQuery);
    }
    return ranking(knn, n);
  }

  private List<JsonNode> keywordRanking(String text, int n, JsonNode filterQuery) {
    ObjectNode q = OpenSearchConnection.JSON.createObjectNode();
    ObjectNode bool = q.putObject("bool");
    bool.putArray("must").addObject().putObject("match").put(TEXT, text);
    if (filterQuery != null) {
      bool.putArray("filter").add(filterQuery);
    }
    return ranking(q, n);
  }

  private List<JsonNode> ranking(JsonNode query, int n) {
    ObjectNode body = OpenSearchConnection.JSON.createObjectNode();
    body.put("size", n);
    body.putObject("_source").putArray("excludes").add(VECTOR);
    body.set("query", query);
    JsonNode reply = check(call("POST", "/" + name + "/_search", Map.of(), body.toString()), "search").body();
    List<JsonNode> hits = new ArrayList<>();
    reply.path("hits").path("hits").forEach(hits::add);
    return hits;
  }

  private List<SearchHit> toHits(List<JsonNode> hits, boolean vectorScores) {
    List<SearchHit> result = new ArrayList<>(hits.size());
    for (JsonNode h : hits) {
      float score = (float) h.path("_score").asDouble();
      result.add(new SearchHit(h.path("_id").asText(), vectorScores ? fromOpenSearchScore(score) : score, toMetadata(h.path("_source"))));
    }
    return result;
  }

  /** Maps a k-NN score (the Lucene engine's) back to the {@link Similarity} convention. */
  private float fromOpenSearchScore(float score) {
    return switch (spec.similarity()) {
      // innerproduct scores dot < 0 as 1 / (1 - dot), dot >= 0 as dot + 1.
      case COSINE, DOT_PRODUCT -> score < 1f ? 1f - 1f / score : score - 1f;
      // l2 scores 1 / (1 + d²), the convention already.
      case EUCLIDEAN -> score;
    };
  }

  // -------------------------------------------------------------------------------- mapping

  static String spaceType(Similarity similarity) {
    return switch (similarity) {
      case COSINE, DOT_PRODUCT -> "innerproduct";
      case EUCLIDEAN -> "l2";
    };
  }

  private static ObjectNode createBody(IndexSpec spec, Options options) {
    ObjectNode body = OpenSearchConnection.JSON.createObjectNode();
    ObjectNode index = body.putObject("settings").putObject("index");
    index.put("number_of_shards", options.shards());
    index.put("number_of_replicas", options.replicas());
    index.put("knn", true);
    index.put("translog.durability", "request");
    ObjectNode mappings = body.putObject("mappings");
    ObjectNode loupe = mappings.putObject("_meta").putObject("loupe");
    loupe.put("layout", LAYOUT_VERSION);
    loupe.put("dimension", spec.dimension());
    loupe.put("similarity", spec.similarity().name());
    mappings.put("dynamic", "strict");
    ObjectNode template = mappings.putArray("dynamic_templates").addObject().putObject("loupe_meta_keywords");
    template.put("path_match", META + ".*");
    template.put("match_mapping_type", "string");
    template.putObject("mapping").put("type", "keyword");
    ObjectNode props = mappings.putObject("properties");
    ObjectNode vector = props.putObject(VECTOR);
    vector.put("type", "knn_vector");
    vector.put("dimension", spec.dimension());
    ObjectNode method = vector.putObject("method");
    method.put("name", "hnsw");
    method.put("engine", "lucene"); // never faiss: Maven Central's plugin has no native libraries
    method.put("space_type", spaceType(spec.similarity()));
    method.putObject("parameters").put("m", options.m()).put("ef_construction", options.efConstruction());
    props.putObject("type").put("type", "keyword");
    props.putObject("path").put("type", "keyword");
    props.putObject("page").put("type", "integer");
    props.putObject("timestamp").put("type", "long");
    props.putObject(TEXT).put("type", "text");
    props.putObject(META).put("type", "object").put("dynamic", true);
    return body;
  }

  /** Refuses an index Loupe did not create, or created for another dimension or similarity. */
  static void checkMapping(String name, JsonNode mappings, IndexSpec wanted) {
    JsonNode loupe = mappings.path("_meta").path("loupe");
    if (!loupe.isObject()) {
      throw new IllegalArgumentException("OpenSearch index '" + name + "' exists but was not created by Loupe"
          + " (its mapping has no _meta.loupe); choose another index name");
    }
    String layout = loupe.path("layout").asText();
    if (!layout.equals(LAYOUT_VERSION)) {
      throw new IllegalArgumentException("OpenSearch index '" + name + "' has Loupe layout version " + layout
          + "; this Loupe reads version " + LAYOUT_VERSION + " only; reindex into a new index");
    }
    IndexSpec stored;
    try {
      stored = new IndexSpec(loupe.path("dimension").asInt(), Similarity.valueOf(loupe.path("similarity").asText()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("OpenSearch index '" + name + "' records an unreadable spec " + loupe, e);
    }
    if (!stored.equals(wanted)) {
      throw new IllegalArgumentException("OpenSearch index '" + name + "' was created with dimension " + stored.dimension()
          + " and similarity " + stored.similarity() + "; it cannot be opened with dimension " + wanted.dimension()
          + " and similarity " + wanted.similarity() + " (another embedding model needs another index)");
    }
    JsonNode vector = mappings.path("properties").path(VECTOR);
    JsonNode method = vector.path("method");
    String space = method.path("space_type").asText(vector.path("space_type").asText());
    String actual = vector.path("type").asText() + "/" + vector.path("dimension").asInt() + "/" + method.path("engine").asText() + "/" + space;
    String expected = "knn_vector/" + wanted.dimension() + "/lucene/" + spaceType(wanted.similarity());
    if (!actual.equals(expected)) {
      throw new IllegalArgumentException("OpenSearch index '" + name + "' maps its vector field as " + actual
          + " (type/dimension/engine/space), but " + wanted + " needs " + expected);
    }
  }

  private static void collectKeys(JsonNode properties, String prefix, Set<String> into) {
    for (var it = properties.fields(); it.hasNext(); ) {
      var e = it.next();
      String key = prefix + e.getKey();
      if (e.getValue().has("properties")) {
        collectKeys(e.getValue().path("properties"), key + ".", into);
      } else {
        into.add(key);
      }
    }
  }

  /** Every id in the index, read with a scroll after a refresh so that the last bulks count. */
  private static Set<String> loadIds(OpenSearchConnection connection, String name) throws IOException {
    Set<String> ids = ConcurrentHashMap.newKeySet();
    OpenSearchConnection.Reply refreshed = connection.send("POST", "/" + name + "/_refresh", Map.of(), null);
    if (!refreshed.ok()) {
      throw new IOException("refreshing OpenSearch index '" + name + "' failed: " + refreshed.status() + " " + refreshed.error());
    }
    String body = "{\"size\":10000,\"_source\":false,\"sort\":[\"_doc\"],\"query\":{\"match_all\":{}}}";
    OpenSearchConnection.Reply page = connection.send("POST", "/" + name + "/_search", Map.of("scroll", "1m"), body);
    String scrollId = null;
    try {
      while (true) {
        if (!page.ok()) {
          throw new IOException("reading the ids of OpenSearch index '" + name + "' failed: " + page.status() + " " + page.error());
        }
        scrollId = page.body().path("_scroll_id").asText(null);
        JsonNode hits = page.body().path("hits").path("hits");
        if (hits.isEmpty()) {
          return ids;
        }
        hits.forEach(h -> ids.add(h.path("_id").asText()));
        ObjectNode next = OpenSearchConnection.JSON.createObjectNode().put("scroll", "1m").put("scroll_id", scrollId);
        page = connection.send("POST", "/_search/scroll", Map.of(), next.toString());
      }
    } finally {
      if (scrollId != null) {
        connection.send("DELETE", "/_search/scroll", Map.of(),
            OpenSearchConnection.JSON.createObjectNode().put("scroll_id", scrollId).toString());
      }
    }
  }

  // -------------------------------------------------------------------------------- helpers

  private JsonNode filterQuery(Filter filter) {
    if (filter == null) {
      throw new IllegalArgumentException("filter must not be null (use Filter.ALL)");
    }
    filter.validate(fieldNames());
    return filter.matchesAll() ? null : OpenSearchQueries.toQuery(filter);
  }

  private ObjectNode document(float[] vector, Metadata m) {
    ObjectNode doc = OpenSearchConnection.JSON.createObjectNode();
    if (vector != null) {
      ArrayNode values = doc.putArray(VECTOR);
      for (float x : vector) {
        values.add(x);
      }
    }
    doc.put("type", m.type());
    doc.put("path", checkTermLength("path", m.path()));
    doc.put("page", m.page());
    doc.put("timestamp", m.timestamp());
    doc.put(TEXT, m.text());
    ObjectNode meta = doc.putObject(META);
    for (var e : m.fields().entrySet()) {
      meta.put(e.getKey(), checkTermLength(e.getKey(), e.getValue()));
    }
    return doc;
  }

  private static Metadata toMetadata(JsonNode source) {
    Map<String, String> fields = new TreeMap<>();
    source.path(META).fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue().asText()));
    return new Metadata(
        source.path("type").asText(),
        source.path("path").asText(),
        source.path("page").asInt(),
        source.path("timestamp").asLong(),
        source.path(TEXT).asText(""),
        fields);
  }

  private static float[] toVector(JsonNode array) {
    float[] v = new float[array.size()];
    for (int i = 0; i < v.length; i++) {
      JsonNode x = array.get(i);
      // From the decimal text, not through double, so the float comes back bit for bit.
      v[i] = x.isBigDecimal() ? Float.parseFloat(x.decimalValue().toString()) : x.floatValue();
    }
    return v;
  }

  private static String action(String op, String id) {
    ObjectNode action = OpenSearchConnection.JSON.createObjectNode();
    action.putObject(op).put("_id", id);
    return action.toString();
  }

  private OpenSearchConnection.Reply call(String method, String endpoint, Map<String, String> query, String body) {
    try {
      return connection.send(method, endpoint, query, body);
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
  }

  private OpenSearchConnection.Reply check(OpenSearchConnection.Reply reply, String what) {
    if (!reply.ok()) {
      throw new UncheckedIOException(new IOException(
          what + " on OpenSearch index '" + name + "' failed: " + reply.status() + " " + reply.error()));
    }
    return reply;
  }

  private static String encode(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String checkTermLength(String field, String value) {
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_TERM_BYTES) {
      throw new IllegalArgumentException(
          "field '" + field + "' value of " + bytes + " UTF-8 bytes is longer than " + MAX_TERM_BYTES);
    }
    return value;
  }

  private static void checkText(String text) {
    if (text == null) {
      throw new IllegalArgumentException("query text must not be null");
    }
  }

  static String checkIndexName(String name) {
    if (name == null || !INDEX_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("OpenSearch index name '" + name
          + "' must be 1-255 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return name;
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the OpenSearch index " + name + " is closed");
    }
  }
}
