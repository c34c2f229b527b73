/**
 * The Lucene-backed {@link dev.loupe.vectorstore.HybridIndex}: HNSW vectors (optionally scalar
 * quantized) and BM25 text in one Lucene 10.6 index, the appliance's default on-disk store.
 */
package dev.loupe.vectorstore.lucene;
