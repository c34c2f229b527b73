package dev.loupe.indexer.journal;

import java.util.List;
import java.util.Objects;

/** Index work the journal hands the pipeline: after a restart, or when contents are retired. */
public sealed interface Work {

  /** The content hash (lowercase hex SHA-256) this work is about. */
  String sha();

  /**
   * Ingest a content again: after a restart ({@link IngestJournal#recover()}), or to replace its
   * items ({@link IngestJournal#reingest}).
   *
   * @param paths the files that have it (absolute path strings); hash one of them again before
   *     extracting it, since it may have changed while Loupe was down
   * @param cleanBound ordinals below this may be in the index from an interrupted attempt or an
   *     earlier ingest: delete items {@code sha#0 .. sha#(cleanBound-1)} (absent ones are fine) in
   *     the commit that writes the new ones
   */
  record Ingest(String sha, List<String> paths, int cleanBound) implements Work {
    public Ingest {
      Objects.requireNonNull(sha, "sha");
      paths = List.copyOf(paths);
      if (cleanBound < 0) throw new IllegalArgumentException("clean bound " + cleanBound + " is negative");
    }
  }

  /**
   * Delete a content's items: {@code sha#0 .. sha#(bound-1)} (absent ones are fine), commit the
   * index, then call {@link IngestJournal#purged}.
   */
  record Delete(String sha, int bound) implements Work {
    public Delete {
      Objects.requireNonNull(sha, "sha");
      if (bound < 0) throw new IllegalArgumentException("bound " + bound + " is negative");
    }
  }
}
