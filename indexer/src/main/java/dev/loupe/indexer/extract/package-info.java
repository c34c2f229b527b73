/**
 * Extraction: reading a file into {@link dev.loupe.indexer.extract.Extracted} pieces (text
 * sections, images, metadata). {@link dev.loupe.indexer.extract.Extractors} detects a file's type
 * ({@link dev.loupe.indexer.extract.MediaTypes}, Apache Tika's detector) and hands it to the
 * {@link dev.loupe.indexer.extract.Extractor} for that type: {@code pdf} (PDFBox), {@code image}
 * (ImageIO through the embeddings' decoder), {@code tika} (office, e-mail, HTML and text
 * documents) and {@code video}. {@link dev.loupe.indexer.extract.Deadline} enforces the size and
 * time limits of {@link dev.loupe.indexer.extract.ExtractionLimits}.
 */
package dev.loupe.indexer.extract;
