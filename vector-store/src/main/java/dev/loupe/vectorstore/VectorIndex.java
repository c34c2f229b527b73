package dev.loupe.vectorstore;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A durable index of vectors of one embedding space, each with a string id and {@link Metadata},
 * answering k-nearest-neighbour queries with optional metadata filters.
 *
 * <h2>Writes and durability</h2>
 *
 * <ul>
 *   <li>{@link #add} rejects an id that is already present; {@link #update} replaces the vector
 *       and metadata of an id that is present and rejects one that is not. There is no implicit
 *       upsert: callers that want one call {@link #contains} first.
 *   <li>A write is visible to searches on this instance as soon as the call returns.
 *   <li>A write is <em>acknowledged</em> (durable) once a later {@link #commit()} returns. After a
 *       crash ({@code kill -9}, power loss) reopening shows exactly the state of the last
 *       completed commit: every acknowledged write and no half-written state. {@link #close()}
 *       commits, so a clean stop loses nothing.
 * </ul>
 *
 * <h2>Thread safety</h2>
 *
 * Implementations are thread-safe: any number of threads may search while others write.
 *
 * <h2>Bad input</h2>
 *
 * Every method validates its arguments and throws {@link IllegalArgumentException} naming the
 * offending value: wrong dimension, NaN or infinite components, zero vectors under cosine, blank
 * or duplicate ids, {@code k} outside {@code [1, MAX_K]}, unknown filter fields.
 */
public interface VectorIndex extends Closeable {

  /** Largest {@code k} a search accepts. */
  int MAX_K = 10_000;

  /** The dimension and similarity fixed for this index. */
  IndexSpec spec();

  /** Adds a new item. @throws IllegalArgumentException if {@code id} is already present */
  void add(String id, float[] vector, Metadata metadata);

  /** Replaces an item. @throws IllegalArgumentException if {@code id} is not present */
  void update(String id, float[] vector, Metadata metadata);

  /** Removes an item; returns false if it was not present. */
  boolean delete(String id);

  /** The metadata of an item, or empty if it is not present. */
  Optional<Metadata> get(String id);

  /**
   * The vector of an item as this index stores it for search, for "more like this" queries:
   * under {@link Similarity#COSINE} the L2-normalized vector (every index normalizes on the way
   * in, so searching with the returned vector scores like searching with the one given), under
   * the other similarities the vector as given. Indexes that encode vectors lossily return the
   * full-precision vector where they keep one beside the codes and the decoded approximation
   * where they do not; each implementation says which.
   *
   * <p>Sees every write that returned before the call, committed or not. Empty if no item has
   * this id, and for an item without a vector ({@link HybridIndex#addKeywordOnly}). The array is
   * a fresh copy: the caller may modify it without changing the index.
   *
   * @throws IllegalArgumentException if {@code id} is null, blank or too long
   */
  Optional<float[]> vector(String id);

  /** True if an item with this id is present. */
  default boolean contains(String id) {
    return get(id).isPresent();
  }

  /** Number of items present. */
  int size();

  /**
   * The {@code k} items most similar to {@code query} that match {@code filter}, best first. May
   * return fewer than {@code k} when fewer items match.
   */
  List<SearchHit> search(float[] query, int k, Filter filter);

  default List<SearchHit> search(float[] query, int k) {
    return search(query, k, Filter.ALL);
  }

  /**
   * Searches several queries at once; implementations that can share one pass over memory
   * between queries override this.
   */
  default List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter) {
    List<List<SearchHit>> results = new ArrayList<>(queries.size());
    for (float[] q : queries) {
      results.add(search(q, k, filter));
    }
    return results;
  }

  /** Free metadata field keys this index has seen; filters may name these and the built-ins. */
  Set<String> fieldNames();

  /** Makes every write so far durable; see the class documentation. */
  void commit() throws IOException;

  /**
   * Memory this index holds for its items, heap and off-heap, in bytes. Indexes that serve
   * vectors from memory-mapped files count those files.
   */
  long ramBytesUsed();

  /** Commits and releases the index's memory and files. */
  @Override
  void close() throws IOException;

  /** Checks an id: not null, not blank, at most 512 characters. */
  static String checkId(String id) {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("id '" + id + "' must not be null or blank");
    }
    if (id.length() > 512) {
      throw new IllegalArgumentException(
          "id of length " + id.length() + " is longer than 512 characters");
    }
    return id;
  }

  /** Checks {@code k} against {@code [1, MAX_K]}. */
  static int checkK(int k) {
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException("k " + k + " is outside [1, " + MAX_K + "]");
    }
    return k;
  }

  /** Checks metadata is present. */
  static Metadata checkMetadata(Metadata metadata) {
    if (metadata == null) {
      throw new IllegalArgumentException("metadata must not be null");
    }
    return metadata;
  }
}
