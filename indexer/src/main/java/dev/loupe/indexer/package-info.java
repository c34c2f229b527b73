/**
 * The crash-safe ingest pipeline: a watched inbox, extractors for PDFs, office documents,
 * images and video keyframes, embedding, and writes into the vector store.
 */
package dev.loupe.indexer;
