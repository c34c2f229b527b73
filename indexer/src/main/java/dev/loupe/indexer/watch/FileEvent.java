package dev.loupe.indexer.watch;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;

/**
 * A file-level fact reported by a {@link FolderWatcher}. Paths are absolute and lie under a
 * watched folder's real path (symbolic links in the roots themselves resolved once, at start).
 *
 * <p>There is no move event: a file moved or renamed inside the watched folders is reported as
 * {@link Deleted} (or {@link DirectoryDeleted}) for the old path plus {@link Changed} for the new
 * one, in either order. The ingest pipeline recognizes the move by the content hash the journal
 * keeps for the old path, and keeps the items rather than re-embedding them.
 */
public sealed interface FileEvent {

  /**
   * A file is new or modified, and stable: its size and modification time did not change for
   * the settle time. Many changes to one file while it is being written produce one event.
   *
   * @param path the file
   * @param size its size when it settled
   * @param modified its modification time when it settled
   */
  record Changed(Path path, long size, Instant modified) implements FileEvent {
    public Changed {
      requireAbsolute(path);
      if (size < 0) throw new IllegalArgumentException("size " + size + " of " + path + " is negative");
      Objects.requireNonNull(modified, "modified");
    }

    /** Size and modification time, as the journal keeps them. */
    public FileState state() {
      return new FileState(size, modified);
    }
  }

  /** A file reported before is gone (deleted, moved away, replaced by a folder or a link, or now skipped). */
  record Deleted(Path path) implements FileEvent {
    public Deleted {
      requireAbsolute(path);
    }
  }

  /**
   * A folder is gone: every file reported before under it (every path starting with
   * {@code directory} plus the separator) is deleted. Reported instead of one {@link Deleted}
   * per file, so that deleting a folder of 10,000 files is one event.
   */
  record DirectoryDeleted(Path directory) implements FileEvent {
    public DirectoryDeleted {
      requireAbsolute(directory);
    }

    /** Whether {@code path} lies under this folder. */
    public boolean covers(Path path) {
      return path.startsWith(directory) && !path.equals(directory);
    }
  }

  /**
   * A warning: a file or folder could not be read (permissions, an I/O error), or a watched folder
   * is missing. Reported once per path and reason; nothing is deleted because of it.
   *
   * @param path the file or folder
   * @param reason what went wrong, for the status page
   */
  record Unreadable(Path path, String reason) implements FileEvent {
    public Unreadable {
      requireAbsolute(path);
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * A full reconciliation scan is done, and every change it found was reported before this
   * event. A file the scan found still being written holds this event back until it settles
   * (or until a later scan finds it again, which then holds back its own).
   */
  record ScanFinished(ScanStats stats) implements FileEvent {
    public ScanFinished {
      Objects.requireNonNull(stats, "stats");
    }
  }

  private static void requireAbsolute(Path path) {
    Objects.requireNonNull(path, "path");
    if (!path.isAbsolute()) throw new IllegalArgumentException("path " + path + " is not absolute");
  }
}
