package dev.loupe.indexer.journal;

/**
 * One record of the journal file: the new state of one path or one content. Records are states,
 * not operations, so replaying them is a plain sequence of puts and removes, and a compacted file
 * is the same kind of records written from the current maps.
 */
sealed interface JournalRecord {

  /** Path {@code path} now has {@code sha} (or, with {@code sha} null, failed itself). */
  record PathPut(String path, String sha, long size, long mtime, Failure failure) implements JournalRecord {}

  /** Path {@code path} is gone. */
  record PathGone(String path) implements JournalRecord {}

  /** Content {@code sha} is now in {@code state}. */
  record ContentPut(String sha, ContentState state, int bound, String extractor, Failure failure) implements JournalRecord {}

  /** Content {@code sha} is forgotten. */
  record ContentGone(String sha) implements JournalRecord {}
}
