package dev.loupe.indexer.journal;

/** What the pipeline has to do about a file, as {@link IngestJournal} decides it. */
public enum Action {
  /** Nothing: the file is as the journal knows it (indexed, in progress, or failed and unchanged). */
  UNCHANGED,
  /** Hash the file and report the hash with {@link IngestJournal#hashed}. */
  HASH,
  /**
   * Ingest the content: extract, embed, {@link IngestJournal#reserve reserve} ordinals, write the
   * items, commit the index, then {@link IngestJournal#done done} or {@link IngestJournal#failed
   * failed}.
   */
  INGEST,
  /**
   * The path now lists content the journal already has (indexed, in progress, failed or being
   * deleted): nothing to embed. A moved file, a renamed file and a second copy end here.
   */
  LINKED
}
