package dev.loupe.indexer.journal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The journal file is damaged before its end (not a torn tail, which is truncated with a log
 * line): a record's checksum does not match, or its content is impossible. Loupe does not guess
 * which files the lost records described; the message says how to start over.
 */
public final class CorruptJournalException extends IOException {
  private final transient Path file;
  private final long offset;

  public CorruptJournalException(Path file, long offset, String problem) {
    super("ingest journal " + file + " is corrupt at byte offset " + offset + ": " + problem
        + ". Move the file aside and restart; the next scan re-hashes every file and ingests what"
        + " the index lacks (files already indexed may be embedded again)");
    this.file = file;
    this.offset = offset;
  }

  public Path file() {
    return file;
  }

  public long offset() {
    return offset;
  }
}
