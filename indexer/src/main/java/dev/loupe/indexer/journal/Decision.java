package dev.loupe.indexer.journal;

import java.util.List;
import java.util.Objects;

/**
 * The journal's answer to a change of one path.
 *
 * @param action what to do
 * @param sha the content the path now has (lowercase hex SHA-256), or null when it has none
 *     ({@link Action#HASH}, a removal, a path-level failure)
 * @param orphaned contents that lost their last path through this change while their items are
 *     still indexed. Retire them with {@link IngestJournal#retire} in the same index commit as the
 *     new content's items to replace a modified file atomically, or leave them for {@link
 *     IngestJournal#collectOrphans} so that a file moved by delete-then-create keeps its items.
 */
public record Decision(Action action, String sha, List<String> orphaned) {
  public Decision {
    Objects.requireNonNull(action, "action");
    orphaned = List.copyOf(orphaned);
    if ((action == Action.INGEST || action == Action.LINKED) && sha == null) {
      throw new IllegalArgumentException(action + " decision without a content hash");
    }
  }

  static Decision of(Action action, String sha) {
    return new Decision(action, sha, List.of());
  }
}
