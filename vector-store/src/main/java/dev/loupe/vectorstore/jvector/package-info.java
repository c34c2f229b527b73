/**
 * The jvector-backed {@link dev.loupe.vectorstore.VectorIndex}: a Vamana graph with optional
 * product quantization and exact reranking, kept beside the Lucene HNSW index for comparison.
 */
package dev.loupe.vectorstore.jvector;
