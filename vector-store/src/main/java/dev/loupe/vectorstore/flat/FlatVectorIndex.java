package dev.loupe.vectorstore.flat;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.durable.AtomicFile;
import dev.loupe.vectorstore.durable.DirectoryLock;
import dev.loupe.vectorstore.durable.MetadataCodec;
import dev.loupe.vectorstore.vectorization.VectorOps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Exact k-nearest-neighbour index: every query scores every stored vector. It is the correctness
 * oracle for the approximate indexes and the CPU twin of the GPU index.
 *
 * <p><b>Layout.</b> Vectors live row after row in one off-heap {@link MemorySegment}, {@code
 * dim · encoding.bytes} bytes a row, little-endian (see {@link Encoding}); rows {@code [0, size)}
 * are live. A delete moves the last row into the hole, so the live rows stay contiguous and a scan
 * never skips. Ids, metadata, squared norms (for Euclidean) and int8 scales sit in parallel heap
 * arrays indexed by row.
 *
 * <p><b>Search.</b> A scan streams the rows once through {@link VectorOps} and keeps a bounded
 * heap per query. Large indexes are split into contiguous ranges scanned by {@code threads}
 * threads; {@link #searchBatch} scores several queries per pass over memory.
 *
 * <p><b>int8 reranking.</b> An int8 scan keeps the best {@code RERANK_FACTOR · k} candidates
 * by their quantized scores and rescores them exactly against the fp32 originals, so int8 answers
 * with fp32 accuracy while scanning a quarter of the bytes. The originals live in the snapshot
 * file, memory-mapped (the page cache holds what reranking touches), and on the heap for rows
 * written since the last commit.
 *
 * <p><b>Durability.</b> {@link #commit()} writes a complete snapshot ({@code flat.vec}: magic,
 * version, header, metadata, vectors, CRC32C, end marker) to a temporary file, forces it to disk,
 * atomically renames it over the previous snapshot and forces the directory. A crash therefore
 * leaves either the previous or the new snapshot, never a mix; leftovers are removed on open. A
 * commit costs a full write of the index: this index is meant for up to a few million vectors
 * that change in batches.
 *
 * <p><b>Thread safety.</b> Searches share a read lock and run concurrently; writes take the write
 * lock for the time of a row copy; a commit holds the read lock while it writes.
 */
public final class FlatVectorIndex implements VectorIndex {
  static final String FILE = "flat.vec";
  private static final long MAGIC = 0x4C4F5550_45464C54L; // "LOUPEFLT"
  private static final long END = 0x464C5445_4E44210AL; // "FLTEND!\n"
  private static final int VERSION = 1;
  private static final int HEADER_BYTES = 32;
  private static final int TRAILER_BYTES = 16;
  /** Scans of fewer floats than this run on the calling thread alone. */
  private static final long PARALLEL_MIN_COMPONENTS = 1 << 18;
  /** int8 candidates reranked exactly per result wanted. */
  static final int RERANK_FACTOR = 4;
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

  private final Path dir;
  private final IndexSpec spec;
  private final Encoding encoding;
  private final int rowBytes;
  private final int threads;
  private final VectorOps ops = VectorOps.get();
  private final ExecutorService pool;
  private final DirectoryLock lock;
  private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
  private final ReentrantLock commitLock = new ReentrantLock();

  // Guarded by rw.
  private Arena arena;
  private MemorySegment data;
  private int capacity;
  private int size;
  private String[] ids;
  private Metadata[] metas;
  private float[] norms2;
  private float[] scales;
  // int8 only: the fp32 originals for reranking. A row's original is either on the heap
  // (originals[r], written since the last commit) or in the snapshot file's fp32 section at
  // position snapshotRow[r], memory-mapped and touched only for reranked candidates.
  private float[][] originals;
  private int[] snapshotRow;
  private Arena snapshotArena;
  private MemorySegment snapshotRaw;
  private long writes;
  private final HashMap<String, Integer> rowOf = new HashMap<>();
  private final Set<String> freeKeys = new TreeSet<>();
  private long heapBytes;
  private boolean dirty;
  private boolean closed;

  private FlatVectorIndex(Path dir, IndexSpec spec, Encoding encoding, int threads, DirectoryLock lock) {
    this.dir = dir;
    this.spec = spec;
    this.encoding = encoding;
    this.rowBytes = spec.dimension() * encoding.bytes;
    this.threads = threads;
    this.lock = lock;
    this.pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
      Thread t = new Thread(r, "flat-scan");
      t.setDaemon(true);
      return t;
    }) : null;
    allocate(16);
  }

  /** Opens or creates the index in {@code dir}, scanning with all available processors. */
  public static FlatVectorIndex open(Path dir, IndexSpec spec, Encoding encoding) throws IOException {
    return open(dir, spec, encoding, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Opens or creates the index in {@code dir}.
   *
   * @throws IllegalArgumentException if the directory holds an index of another dimension,
   *     similarity or encoding
   * @throws IOException if another index instance has the directory open
   * @throws IOException if the snapshot cannot be read or fails its checksum
   */
  public static FlatVectorIndex open(Path dir, IndexSpec spec, Encoding encoding, int threads) throws IOException {
    checkThreads(threads);
    DirectoryLock lock = DirectoryLock.acquire(dir);
    FlatVectorIndex index = new FlatVectorIndex(dir, spec, encoding, threads, lock);
    try {
      AtomicFile.deleteLeftovers(dir);
      Path file = dir.resolve(FILE);
      if (Files.exists(file)) {
        index.load(file);
      }
      return index;
    } catch (IOException | RuntimeException e) {
      index.release();
      throw e;
    }
  }

  /** An index that lives in memory only; {@link #commit()} does nothing. For benchmarks and oracles. */
  public static FlatVectorIndex inMemory(IndexSpec spec, Encoding encoding, int threads) {
    checkThreads(threads);
    return new FlatVectorIndex(null, spec, encoding, threads, null);
  }

  private static void checkThreads(int threads) {
    if (threads < 1 || threads > 1024) {
      throw new IllegalArgumentException("threads " + threads + " is outside [1, 1024]");
    }
  }

  public Encoding encoding() {
    return encoding;
  }

  @Override
  public IndexSpec spec() {
    return spec;
  }

  // ---- writes ----------------------------------------------------------------------------------

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    VectorIndex.checkMetadata(metadata);
    Row row = encode(spec.checkAndPrepare(vector, "vector"));
    rw.writeLock().lock();
    try {
      checkOpen();
      if (rowOf.containsKey(id)) {
        throw new IllegalArgumentException("id '" + id + "' is already present; use update to replace it");
      }
      if (size == capacity) {
        grow(Math.max(16, capacity + (capacity >> 1)));
      }
      int r = size++;
      put(r, id, row, metadata);
      rowOf.put(id, r);
      heapBytes += estimate(id, metadata);
      writes++;
      dirty = true;
    } finally {
      rw.writeLock().unlock();
    }
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    VectorIndex.checkId(id);
    VectorIndex.checkMetadata(metadata);
    Row row = encode(spec.checkAndPrepare(vector, "vector"));
    rw.writeLock().lock();
    try {
      checkOpen();
      Integer r = rowOf.get(id);
      if (r == null) {
        throw new IllegalArgumentException("no item with id '" + id + "' to update; use add");
      }
      heapBytes += estimate(id, metadata) - estimate(id, metas[r]);
      put(r, id, row, metadata);
      writes++;
      dirty = true;
    } finally {
      rw.writeLock().unlock();
    }
  }

  @Override
  public boolean delete(String id) {
    VectorIndex.checkId(id);
    rw.writeLock().lock();
    try {
      checkOpen();
      Integer boxed = rowOf.remove(id);
      if (boxed == null) {
        return false;
      }
      int r = boxed, last = --size;
      heapBytes -= estimate(id, metas[r]);
      if (r != last) {
        MemorySegment.copy(data, (long) last * rowBytes, data, (long) r * rowBytes, rowBytes);
        ids[r] = ids[last];
        metas[r] = metas[last];
        norms2[r] = norms2[last];
        scales[r] = scales[last];
        originals[r] = originals[last];
        snapshotRow[r] = snapshotRow[last];
        rowOf.put(ids[r], r);
      }
      ids[last] = null;
      metas[last] = null;
      originals[last] = null;
      writes++;
      dirty = true;
      return true;
    } finally {
      rw.writeLock().unlock();
    }
  }

  /** An encoded row, prepared outside the lock. */
  private record Row(MemorySegment bytes, float norm2, float scale, float[] original) {}

  private Row encode(float[] v) {
    MemorySegment bytes = MemorySegment.ofArray(new byte[rowBytes]);
    Encoding.Encoded e = encoding.encode(v, bytes, 0);
    return new Row(bytes, e.norm2(), e.scale(), encoding == Encoding.I8 ? v : null);
  }

  private void put(int r, String id, Row row, Metadata metadata) {
    MemorySegment.copy(row.bytes(), 0, data, (long) r * rowBytes, rowBytes);
    ids[r] = id;
    metas[r] = metadata;
    norms2[r] = row.norm2();
    scales[r] = row.scale();
    originals[r] = row.original();
    snapshotRow[r] = -1;
    freeKeys.addAll(metadata.fields().keySet());
  }

  private void allocate(int rows) {
    arena = Arena.ofShared();
    data = arena.allocate(Math.max(1, (long) rows * rowBytes), 64);
    capacity = rows;
    ids = new String[rows];
    metas = new Metadata[rows];
    norms2 = new float[rows];
    scales = new float[rows];
    originals = new float[rows][];
    snapshotRow = new int[rows];
  }

  private void grow(int rows) {
    Arena oldArena = arena;
    MemorySegment old = data;
    String[] oldIds = ids;
    Metadata[] oldMetas = metas;
    float[] oldNorms = norms2, oldScales = scales;
    float[][] oldOriginals = originals;
    int[] oldSnapshotRow = snapshotRow;
    allocate(rows);
    MemorySegment.copy(old, 0, data, 0, (long) size * rowBytes);
    System.arraycopy(oldIds, 0, ids, 0, size);
    System.arraycopy(oldMetas, 0, metas, 0, size);
    System.arraycopy(oldNorms, 0, norms2, 0, size);
    System.arraycopy(oldScales, 0, scales, 0, size);
    System.arraycopy(oldOriginals, 0, originals, 0, size);
    System.arraycopy(oldSnapshotRow, 0, snapshotRow, 0, size);
    oldArena.close();
  }

  // ---- reads -----------------------------------------------------------------------------------

  @Override
  public Optional<Metadata> get(String id) {
    VectorIndex.checkId(id);
    rw.readLock().lock();
    try {
      checkOpen();
      Integer r = rowOf.get(id);
      return r == null ? Optional.empty() : Optional.of(metas[r]);
    } finally {
      rw.readLock().unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>By encoding: {@link Encoding#F32} returns the stored vector exactly; {@link Encoding#F16}
   * the decoded half-precision row (no fp32 copy is kept), within fp16 rounding of the vector
   * given; {@link Encoding#I8} the exact fp32 original that reranking uses, from the heap or the
   * mapped snapshot.
   */
  @Override
  public Optional<float[]> vector(String id) {
    VectorIndex.checkId(id);
    rw.readLock().lock();
    try {
      checkOpen();
      Integer r = rowOf.get(id);
      return r == null ? Optional.empty() : Optional.of(readVector(r));
    } finally {
      rw.readLock().unlock();
    }
  }

  /** A fresh full-precision (I8: the original) or decoded (F16) copy of row {@code r}; caller holds the read lock. */
  private float[] readVector(int r) {
    int dim = spec.dimension();
    float[] v = new float[dim];
    long offset = (long) r * rowBytes;
    switch (encoding) {
      case F32 -> MemorySegment.copy(data, F32, offset, v, 0, dim);
      case F16 -> {
        for (int i = 0; i < dim; i++) {
          v[i] = Float.float16ToFloat(data.get(F16, offset + 2L * i));
        }
      }
      case I8 -> {
        float[] original = originals[r];
        if (original != null) {
          System.arraycopy(original, 0, v, 0, dim);
        } else {
          MemorySegment.copy(snapshotRaw, F32, (long) snapshotRow[r] * dim * 4, v, 0, dim);
        }
      }
    }
    return v;
  }

  @Override
  public int size() {
    rw.readLock().lock();
    try {
      return size;
    } finally {
      rw.readLock().unlock();
    }
  }

  @Override
  public Set<String> fieldNames() {
    rw.readLock().lock();
    try {
      return Set.copyOf(freeKeys);
    } finally {
      rw.readLock().unlock();
    }
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    return searchBatch(List.of(query), k, filter).getFirst();
  }

  @Override
  public List<List<SearchHit>> searchBatch(List<float[]> queries, int k, Filter filter) {
    VectorIndex.checkK(k);
    Filter f = filter == null ? Filter.ALL : filter;
    float[][] qs = new float[queries.size()][];
    for (int j = 0; j < qs.length; j++) {
      qs[j] = spec.checkAndPrepare(queries.get(j), "query");
    }
    rw.readLock().lock();
    try {
      checkOpen();
      f.validate(freeKeys);
      List<List<SearchHit>> results = new ArrayList<>(qs.length);
      // Four queries share a pass (the width of VectorOps.dotMany); more would spill registers.
      for (int from = 0; from < qs.length; from += 4) {
        float[][] group = Arrays.copyOfRange(qs, from, Math.min(qs.length, from + 4));
        if (encoding == Encoding.I8) {
          int candidates = Math.min(VectorIndex.MAX_K, RERANK_FACTOR * k);
          for (int j = 0; j < group.length; j++) {
            results.add(rerank(group[j], scan(new float[][] {group[j]}, candidates, f.matchesAll() ? null : f)[0], k));
          }
          continue;
        }
        for (TopK top : scan(group, k, f.matchesAll() ? null : f)) {
          results.add(hits(top));
        }
      }
      return results;
    } finally {
      rw.readLock().unlock();
    }
  }

  /** Rescores int8 candidates with their fp32 originals; caller holds the read lock. */
  private List<SearchHit> rerank(float[] q, TopK candidates, int k) {
    float[] ignored = new float[candidates.size()];
    int[] rows = candidates.drain(ignored);
    TopK top = new TopK(k);
    float qn2 = 0;
    for (float x : q) {
      qn2 += x * x;
    }
    int dim = spec.dimension();
    for (int r : rows) {
      float dot = 0, n2 = 0;
      float[] original = originals[r];
      if (original != null) {
        for (int i = 0; i < dim; i++) {
          dot = Math.fma(q[i], original[i], dot);
          n2 = Math.fma(original[i], original[i], n2);
        }
      } else {
        long offset = (long) snapshotRow[r] * dim * 4;
        for (int i = 0; i < dim; i++) {
          float x = snapshotRaw.get(F32, offset + 4L * i);
          dot = Math.fma(q[i], x, dot);
          n2 = Math.fma(x, x, n2);
        }
      }
      top.offer(spec.similarity().scoreFromDot(dot, qn2, n2), r);
    }
    return hits(top);
  }

  private List<SearchHit> hits(TopK top) {
    float[] scores = new float[top.size()];
    int[] rows = top.drain(scores);
    List<SearchHit> hits = new ArrayList<>(rows.length);
    for (int i = 0; i < rows.length; i++) {
      hits.add(new SearchHit(ids[rows[i]], scores[i], metas[rows[i]]));
    }
    return hits;
  }

  /** Scans all rows for each query; caller holds the read lock. */
  private TopK[] scan(float[][] queries, int k, Filter filter) {
    int n = size;
    int parts = (long) n * spec.dimension() < PARALLEL_MIN_COMPONENTS ? 1 : threads;
    if (parts == 1) {
      return scanRange(queries, k, filter, 0, n);
    }
    List<Future<TopK[]>> futures = new ArrayList<>(parts - 1);
    for (int p = 1; p < parts; p++) {
      int from = (int) ((long) n * p / parts), to = (int) ((long) n * (p + 1) / parts);
      futures.add(pool.submit(() -> scanRange(queries, k, filter, from, to)));
    }
    TopK[] merged = scanRange(queries, k, filter, 0, (int) ((long) n / parts));
    try {
      for (Future<TopK[]> future : futures) {
        TopK[] part = future.get();
        for (int j = 0; j < merged.length; j++) {
          merged[j].addAll(part[j]);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("search interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("scan thread failed", e.getCause());
    }
    return merged;
  }

  private TopK[] scanRange(float[][] queries, int k, Filter filter, int from, int to) {
    int count = queries.length;
    TopK[] tops = new TopK[count];
    float[] qn2 = new float[count];
    for (int j = 0; j < count; j++) {
      tops[j] = new TopK(k);
      for (float x : queries[j]) {
        qn2[j] += x * x;
      }
    }
    Similarity sim = spec.similarity();
    int enc = encoding.ordinal();
    float[][] kernelQueries = queries;
    if (encoding == Encoding.F16) {
      kernelQueries = new float[count][];
      for (int j = 0; j < count; j++) {
        kernelQueries[j] = queries[j].clone();
        for (int i = 0; i < kernelQueries[j].length; i++) {
          kernelQueries[j][i] *= VectorOps.F16_QUERY_SCALE;
        }
      }
    }
    float[] dots = new float[count];
    MemorySegment data = this.data;
    for (int r = from; r < to; r++) {
      if (filter != null && !filter.test(metas[r])) {
        continue;
      }
      long offset = (long) r * rowBytes;
      if (count == 1) {
        dots[0] = switch (encoding) {
          case F32 -> ops.dotF32(data, offset, kernelQueries[0]);
          case F16 -> ops.dotF16(data, offset, kernelQueries[0]);
          case I8 -> ops.dotI8(data, offset, kernelQueries[0]);
        };
      } else {
        ops.dotMany(enc, data, offset, kernelQueries, count, dots);
      }
      float scale = scales[r], norm2 = norms2[r];
      for (int j = 0; j < count; j++) {
        float score = sim.scoreFromDot(dots[j] * scale, qn2[j], norm2);
        if (score >= tops[j].threshold()) {
          tops[j].offer(score, r);
        }
      }
    }
    return tops;
  }

  @Override
  public long ramBytesUsed() {
    rw.readLock().lock();
    try {
      long pendingOriginals = 0;
      if (encoding == Encoding.I8) {
        for (int r = 0; r < size; r++) {
          pendingOriginals += originals[r] == null ? 0 : 16 + 4L * spec.dimension();
        }
      }
      return (long) capacity * (rowBytes + 4 + 4 + 8 + 8 + 4) + heapBytes + 48L * rowOf.size() + pendingOriginals;
    } finally {
      rw.readLock().unlock();
    }
  }

  private static long estimate(String id, Metadata m) {
    long fields = 0;
    for (var e : m.fields().entrySet()) {
      fields += 80 + 2L * (e.getKey().length() + e.getValue().length());
    }
    return 160 + 2L * (id.length() + m.type().length() + m.path().length() + m.text().length()) + fields;
  }

  // ---- durability ------------------------------------------------------------------------------

  @Override
  public void commit() throws IOException {
    if (dir == null) {
      return;
    }
    commitLock.lock();
    try {
      long writesAtSnapshot;
      rw.readLock().lock();
      try {
        checkOpen();
        if (!dirty) {
          return;
        }
        writesAtSnapshot = writes;
        writeSnapshot();
        dirty = false;
      } finally {
        rw.readLock().unlock();
      }
      if (encoding == Encoding.I8) {
        rw.writeLock().lock();
        try {
          // Rows match the new file's order only if nothing was written since the snapshot;
          // otherwise the old mapping stays valid (an unlinked mapped file lives on) and the
          // next commit remaps.
          if (writes == writesAtSnapshot && !closed) {
            mapOriginals(dir.resolve(FILE));
          }
        } finally {
          rw.writeLock().unlock();
        }
      }
    } finally {
      commitLock.unlock();
    }
  }

  /**
   * Maps the fp32 section of an int8 snapshot and points every row at it, releasing the heap
   * originals; caller holds the write lock and rows {@code [0, size)} are in the file's order.
   */
  private void mapOriginals(Path file) throws IOException {
    Arena arena = Arena.ofShared();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long rawBytes = (long) size * spec.dimension() * 4;
      long at = ch.size() - TRAILER_BYTES - rawBytes;
      MemorySegment raw = rawBytes == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, at, rawBytes, arena);
      if (snapshotArena != null) {
        snapshotArena.close();
      }
      snapshotArena = arena;
      snapshotRaw = raw;
    } catch (IOException | RuntimeException e) {
      arena.close();
      throw e;
    }
    for (int r = 0; r < size; r++) {
      originals[r] = null;
      snapshotRow[r] = r;
    }
  }

  private void writeSnapshot() throws IOException {
    byte[] meta = encodeMetadata();
    long vectorBytes = (long) size * rowBytes;
    var crc = new java.util.zip.CRC32C();
    AtomicFile.replace(dir.resolve(FILE), ch -> {
      MemorySegment header = MemorySegment.ofArray(new byte[HEADER_BYTES]);
      header.set(LONG_BE, 0, MAGIC);
      header.set(INT_BE, 8, VERSION);
      header.set(INT_BE, 12, 0);
      header.set(LONG_BE, 16, meta.length);
      header.set(LONG_BE, 24, vectorBytes);
      write(ch, header, crc);
      write(ch, MemorySegment.ofArray(meta), crc);
      write(ch, data.asSlice(0, vectorBytes), crc);
      if (encoding == Encoding.I8) {
        MemorySegment s = MemorySegment.ofArray(new byte[4 * size]);
        for (int r = 0; r < size; r++) {
          s.set(F32, 4L * r, scales[r]);
        }
        write(ch, s, crc);
        // The fp32 originals, in row order, for reranking.
        int dim = spec.dimension();
        MemorySegment chunk = MemorySegment.ofArray(new byte[dim * 4 * 256]);
        for (int from = 0; from < size; from += 256) {
          int rows = Math.min(256, size - from);
          for (int r = from; r < from + rows; r++) {
            long dst = (long) (r - from) * dim * 4;
            if (originals[r] != null) {
              MemorySegment.copy(originals[r], 0, chunk, F32, dst, dim);
            } else {
              MemorySegment.copy(snapshotRaw, (long) snapshotRow[r] * dim * 4, chunk, dst, dim * 4L);
            }
          }
          write(ch, chunk.asSlice(0, (long) rows * dim * 4), crc);
        }
      }
      MemorySegment trailer = MemorySegment.ofArray(new byte[TRAILER_BYTES]);
      trailer.set(LONG_BE, 0, crc.getValue());
      trailer.set(LONG_BE, 8, END);
      write(ch, trailer, null);
    });
  }

  private static void write(FileChannel ch, MemorySegment segment, java.util.zip.CRC32C crc) throws IOException {
    for (long pos = 0; pos < segment.byteSize(); ) {
      long n = Math.min(1 << 26, segment.byteSize() - pos);
      var buffer = segment.asSlice(pos, n).asByteBuffer();
      if (crc != null) {
        crc.update(buffer.duplicate());
      }
      while (buffer.hasRemaining()) {
        ch.write(buffer);
      }
      pos += n;
    }
  }

  private byte[] encodeMetadata() throws IOException {
    var bytes = new java.io.ByteArrayOutputStream(64 + size * 64);
    var out = new java.io.DataOutputStream(bytes);
    out.writeInt(spec.dimension());
    out.writeUTF(spec.similarity().name());
    out.writeUTF(encoding.name());
    out.writeInt(size);
    for (int r = 0; r < size; r++) {
      MetadataCodec.writeString(out, ids[r]);
      MetadataCodec.write(out, metas[r]);
    }
    out.flush();
    return bytes.toByteArray();
  }

  private void load(Path file) throws IOException {
    try (Arena mapArena = Arena.ofConfined();
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long fileSize = ch.size();
      if (fileSize < HEADER_BYTES + TRAILER_BYTES) {
        throw corrupt(file, "it is " + fileSize + " bytes, shorter than header and trailer");
      }
      MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, mapArena);
      if (seg.get(LONG_BE, 0) != MAGIC) {
        throw corrupt(file, "it does not start with the LOUPEFLT magic");
      }
      int version = seg.get(INT_BE, 8);
      if (version != VERSION) {
        throw corrupt(file, "format version " + version + " is not the supported " + VERSION);
      }
      long metaLength = seg.get(LONG_BE, 16), vectorBytes = seg.get(LONG_BE, 24);
      long body = fileSize - TRAILER_BYTES;
      if (metaLength < 0 || vectorBytes < 0 || HEADER_BYTES + metaLength + vectorBytes > body) {
        throw corrupt(file, "block lengths " + metaLength + " + " + vectorBytes + " exceed the file");
      }
      if (seg.get(LONG_BE, body + 8) != END) {
        throw corrupt(file, "the end marker is missing (truncated write?)");
      }
      var crc = new java.util.zip.CRC32C();
      for (long pos = 0; pos < body; ) {
        long n = Math.min(1 << 26, body - pos);
        crc.update(seg.asSlice(pos, n).asByteBuffer());
        pos += n;
      }
      long stored = seg.get(LONG_BE, body);
      if (stored != crc.getValue()) {
        throw corrupt(file, "checksum " + Long.toHexString(crc.getValue()) + " does not match the stored " + Long.toHexString(stored));
      }
      var in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(seg.asSlice(HEADER_BYTES, metaLength).toArray(ValueLayout.JAVA_BYTE)));
      int dim = in.readInt();
      String sim = in.readUTF(), enc = in.readUTF();
      if (dim != spec.dimension() || !sim.equals(spec.similarity().name()) || !enc.equals(encoding.name())) {
        throw new IllegalArgumentException(
            "index in " + dir + " has dimension " + dim + ", similarity " + sim + " and encoding " + enc
                + "; it was opened with dimension " + spec.dimension() + ", similarity "
                + spec.similarity() + " and encoding " + encoding);
      }
      int n = in.readInt();
      if (n < 0 || (long) n * rowBytes != vectorBytes) {
        throw corrupt(file, n + " items do not match " + vectorBytes + " vector bytes");
      }
      rw.writeLock().lock();
      try {
        if (n > capacity) {
          arena.close();
          allocate(n);
        }
        try {
          for (int r = 0; r < n; r++) {
            String id = MetadataCodec.readString(in, metaLength);
            Metadata m = MetadataCodec.read(in, metaLength);
            ids[r] = id;
            metas[r] = m;
            rowOf.put(id, r);
            freeKeys.addAll(m.fields().keySet());
            heapBytes += estimate(id, m);
          }
        } catch (IOException e) {
          throw corrupt(file, "its metadata block is malformed (" + e.getMessage() + ")");
        }
        MemorySegment.copy(seg, HEADER_BYTES + metaLength, data, 0, vectorBytes);
        long scalesAt = HEADER_BYTES + metaLength + vectorBytes;
        for (int r = 0; r < n; r++) {
          scales[r] = encoding == Encoding.I8 ? seg.get(F32, scalesAt + 4L * r) : 1f;
        }
        size = n;
        for (int r = 0; r < n; r++) {
          norms2[r] = decodedNorm2(r);
        }
        long expected = HEADER_BYTES + metaLength + vectorBytes + (encoding == Encoding.I8 ? 4L * n + 4L * n * dim : 0);
        if (expected != body) {
          throw corrupt(file, "its sections end at byte " + expected + ", not at " + body);
        }
        if (encoding == Encoding.I8) {
          mapOriginals(file);
        }
      } finally {
        rw.writeLock().unlock();
      }
    }
  }

  private float decodedNorm2(int r) {
    long offset = (long) r * rowBytes;
    double sum = 0;
    for (int i = 0; i < spec.dimension(); i++) {
      float x = switch (encoding) {
        case F32 -> data.get(F32, offset + 4L * i);
        case F16 -> Float.float16ToFloat(data.get(F16, offset + 2L * i));
        case I8 -> data.get(ValueLayout.JAVA_BYTE, offset + i) * scales[r];
      };
      sum += (double) x * x;
    }
    return (float) sum;
  }

  private static IOException corrupt(Path file, String why) {
    return new IOException("flat index file " + file + " is not a valid Loupe snapshot: " + why);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("index " + (dir == null ? "(in memory)" : dir) + " is closed");
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      commit();
    } finally {
      rw.writeLock().lock();
      try {
        closed = true;
      } finally {
        rw.writeLock().unlock();
      }
      release();
    }
  }

  private void release() throws IOException {
    if (pool != null) {
      pool.shutdownNow();
    }
    rw.writeLock().lock();
    try {
      closed = true;
      if (arena != null) {
        arena.close();
        arena = null;
      }
      if (snapshotArena != null) {
        snapshotArena.close();
        snapshotArena = null;
      }
    } finally {
      rw.writeLock().unlock();
    }
    if (lock != null) {
      lock.close();
    }
  }

  @Override
  public String toString() {
    return "FlatVectorIndex(" + spec + ", " + encoding + ", " + (dir == null ? "in memory" : dir) + ")";
  }

}
