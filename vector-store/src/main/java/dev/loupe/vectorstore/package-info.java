/**
 * Loupe's vector store: the {@link dev.loupe.vectorstore.VectorIndex} contract and its
 * implementations (exact flat scan in {@code flat}, Lucene HNSW with BM25 in {@code lucene},
 * jvector in {@code jvector}), the scoring kernels in {@code vectorization}, and the vector
 * benchmark in {@code bench}.
 */
package dev.loupe.vectorstore;
