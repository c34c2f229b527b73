package dev.loupe.indexer.journal;

/**
 * One record of the journal file: the new state of one path or one content. Records are states,
 * not operations, so replaying them is a plain sequence of puts and removes, and a compacted file
 * is the same kind of records written from the current maps.
 */
sealed interface JournalRecord {

  /**
   * Path {@code path} now has {@code sha} (or, with {@code sha} null, failed itself); {@code mtime}
   * in nanoseconds since the epoch, known only to the millisecond when {@code coarse} (a record of
   * a version 1 file, which kept milliseconds).
   */
  record PathPut(String path, String sha, long size, long mtime, Failure failure, boolean coarse) implements JournalRecord {
    public PathPut {
      if (coarse && mtime % IngestJournal.NANOS_PER_MILLI != 0) {
        throw new IllegalArgumentException("path " + path + " has a millisecond time of " + mtime + " ns, not whole milliseconds");
      }
    }

    /** A put with the time to the nanosecond. */
    public PathPut(String path, String sha, long size, long mtime, Failure failure) {
      this(path, sha, size, mtime, failure, false);
    }
  }

  /** Path {@code path} is gone. */
  record PathGone(String path) implements JournalRecord {}

  /** Content {@code sha} is now in {@code state}. */
  record ContentPut(String sha, ContentState state, int bound, String extractor, Failure failure) implements JournalRecord {}

  /** Content {@code sha} is forgotten. */
  record ContentGone(String sha) implements JournalRecord {}
}
