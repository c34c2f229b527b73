/**
 * The pieces every Loupe-written index file shares: a directory lock, atomic replacement of a
 * file (temporary file, fsync, atomic rename, directory fsync), and the binary form of
 * {@link dev.loupe.vectorstore.Metadata}. Used by the flat and jvector indexes; Lucene brings its
 * own.
 */
package dev.loupe.vectorstore.durable;
