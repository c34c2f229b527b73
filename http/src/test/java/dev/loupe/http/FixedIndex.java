package dev.loupe.http;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.VectorIndex;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A read-only stand-in index that reports a fixed size and records commits and closes, so server
 * tests do not depend on a real store. Writes and searches are not needed by these tests.
 */
final class FixedIndex implements VectorIndex {
  private final IndexSpec spec;
  private final int size;
  volatile int commits;
  volatile boolean closed;

  FixedIndex(IndexSpec spec, int size) {
    this.spec = spec;
    this.size = size;
  }

  @Override
  public IndexSpec spec() {
    return spec;
  }

  @Override
  public void add(String id, float[] vector, Metadata metadata) {
    throw new UnsupportedOperationException("FixedIndex is read-only");
  }

  @Override
  public void update(String id, float[] vector, Metadata metadata) {
    throw new UnsupportedOperationException("FixedIndex is read-only");
  }

  @Override
  public boolean delete(String id) {
    throw new UnsupportedOperationException("FixedIndex is read-only");
  }

  @Override
  public Optional<Metadata> get(String id) {
    return Optional.empty();
  }

  @Override
  public Optional<float[]> vector(String id) {
    return Optional.empty();
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public List<SearchHit> search(float[] query, int k, Filter filter) {
    return List.of();
  }

  @Override
  public Set<String> fieldNames() {
    return Set.of();
  }

  @Override
  public void commit() {
    commits++;
  }

  @Override
  public long ramBytesUsed() {
    return 0;
  }

  @Override
  public void close() {
    commit();
    closed = true;
  }
}
