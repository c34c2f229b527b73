/**
 * The OpenSearch backend: {@link dev.loupe.vectorstore.opensearch.OpenSearchVectorIndex}, one
 * OpenSearch index per embedding space on an existing cluster (k-NN plugin, Lucene HNSW engine),
 * over an {@link dev.loupe.vectorstore.opensearch.OpenSearchConnection} with node failover and
 * retries.
 */
package dev.loupe.vectorstore.opensearch;
