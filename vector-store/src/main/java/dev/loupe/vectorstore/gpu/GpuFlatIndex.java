package dev.loupe.vectorstore.gpu;

import dev.loupe.gpu.DeviceBuffer;
import dev.loupe.gpu.ExactSearch;
import dev.loupe.gpu.GpuContext;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.flat.Encoding;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The GPU twin of {@link dev.loupe.vectorstore.flat.FlatVectorIndex}: an exact index whose
 * vectors live in device memory and whose searches run the fused scoring and top-k kernels of
 * {@link ExactSearch}. It holds no files: it mirrors a store ({@link GpuHotTier}) or serves a
 * benchmark, and is rebuilt from its source on start.
 *
 * <p><b>Layout.</b> Row-major {@code fp16} ({@link Encoding#F16}) or {@code int8} with one fp32
 * scale per row ({@link Encoding#I8}), {@code dim · encoding.bytes} bytes a row, in one device
 * buffer that grows by half when full; beside it the rows' fp32 squared norms (Euclidean), scales
 * and a tombstone bitmap (bit {@code r & 31} of word {@code r >> 5}). Ids, metadata and the host
 * copies of norms, scales and tombstones sit in parallel heap arrays by row. {@link Encoding#F32}
 * is refused: fp32 scans are the CPU index's job.
 *
 * <p><b>Writes.</b> {@link #add} encodes on the host into a staging buffer that is copied to the
 * device in one transfer before the next search (so mirroring millions of rows costs a few large
 * copies, not millions of small ones). {@link #update} rewrites the row in place. {@link #delete}
 * sets the row's tombstone bit: the kernels skip it. {@link #compact()} (also run on a write when
 * tombstones exceed a quarter of the rows) closes the holes on the device, keeping row order.
 *
 * <p><b>Search.</b> As the CPU index: cosine vectors and queries are L2-normalized, scores follow
 * {@link Similarity}, ties rank the earlier row first. A filter other than {@link Filter#ALL} is
 * evaluated on the host metadata into a bitmap uploaded with the search. int8 searches keep {@code
 * min(256, 4k)} candidates and rescore them with the fp32 originals, which stay on the heap (4 bytes
 * a component) as in the CPU index. {@code k} is at most {@link ExactSearch#MAX_K}.
 *
 * <p><b>Thread safety.</b> Thread-safe: one lock serializes writes and searches (the device
 * stream runs one search at a time anyway).
 */
public final class GpuFlatIndex implements AutoCloseable {
  /** Largest {@code k} a search accepts (the kernels' per-block limit). */
  public static final int MAX_K = ExactSearch.MAX_K;
  /** int8 candidates rescored exactly per result, as in the CPU index. */
  static final int RERANK_FACTOR = 4;
  private static final int STAGING_ROWS = 4096;

  private final GpuContext context;
  private final ExactSearch search;
  private final IndexSpec spec;
  private final Encoding encoding;
  private final int rowBytes;
  private final ReentrantLock lock = new ReentrantLock();
  private final Arena hostArena = Arena.ofShared();
  private final MemorySegment staging;

  // Guarded by lock.
  private DeviceBuffer data, norms2Device, scalesDevice, tombsDevice, filterDevice;
  private int capacity;
  private int size; // rows, tombstoned included
  private int live;
  private int stagedFrom = -1; // first row in the staging buffer, -1 when empty
  private String[] ids = new String[0];
  private Metadata[] metas = new Metadata[0];
  private float[] norms2 = new float[0], scales = new float[0];
  private float[][] originals = new float[0][];
  private int[] tombs = new int[0];
  private boolean tombsDirty, sidesDirty;
  private final HashMap<String, Integer> rowOf = new HashMap<>();
  private final Set<String> freeKeys = new TreeSet<>();
  private boolean closed;

  private GpuFlatIndex(GpuContext context, IndexSpec spec, Encoding encoding) {
    if (encoding == Encoding.F32) {
      throw new IllegalArgumentException("the GPU index stores f16 or i8, not f32");
    }
    this.context = context;
    this.spec = spec;
    this.encoding = encoding;
    this.rowBytes = spec.dimension() * encoding.bytes;
    this.staging = hostArena.allocate((long) STAGING_ROWS * rowBytes, 16);
    this.search = new ExactSearch(context);
  }

  /** An empty index in {@code context}'s device memory; the caller keeps the context open until this closes. */
  public static GpuFlatIndex create(GpuContext context, IndexSpec spec, Encoding encoding) {
    GpuFlatIndex index = new GpuFlatIndex(context, spec, encoding);
    index.lock.lock();
    try {
      index.grow(1024);
    } finally {
      index.lock.unlock();
    }
    return index;
  }

  public IndexSpec spec() {
    return spec;
  }

  public Encoding encoding() {
    return encoding;
  }

  /** Which kernel image serves searches (a cubin for the device, or the PTX). */
  public String kernels() {
    return search.moduleName();
  }

  // ---- writes ----------------------------------------------------------------------------------

  /** Adds a new item. @throws IllegalArgumentException if {@code id} is present, or for a bad vector */
  public void add(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    VectorIndex.checkMetadata(metadata);
    float[] v = spec.checkAndPrepare(vector, "vector");
    lock.lock();
    try {
      checkOpen();
      if (rowOf.containsKey(id)) {
        throw new IllegalArgumentException("id '" + id + "' is already present; use update to replace it");
      }
      maybeCompact();
      if (size == capacity) {
        grow(capacity + (capacity >> 1));
      }
      if (stagedFrom >= 0 && size - stagedFrom == STAGING_ROWS) {
        flush();
      }
      if (stagedFrom < 0) {
        stagedFrom = size;
      }
      int r = size++;
      encodeInto(v, staging, (long) (r - stagedFrom) * rowBytes, r);
      ids[r] = id;
      metas[r] = metadata;
      rowOf.put(id, r);
      freeKeys.addAll(metadata.fields().keySet());
      live++;
      sidesDirty = true;
    } finally {
      lock.unlock();
    }
  }

  /** Replaces an item's vector and metadata in place. @throws IllegalArgumentException if {@code id} is not present */
  public void update(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    VectorIndex.checkMetadata(metadata);
    float[] v = spec.checkAndPrepare(vector, "vector");
    lock.lock();
    try {
      checkOpen();
      Integer r = rowOf.get(id);
      if (r == null) {
        throw new IllegalArgumentException("no item with id '" + id + "' to update; use add");
      }
      flush();
      try (Arena a = Arena.ofConfined()) {
        MemorySegment row = a.allocate(rowBytes, 16);
        encodeInto(v, row, 0, r);
        data.copyFrom(row, (long) r * rowBytes);
      }
      metas[r] = metadata;
      freeKeys.addAll(metadata.fields().keySet());
      sidesDirty = true;
    } finally {
      lock.unlock();
    }
  }

  /** Tombstones an item; false if it was not present. */
  public boolean delete(String id) {
    VectorIndex.checkId(id);
    lock.lock();
    try {
      checkOpen();
      Integer r = rowOf.remove(id);
      if (r == null) {
        return false;
      }
      tombs[r >> 5] |= 1 << (r & 31);
      ids[r] = null;
      metas[r] = null;
      originals[r] = null;
      live--;
      tombsDirty = true;
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Closes the holes deleted rows left, on the device, keeping the live rows' order. */
  public void compact() {
    lock.lock();
    try {
      checkOpen();
      flush();
      if (live == size) {
        return;
      }
      int newCapacity = Math.max(1024, live + (live >> 1));
      DeviceBuffer newData = context.allocate((long) newCapacity * rowBytes);
      try {
        int to = 0;
        for (int r = 0; r < size; ) {
          if (isTomb(r)) {
            r++;
            continue;
          }
          int end = r;
          while (end < size && !isTomb(end)) {
            end++;
          }
          newData.copyFrom(data, (long) r * rowBytes, (long) to * rowBytes, (long) (end - r) * rowBytes);
          for (int i = r; i < end; i++, to++) {
            ids[to] = ids[i];
            metas[to] = metas[i];
            norms2[to] = norms2[i];
            scales[to] = scales[i];
            originals[to] = originals[i];
            rowOf.put(ids[to], to);
          }
          r = end;
        }
        assert to == live;
      } catch (RuntimeException e) {
        newData.close();
        throw e;
      }
      data.close();
      data = newData;
      for (int r = live; r < size; r++) {
        ids[r] = null;
        metas[r] = null;
        originals[r] = null;
      }
      Arrays.fill(tombs, 0);
      size = live;
      resizeSides(newCapacity);
      tombsDirty = true;
      sidesDirty = true;
    } finally {
      lock.unlock();
    }
  }

  private boolean isTomb(int r) {
    return (tombs[r >> 5] & (1 << (r & 31))) != 0;
  }

  private void maybeCompact() {
    if (size - live > Math.max(1024, size / 4)) {
      compact();
    }
  }

  /** Encodes {@code v} at {@code offset} of {@code out}, recording row {@code r}'s norm, scale and original. */
  private void encodeInto(float[] v, MemorySegment out, long offset, int r) {
    Encoding.Encoded e = encoding.encode(v, out, offset);
    if (encoding == Encoding.I8) {
      originals[r] = v;
    }
    norms2[r] = e.norm2();
    scales[r] = e.scale();
  }

  /** Copies staged rows and changed side arrays to the device; caller holds the lock. */
  private void flush() {
    if (stagedFrom >= 0) {
      int rows = size - stagedFrom;
      data.copyFrom(staging.asSlice(0, (long) rows * rowBytes), (long) stagedFrom * rowBytes);
      stagedFrom = -1;
    }
    if (sidesDirty) {
      norms2Device.copyFrom(MemorySegment.ofArray(Arrays.copyOf(norms2, size)), 0);
      scalesDevice.copyFrom(MemorySegment.ofArray(Arrays.copyOf(scales, size)), 0);
      sidesDirty = false;
    }
    if (tombsDirty) {
      tombsDevice.copyFrom(MemorySegment.ofArray(tombs), 0);
      tombsDirty = false;
    }
  }

  private void grow(int rows) {
    flush();
    DeviceBuffer bigger = context.allocate((long) rows * rowBytes);
    if (data != null) {
      bigger.copyFrom(data, 0, 0, (long) size * rowBytes);
      data.close();
    }
    data = bigger;
    ids = Arrays.copyOf(ids, rows);
    metas = Arrays.copyOf(metas, rows);
    originals = Arrays.copyOf(originals, rows);
    resizeSides(rows);
  }

  /** Reallocates norms, scales and tombstones for {@code rows} rows (host and device; the next flush uploads them). */
  private void resizeSides(int rows) {
    capacity = rows;
    if (ids.length < rows) {
      ids = Arrays.copyOf(ids, rows);
      metas = Arrays.copyOf(metas, rows);
      originals = Arrays.copyOf(originals, rows);
    }
    norms2 = Arrays.copyOf(norms2, rows);
    scales = Arrays.copyOf(scales, rows);
    tombs = Arrays.copyOf(tombs, (rows + 31) / 32);
    for (DeviceBuffer b : new DeviceBuffer[] {norms2Device, scalesDevice, tombsDevice, filterDevice}) {
      if (b != null) {
        b.close();
      }
    }
    norms2Device = context.allocate(4L * rows);
    scalesDevice = context.allocate(4L * rows);
    tombsDevice = context.allocate(4L * tombs.length);
    filterDevice = context.allocate(4L * tombs.length);
    sidesDirty = true;
    tombsDirty = true;
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** Items present (tombstoned rows not counted). */
  public int size() {
    lock.lock();
    try {
      return live;
    } finally {
      lock.unlock();
    }
  }

  /** Deleted rows still taking device memory until {@link #compact()}. */
  public int tombstoned() {
    lock.lock();
    try {
      return size - live;
    } finally {
      lock.unlock();
    }
  }

  /** Device memory held for rows and their side arrays, in bytes. */
  public long deviceBytes() {
    lock.lock();
    try {
      return data.bytes() + norms2Device.bytes() + scalesDevice.bytes() + tombsDevice.bytes() + filterDevice.bytes();
    } finally {
      lock.unlock();
    }
  }

  public boolean contains(String id) {
    VectorIndex.checkId(id);
    lock.lock();
    try {
      return rowOf.containsKey(id);
    } finally {
      lock.unlock();
    }
  }

  /** Free metadata keys seen, for validating filters. */
  public Set<String> fieldNames() {
    lock.lock();
    try {
      return Set.copyOf(freeKeys);
    } finally {
      lock.unlock();
    }
  }

  public List<SearchHit> search(float[] query, int k, Filter filter) {
    return searchBatch(List.of(query), k, filter).getFirst();
  }

  /**
   * The {@code k} best items per query that match {@code filter}, best first, as {@link
   * VectorIndex#searchBatch} answers.
   *
   * @throws IllegalArgumentException for {@code k} outside {@code [1, MAX_K]}, a bad query or an unknown filter field
   */
  public List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter) {
    return searchBatch(queries, k, filter, true);
  }

  /** As {@link #searchBatch(List, int, Filter)}; {@code validate} false when the caller checked the filter's fields. */
  List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter, boolean validate) {
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException("k " + k + " is outside [1, " + MAX_K + "] for the GPU index");
    }
    Filter f = filter == null ? Filter.ALL : filter;
    float[][] qs = new float[queries.size()][];
    for (int j = 0; j < qs.length; j++) {
      qs[j] = spec.checkAndPrepare(queries.get(j), "query");
    }
    lock.lock();
    try {
      checkOpen();
      if (validate) {
        f.validate(freeKeys);
      }
      flush();
      DeviceBuffer filterBits = null;
      if (!f.matchesAll()) {
        int[] bits = new int[(size + 31) / 32];
        for (int r = 0; r < size; r++) {
          if (metas[r] != null && f.test(metas[r])) {
            bits[r >> 5] |= 1 << (r & 31);
          }
        }
        filterDevice.copyFrom(MemorySegment.ofArray(bits), 0);
        filterBits = filterDevice;
      }
      int candidates = encoding == Encoding.I8 ? Math.min(MAX_K, RERANK_FACTOR * k) : k;
      ExactSearch.Rows rows = new ExactSearch.Rows(encoding == Encoding.F16 ? ExactSearch.Element.F16 : ExactSearch.Element.I8,
          data, encoding == Encoding.I8 ? scalesDevice : null, norms2Device, tombsDevice, size, spec.dimension());
      ExactSearch.Result result = search.search(rows, qs, metric(spec.similarity()), filterBits, candidates);
      List<List<SearchHit>> out = new ArrayList<>(qs.length);
      for (int j = 0; j < qs.length; j++) {
        out.add(encoding == Encoding.I8 ? rerank(qs[j], result.rows()[j], k) : hits(result.rows()[j], result.scores()[j], k));
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  private List<SearchHit> hits(int[] rows, float[] scores, int k) {
    List<SearchHit> hits = new ArrayList<>(k);
    for (int i = 0; i < k && rows[i] >= 0; i++) {
      hits.add(new SearchHit(ids[rows[i]], scores[i], metas[rows[i]]));
    }
    return hits;
  }

  /** Rescores int8 candidates with their fp32 originals, ranking as the CPU index does. */
  private List<SearchHit> rerank(float[] q, int[] candidates, int k) {
    float qn2 = 0;
    for (float x : q) {
      qn2 += x * x;
    }
    record Scored(float score, int row) {}
    List<Scored> scored = new ArrayList<>();
    for (int r : candidates) {
      if (r < 0) {
        break;
      }
      float[] v = originals[r];
      float dot = 0, n2 = 0;
      for (int i = 0; i < v.length; i++) {
        dot = Math.fma(q[i], v[i], dot);
        n2 = Math.fma(v[i], v[i], n2);
      }
      scored.add(new Scored(spec.similarity().scoreFromDot(dot, qn2, n2), r));
    }
    scored.sort(Comparator.comparingDouble((Scored s) -> -s.score()).thenComparingInt(Scored::row));
    List<SearchHit> hits = new ArrayList<>(k);
    for (int i = 0; i < Math.min(k, scored.size()); i++) {
      int r = scored.get(i).row();
      hits.add(new SearchHit(ids[r], scored.get(i).score(), metas[r]));
    }
    return hits;
  }

  static ExactSearch.Metric metric(Similarity similarity) {
    return switch (similarity) {
      case COSINE -> ExactSearch.Metric.COSINE;
      case DOT_PRODUCT -> ExactSearch.Metric.DOT;
      case EUCLIDEAN -> ExactSearch.Metric.L2;
    };
  }

  /** The metadata of an item, or empty. */
  public Optional<Metadata> get(String id) {
    VectorIndex.checkId(id);
    lock.lock();
    try {
      Integer r = rowOf.get(id);
      return r == null ? Optional.empty() : Optional.of(metas[r]);
    } finally {
      lock.unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("GPU index " + spec + " is closed");
    }
  }

  /** Frees the device memory and the kernels; the context stays open (its owner closes it). */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      for (DeviceBuffer b : new DeviceBuffer[] {data, norms2Device, scalesDevice, tombsDevice, filterDevice}) {
        if (b != null) {
          b.close();
        }
      }
      search.close();
      hostArena.close();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "GpuFlatIndex(" + spec + ", " + encoding + ", " + context.device().name() + ")";
  }
}
