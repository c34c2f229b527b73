package dev.loupe.indexer.journal;

/** Where one content (one SHA-256) stands in the ingest journal. */
public enum ContentState {
  /**
   * Being ingested, or to be ingested again after a restart. Items with ordinals below the
   * content's {@linkplain ContentInfo#bound() bound} may be in the index, committed or not.
   */
  PENDING,
  /** Its items {@code sha#0 .. sha#(count-1)} are committed to the index. */
  DONE,
  /** Extraction failed; it has no items. Retried only when one of its files changes. */
  FAILED,
  /**
   * Its items are being deleted from the index (its last file went away, or a crash left a
   * pathless pending ingest). Ordinals below the bound may still be present.
   */
  DELETING;

  /** The byte that stands for this state in the journal file. */
  byte code() {
    return (byte) ordinal();
  }

  static ContentState ofCode(byte code) {
    ContentState[] all = values();
    if (code < 0 || code >= all.length) {
      throw new IllegalArgumentException("unknown content state code " + code);
    }
    return all[code];
  }
}
