package dev.loupe.indexer.watch;

import java.time.Duration;
import java.util.Objects;

/**
 * What one full reconciliation scan found. The counts are of what the walk saw; the events
 * themselves are reported before the {@link FileEvent.ScanFinished} that carries these stats.
 *
 * @param scan number of the full scan, 1 for the one at start
 * @param trigger why it ran
 * @param files regular files seen in the watched folders (skipped ones not counted)
 * @param directories folders entered, the roots not counted
 * @param differing files that were new or differed from the last reported state when seen
 * @param missing files reported before that the walk did not see: deleted ones, and ones created
 *     after the walk passed their folder; each is checked, and reported deleted only if gone
 * @param skipped names skipped: hidden, temporary, symbolic links, special files, folder loops
 * @param unreadable files or folders that could not be read
 * @param missingRoots watched folders that were missing or no longer folders; their files are kept
 * @param elapsed how long the walk took (informational)
 */
public record ScanStats(
    long scan,
    Trigger trigger,
    long files,
    long directories,
    long differing,
    long missing,
    long skipped,
    long unreadable,
    int missingRoots,
    Duration elapsed) {

  public ScanStats {
    if (scan < 1) throw new IllegalArgumentException("scan number " + scan + " must be positive");
    Objects.requireNonNull(trigger, "trigger");
    if (files < 0 || directories < 0 || differing < 0 || missing < 0 || skipped < 0 || unreadable < 0 || missingRoots < 0) {
      throw new IllegalArgumentException("negative count in scan " + scan + ": files " + files + ", directories " + directories
          + ", differing " + differing + ", missing " + missing + ", skipped " + skipped + ", unreadable " + unreadable
          + ", missing roots " + missingRoots);
    }
    Objects.requireNonNull(elapsed, "elapsed");
  }

  /** Why a full scan ran. */
  public enum Trigger {
    /** The scan every watcher runs when it starts. */
    STARTUP,
    /** The periodic reconciliation. */
    PERIODIC,
    /** {@link FolderWatcher#rescanNow()}. */
    REQUESTED,
    /** The watch service lost events (its queue overflowed, or more notifications waited than the watcher holds) or a watched folder vanished. */
    OVERFLOW
  }
}
