package dev.loupe.indexer.watch;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a {@link FolderWatcher} watches: which folders, how long a file must stay unchanged before
 * it is reported, how often everything is reconciled, what is skipped, and how much it may hold.
 *
 * @param roots the watched folders (at least one); checked when the watcher is built
 * @param settleTime how long a file's size and modification time must stay unchanged before it is
 *     reported (and how long a path must stay gone before its deletion is)
 * @param rescanInterval time between the end of one full reconciliation scan and the start of
 *     the next; a full scan also runs at start, on {@link FolderWatcher#rescanNow()} and when the
 *     watch service loses events
 * @param skipRules names ignored
 * @param useWatchService whether to listen to the operating system's change notifications
 *     (inotify on Linux); without them changes are found by the scans alone, which suits
 *     network file systems that do not notify and one-shot ingests
 * @param maxPending most files waiting to settle at once; a scan that finds more waits for room
 *     (back-pressure), so memory stays flat however large the folder
 * @param excluded folders never entered, e.g. Loupe's own data folder when it lies inside a
 *     watched one
 */
public record WatchOptions(
    List<Path> roots,
    Duration settleTime,
    Duration rescanInterval,
    SkipRules skipRules,
    boolean useWatchService,
    int maxPending,
    List<Path> excluded) {

  /** 2 seconds: long enough for a copy or download in progress to show a change, short enough to feel prompt. */
  public static final Duration DEFAULT_SETTLE_TIME = Duration.ofSeconds(2);
  /** 5 minutes. */
  public static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofMinutes(5);
  /** 10,000 files: about 3 MB of bookkeeping, far more than an embedding pipeline absorbs in one settle time. */
  public static final int DEFAULT_MAX_PENDING = 10_000;

  public WatchOptions {
    roots = List.copyOf(Objects.requireNonNull(roots, "roots"));
    if (roots.isEmpty()) throw new IllegalArgumentException("no folder to watch: give at least one root");
    Objects.requireNonNull(settleTime, "settleTime");
    if (settleTime.isNegative()) throw new IllegalArgumentException("settle time " + settleTime + " is negative");
    Objects.requireNonNull(rescanInterval, "rescanInterval");
    if (rescanInterval.isNegative() || rescanInterval.isZero()) {
      throw new IllegalArgumentException("rescan interval " + rescanInterval + " must be positive");
    }
    Objects.requireNonNull(skipRules, "skipRules");
    if (maxPending < 1) throw new IllegalArgumentException("maximum pending files " + maxPending + " must be positive");
    excluded = List.copyOf(Objects.requireNonNull(excluded, "excluded"));
  }

  /** These roots with the defaults: 2 s settle time, a scan every 5 minutes, {@link SkipRules#defaults()}, the watch service on, 10,000 pending files, nothing excluded. */
  public static WatchOptions of(List<Path> roots) {
    return new WatchOptions(roots, DEFAULT_SETTLE_TIME, DEFAULT_RESCAN_INTERVAL, SkipRules.defaults(), true, DEFAULT_MAX_PENDING, List.of());
  }

  /** {@link #of(List)} with these roots. */
  public static WatchOptions of(Path... roots) {
    return of(List.of(roots));
  }

  /** These options with another settle time. */
  public WatchOptions withSettleTime(Duration d) {
    return new WatchOptions(roots, d, rescanInterval, skipRules, useWatchService, maxPending, excluded);
  }

  /** These options with another time between full scans. */
  public WatchOptions withRescanInterval(Duration d) {
    return new WatchOptions(roots, settleTime, d, skipRules, useWatchService, maxPending, excluded);
  }

  /** These options with other skip rules. */
  public WatchOptions withSkipRules(SkipRules rules) {
    return new WatchOptions(roots, settleTime, rescanInterval, rules, useWatchService, maxPending, excluded);
  }

  /** These options with the watch service on or off (off: scans only). */
  public WatchOptions withWatchService(boolean use) {
    return new WatchOptions(roots, settleTime, rescanInterval, skipRules, use, maxPending, excluded);
  }

  /** These options with another bound on files waiting to settle. */
  public WatchOptions withMaxPending(int n) {
    return new WatchOptions(roots, settleTime, rescanInterval, skipRules, useWatchService, n, excluded);
  }

  /** These options with other excluded folders. */
  public WatchOptions withExcluded(List<Path> folders) {
    return new WatchOptions(roots, settleTime, rescanInterval, skipRules, useWatchService, maxPending, folders);
  }
}
