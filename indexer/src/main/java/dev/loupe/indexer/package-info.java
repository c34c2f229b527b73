/**
 * The crash-safe ingest pipeline: a watched inbox, extractors for PDFs, office documents,
 * images and video keyframes, embedding, and writes into the vector store.
 *
 * <p>{@link dev.loupe.indexer.Ingester} ties the parts together: the watcher
 * ({@link dev.loupe.indexer.watch}) reports stable files, the journal
 * ({@link dev.loupe.indexer.journal}) decides by content hash what to ingest and keeps every
 * file's state durable, the extractors ({@link dev.loupe.indexer.extract}) read the files, the
 * chunker ({@link dev.loupe.indexer.chunk}) cuts their text into passages, and the embedders and
 * indexes it is given (text passages in one embedding space, visuals in the CLIP space) receive
 * the items. {@link dev.loupe.indexer.IngestConfig} says how it runs,
 * {@link dev.loupe.indexer.IngestStatus} how it is doing, and
 * {@link dev.loupe.indexer.IngestSummary} what a one-shot ingest left.
 */
package dev.loupe.indexer;
