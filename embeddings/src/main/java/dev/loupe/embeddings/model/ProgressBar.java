package dev.loupe.embeddings.model;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The progress of a pull or import on stderr: bytes, per cent, MB/s and time left. On a terminal
 * one line is redrawn with {@code \r} (at most ten times a second); elsewhere (a log, a pipe) a
 * plain line is printed when a file starts and at each quarter of the model. The rate counts only
 * bytes moved in this run, not those a resumed download already had. Not thread-safe.
 */
final class ProgressBar implements ModelManager.Progress {
  private static final long REDRAW_NANOS = 100_000_000L;
  private static final int WIDTH = 24;

  private final PrintStream err;
  private final boolean terminal;
  private final String label;
  private final LongSupplier nanoClock;

  private long startNanos = -1;
  private long startBytes;
  private long lastDraw;
  private int drawnLength;
  private String currentFile;
  private int lastQuarter = -1;

  ProgressBar(PrintStream err, boolean terminal, String label, LongSupplier nanoClock) {
    this.err = err;
    this.terminal = terminal;
    this.label = label;
    this.nanoClock = nanoClock;
  }

  @Override
  public void update(String file, long fileDone, long fileTotal, long modelDone, long modelTotal) {
    long now = nanoClock.getAsLong();
    if (startNanos < 0) {
      startNanos = now;
      startBytes = modelDone;
    }
    boolean newFile = !file.equals(currentFile);
    currentFile = file;
    boolean finished = modelTotal >= 0 && modelDone >= modelTotal;
    if (terminal) {
      if (newFile || finished || now - lastDraw >= REDRAW_NANOS) {
        lastDraw = now;
        draw(line(file, fileDone, fileTotal, modelDone, modelTotal, now));
      }
      return;
    }
    if (newFile) {
      err.println(label + ": " + file + (fileTotal >= 0 ? " (" + ModelManager.formatBytes(fileTotal) + ")" : ""));
    }
    if (modelTotal > 0) {
      int quarter = (int) Math.min(4, modelDone * 4 / modelTotal);
      if (quarter > lastQuarter) {
        if (lastQuarter >= 0 || quarter > 0) {
          err.println(line(file, fileDone, fileTotal, modelDone, modelTotal, now));
        }
        lastQuarter = quarter;
      }
    }
  }

  @Override
  public void note(String message) {
    if (terminal && drawnLength > 0) {
      err.print("\r" + " ".repeat(drawnLength) + "\r");
      drawnLength = 0;
    }
    err.println(label + ": " + message);
  }

  /** Ends the redrawn line, if one was drawn. */
  void finish() {
    if (terminal && drawnLength > 0) {
      err.println();
      drawnLength = 0;
    }
  }

  private void draw(String line) {
    String padded = line.length() < drawnLength ? line + " ".repeat(drawnLength - line.length()) : line;
    err.print("\r" + padded);
    err.flush();
    drawnLength = line.length();
  }

  private String line(String file, long fileDone, long fileTotal, long done, long total, long now) {
    double seconds = (now - startNanos) / 1e9;
    double rate = seconds > 0 ? (done - startBytes) / seconds : 0;
    StringBuilder b = new StringBuilder(label).append("  ");
    if (total > 0) {
      int filled = (int) Math.min(WIDTH, done * WIDTH / total);
      b.append('[').append("#".repeat(filled)).append("-".repeat(WIDTH - filled)).append("] ")
          .append(String.format(Locale.ROOT, "%3d%%", done * 100 / total)).append("  ")
          .append(ModelManager.formatBytes(done)).append(" / ").append(ModelManager.formatBytes(total));
    } else {
      b.append(ModelManager.formatBytes(done));
    }
    b.append(String.format(Locale.ROOT, "  %.1f MB/s", rate / 1e6));
    if (total > 0 && rate > 0 && done < total) {
      b.append("  ETA ").append(clock((long) ((total - done) / rate)));
    }
    return b.append("  ").append(file).toString();
  }

  private static String clock(long seconds) {
    return seconds >= 3600
        ? String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
  }
}
