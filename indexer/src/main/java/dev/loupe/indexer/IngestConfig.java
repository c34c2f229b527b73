package dev.loupe.indexer;

import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.watch.SkipRules;
import dev.loupe.indexer.watch.WatchOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How the {@link Ingester} runs: where it keeps its thumbnails, how parallel it is, how large its
 * queues, batches and commits are, how the watched folders are watched and what one file may cost.
 *
 * @param dataDir the data directory; thumbnails go to {@code <dataDir>/thumbs/<sha>/<ordinal>.jpg}
 *     and the folder is excluded from watching when it lies inside a watched one
 * @param workers extraction threads (files extracted at once)
 * @param queueCapacity files waiting for a worker, and finished files waiting for the index
 *     writer, at most (each queue); a full queue blocks the stage before it (back-pressure)
 * @param embedBatch inputs per embedder call, gathered across files
 * @param commitItems index writes after which the writer commits even when more work waits;
 *     otherwise it commits whenever its queue runs empty (group commit)
 * @param settleTime how long a file must stay unchanged before it is ingested
 * @param rescanInterval time between full reconciliation scans in watch mode
 * @param skipRules names that are never ingested
 * @param limits what one file may cost
 * @param thumbnailSize longest side of a thumbnail, in pixels
 */
public record IngestConfig(
    Path dataDir,
    int workers,
    int queueCapacity,
    int embedBatch,
    int commitItems,
    Duration settleTime,
    Duration rescanInterval,
    SkipRules skipRules,
    ExtractionLimits limits,
    int thumbnailSize) {

  /** 256 pixels on the longest side. */
  public static final int DEFAULT_THUMBNAIL_SIZE = 256;

  public IngestConfig {
    Objects.requireNonNull(dataDir, "dataDir");
    dataDir = dataDir.toAbsolutePath().normalize();
    if (workers < 1 || workers > 256) throw new IllegalArgumentException("workers " + workers + " is outside [1, 256]");
    if (queueCapacity < 1) throw new IllegalArgumentException("queue capacity " + queueCapacity + " must be positive");
    if (embedBatch < 1 || embedBatch > 1024) throw new IllegalArgumentException("embedding batch " + embedBatch + " is outside [1, 1024]");
    if (commitItems < 1) throw new IllegalArgumentException("commit size " + commitItems + " must be positive");
    Objects.requireNonNull(settleTime, "settleTime");
    if (settleTime.isNegative()) throw new IllegalArgumentException("settle time " + settleTime + " is negative");
    Objects.requireNonNull(rescanInterval, "rescanInterval");
    if (rescanInterval.isNegative() || rescanInterval.isZero()) {
      throw new IllegalArgumentException("rescan interval " + rescanInterval + " must be positive");
    }
    Objects.requireNonNull(skipRules, "skipRules");
    Objects.requireNonNull(limits, "limits");
    if (thumbnailSize < 16 || thumbnailSize > 2048) {
      throw new IllegalArgumentException("thumbnail size " + thumbnailSize + " is outside [16, 2048]");
    }
  }

  /**
   * The defaults for a data directory: one worker per core, 64 files per queue, batches of 16,
   * a commit at least every 2,048 writes, {@link WatchOptions#DEFAULT_SETTLE_TIME},
   * {@link WatchOptions#DEFAULT_RESCAN_INTERVAL}, {@link SkipRules#defaults()},
   * {@link ExtractionLimits#defaults()}, 256-pixel thumbnails.
   */
  public static IngestConfig defaults(Path dataDir) {
    return new IngestConfig(dataDir, Runtime.getRuntime().availableProcessors(), 64, 16, 2_048,
        WatchOptions.DEFAULT_SETTLE_TIME, WatchOptions.DEFAULT_RESCAN_INTERVAL, SkipRules.defaults(),
        ExtractionLimits.defaults(), DEFAULT_THUMBNAIL_SIZE);
  }

  /** This configuration with another number of extraction threads. */
  public IngestConfig withWorkers(int n) {
    return new IngestConfig(dataDir, n, queueCapacity, embedBatch, commitItems, settleTime, rescanInterval, skipRules, limits, thumbnailSize);
  }

  /** This configuration with other queue capacities. */
  public IngestConfig withQueueCapacity(int n) {
    return new IngestConfig(dataDir, workers, n, embedBatch, commitItems, settleTime, rescanInterval, skipRules, limits, thumbnailSize);
  }

  /** This configuration with another embedding batch size. */
  public IngestConfig withEmbedBatch(int n) {
    return new IngestConfig(dataDir, workers, queueCapacity, n, commitItems, settleTime, rescanInterval, skipRules, limits, thumbnailSize);
  }

  /** This configuration with another commit size. */
  public IngestConfig withCommitItems(int n) {
    return new IngestConfig(dataDir, workers, queueCapacity, embedBatch, n, settleTime, rescanInterval, skipRules, limits, thumbnailSize);
  }

  /** This configuration with another settle time. */
  public IngestConfig withSettleTime(Duration d) {
    return new IngestConfig(dataDir, workers, queueCapacity, embedBatch, commitItems, d, rescanInterval, skipRules, limits, thumbnailSize);
  }

  /** This configuration with another time between full scans. */
  public IngestConfig withRescanInterval(Duration d) {
    return new IngestConfig(dataDir, workers, queueCapacity, embedBatch, commitItems, settleTime, d, skipRules, limits, thumbnailSize);
  }

  /** This configuration with other extraction limits. */
  public IngestConfig withLimits(ExtractionLimits l) {
    return new IngestConfig(dataDir, workers, queueCapacity, embedBatch, commitItems, settleTime, rescanInterval, skipRules, l, thumbnailSize);
  }

  /** This configuration with another thumbnail size. */
  public IngestConfig withThumbnailSize(int pixels) {
    return new IngestConfig(dataDir, workers, queueCapacity, embedBatch, commitItems, settleTime, rescanInterval, skipRules, limits, pixels);
  }

  /** The folder thumbnails are kept in. */
  public Path thumbnailDir() {
    return dataDir.resolve("thumbs");
  }

  /**
   * The data folder's own subfolders, never watched: the indexes, the journal, thumbnails and
   * models. The rest of it may be (the default watch folder is {@code <data>/inbox}).
   */
  static final List<String> DATA_SUBFOLDERS = List.of("index", "journal", "thumbs", "models");

  /** Watch options for these roots: this configuration's settle time, scan interval and skip rules, the data subfolders excluded. */
  WatchOptions watchOptions(List<Path> roots, boolean useWatchService) {
    return WatchOptions.of(roots).withSettleTime(settleTime).withRescanInterval(rescanInterval).withSkipRules(skipRules)
        .withWatchService(useWatchService).withMaxPending(Math.max(WatchOptions.DEFAULT_MAX_PENDING, queueCapacity))
        .withExcluded(DATA_SUBFOLDERS.stream().map(dataDir::resolve).toList());
  }
}
