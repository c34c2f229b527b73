/**
 * Watching the watched folders: {@link dev.loupe.indexer.watch.FolderWatcher} turns the
 * operating system's change notifications and periodic full reconciliation scans into a clean
 * stream of stable, file-level {@link dev.loupe.indexer.watch.FileEvent}s for the ingest
 * pipeline. Nothing here reads file contents: identity by content hash, and with it the
 * recognition of moves and duplicates, belongs to the pipeline and its journal.
 */
package dev.loupe.indexer.watch;
