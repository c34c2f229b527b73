/** Picture files: decoding through the embeddings' image decoder, and the EXIF date. */
package dev.loupe.indexer.extract.image;
