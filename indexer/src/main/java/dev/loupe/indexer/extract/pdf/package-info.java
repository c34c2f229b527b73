/** PDF extraction with Apache PDFBox: page text, page renders and embedded images. */
package dev.loupe.indexer.extract.pdf;
