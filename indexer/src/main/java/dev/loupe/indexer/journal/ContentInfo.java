package dev.loupe.indexer.journal;

import java.util.List;
import java.util.Objects;

/**
 * What the journal knows of one content.
 *
 * @param sha lowercase hex SHA-256
 * @param state where it stands
 * @param bound {@link ContentState#DONE}: its item count; {@link ContentState#PENDING} and
 *     {@link ContentState#DELETING}: ordinals below it may be in the index;
 *     {@link ContentState#FAILED}: 0
 * @param extractor the extractor that produced the items (DONE), else empty
 * @param failure why it failed (FAILED), else null
 * @param paths the files that have this content, sorted; empty for an orphan
 */
public record ContentInfo(String sha, ContentState state, int bound, String extractor, Failure failure, List<String> paths) {
  public ContentInfo {
    Objects.requireNonNull(sha, "sha");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(extractor, "extractor");
    paths = List.copyOf(paths);
    if (bound < 0) throw new IllegalArgumentException("bound " + bound + " of " + sha + " is negative");
    if ((state == ContentState.FAILED) != (failure != null)) {
      throw new IllegalArgumentException("content " + sha + " in state " + state
          + (failure == null ? " has no failure" : " has a failure"));
    }
  }

  /** The ids of its items when DONE: {@code sha#0 .. sha#(bound-1)}. */
  public List<String> itemIds() {
    return IngestJournal.itemIds(sha, state == ContentState.DONE ? bound : 0);
  }
}
