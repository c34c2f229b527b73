package dev.loupe.vectorstore.gpu;

import dev.loupe.gpu.Gpu;
import dev.loupe.gpu.GpuContext;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.VectorSource;
import dev.loupe.vectorstore.flat.Encoding;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A GPU hot tier in front of a store ({@code loupe serve --gpu}): the store (Lucene) stays the
 * durable source of truth and answers keyword, hybrid and "more like this" searches; a {@link
 * GpuFlatIndex} mirrors its vectors in device memory and answers k-nearest-neighbour searches
 * exactly from there.
 *
 * <p><b>Seam.</b> The mirror is filled once at open through {@link VectorSource} (which {@link
 * dev.loupe.vectorstore.lucene.LuceneVectorIndex} implements by walking its segments' vectors),
 * and kept current because every write goes through this object: the store first (so a failed
 * write never reaches the mirror), then the mirror. Nothing else may write to the store while the
 * tier is open.
 *
 * <p><b>Fallback.</b> Searches the GPU cannot take ({@code k} above {@link GpuFlatIndex#MAX_K})
 * go to the store. Scores are the store's convention ({@link dev.loupe.vectorstore.Similarity});
 * the GPU's are exact where the store's HNSW is approximate, so rankings can differ only where the
 * store missed a neighbour.
 *
 * <p><b>Thread safety.</b> As the store and the mirror: both are thread-safe. A write racing a
 * search may be seen by the mirror before the store or the reverse.
 */
public final class GpuHotTier implements HybridIndex {
  private final HybridIndex store;
  private final GpuFlatIndex mirror;
  private final GpuContext ownedContext; // null when the caller owns the context

  private GpuHotTier(HybridIndex store, GpuFlatIndex mirror, GpuContext ownedContext) {
    this.store = store;
    this.mirror = mirror;
    this.ownedContext = ownedContext;
  }

  /**
   * As {@link #open(HybridIndex, VectorSource, GpuContext, Encoding)} in a context of its own on
   * {@code gpu}'s device, which the tier releases when it closes.
   */
  public static GpuHotTier open(HybridIndex store, VectorSource source, Gpu.Available gpu, Encoding encoding) {
    GpuContext context = GpuContext.open(gpu);
    try {
      GpuHotTier tier = open(store, source, context, encoding);
      return new GpuHotTier(tier.store, tier.mirror, context);
    } catch (RuntimeException e) {
      context.close();
      throw e;
    }
  }

  /**
   * Mirrors {@code source}'s vectors (the same index as {@code store}) into {@code context}'s device
   * memory as {@code encoding} and returns the tier. On failure nothing stays allocated and the
   * store is left open for the caller.
   */
  public static GpuHotTier open(HybridIndex store, VectorSource source, GpuContext context, Encoding encoding) {
    GpuFlatIndex mirror = GpuFlatIndex.create(context, store.spec(), encoding);
    try {
      source.forEachVector(mirror::add);
      return new GpuHotTier(store, mirror, null);
    } catch (RuntimeException e) {
      mirror.close();
      throw e;
    }
  }

  /** The device mirror (for status and tests). */
  public GpuFlatIndex mirror() {
    return mirror;
  }

  /** The store behind the tier. */
  public HybridIndex store() {
    return store;
  }

  @Override
  public IndexSpec spec() {
    return store.spec();
  }

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    store.add(id, vector, metadata);
    mirror.add(id, vector, metadata);
  }

  @Override
  public void addKeywordOnly(String id, Metadata metadata) {
    store.addKeywordOnly(id, metadata);
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    store.update(id, vector, metadata);
    if (mirror.contains(id)) {
      mirror.update(id, vector, metadata);
    } else {
      mirror.add(id, vector, metadata); // a keyword-only item that got its vector
    }
  }

  @Override
  public boolean delete(String id) {
    boolean deleted = store.delete(id);
    mirror.delete(id);
    return deleted;
  }

  @Override
  public Optional<Metadata> get(String id) {
    return store.get(id);
  }

  @Override
  public Optional<float[]> vector(String id) {
    return store.vector(id);
  }

  @Override
  public boolean contains(String id) {
    return store.contains(id);
  }

  @Override
  public int size() {
    return store.size();
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    return searchBatch(List.of(query), k, filter).getFirst();
  }

  @Override
  public List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter) {
    if (k > GpuFlatIndex.MAX_K) {
      return store.searchBatch(queries, k, filter);
    }
    Filter f = filter == null ? Filter.ALL : filter;
    f.validate(store.fieldNames()); // unknown fields fail as the store would fail them
    return mirror.searchBatch(queries, k, f, false);
  }

  @Override
  public Set<String> fieldNames() {
    return store.fieldNames();
  }

  @Override
  public void commit() throws IOException {
    store.commit();
  }

  /** The store's memory; the mirror's device memory is {@link GpuFlatIndex#deviceBytes()}. */
  @Override
  public long ramBytesUsed() {
    return store.ramBytesUsed();
  }

  @Override
  public List<SearchHit> keywordSearch(String text, int k, Filter filter) {
    return store.keywordSearch(text, k, filter);
  }

  @Override
  public List<SearchHit> similarTextSearch(String text, int maxTerms, int k, Filter filter) {
    return store.similarTextSearch(text, maxTerms, k, filter);
  }

  @Override
  public List<SearchHit> hybridSearch(String text, float[] vector, int k, Filter filter, Fusion fusion) {
    return store.hybridSearch(text, vector, k, filter, fusion);
  }

  /** Frees the mirror (and the context, when the tier opened it), then closes (and so commits) the store. */
  @Override
  public void close() throws IOException {
    try {
      mirror.close();
      if (ownedContext != null) {
        ownedContext.close();
      }
    } finally {
      store.close();
    }
  }

  @Override
  public String toString() {
    return "GpuHotTier(" + store + " mirrored on " + mirror + ")";
  }
}
