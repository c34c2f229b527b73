package dev.loupe.indexer.watch;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A listener that keeps every event and lets a test wait for one. The wait is bounded only to
 * turn a hang into a failure; a failure says what was awaited and what arrived, never how long
 * it took.
 */
final class Recorder implements FolderWatcher.Listener {
  /** Only bounds a hang; generous for a loaded 2-core machine. */
  static final long HANG_GUARD_MS = 180_000;

  private final List<FileEvent> events = new ArrayList<>();

  @Override
  public synchronized void onEvent(FileEvent event) {
    events.add(event);
  }

  synchronized List<FileEvent> events() {
    return List.copyOf(events);
  }

  /**
   * Polls until {@code probe} answers non-null over the events so far (it may also look at other
   * state, e.g. the watcher's status), and returns its answer.
   */
  <T> T await(String what, Function<List<FileEvent>, T> probe) throws InterruptedException {
    long deadline = System.currentTimeMillis() + HANG_GUARD_MS;
    while (true) {
      synchronized (this) {
        T answer = probe.apply(events);
        if (answer != null) return answer;
        if (System.currentTimeMillis() > deadline) fail("never happened: " + what + "; events so far (" + events.size() + "): " + tail(events));
      }
      Thread.sleep(10);
    }
  }

  /** Waits for an event matching {@code test}. */
  <E extends FileEvent> E awaitEvent(String what, Class<E> type, Predicate<E> test) throws InterruptedException {
    return await(what, es -> {
      for (FileEvent e : es) {
        if (type.isInstance(e) && test.test(type.cast(e))) return type.cast(e);
      }
      return null;
    });
  }

  FileEvent.Changed awaitChanged(Path p) throws InterruptedException {
    return awaitEvent("Changed(" + p + ")", FileEvent.Changed.class, c -> c.path().equals(p));
  }

  /** Waits for the end of full scan {@code n} or a later one. */
  ScanStats awaitScan(long n) throws InterruptedException {
    return awaitEvent("ScanFinished(scan >= " + n + ")", FileEvent.ScanFinished.class, s -> s.stats().scan() >= n).stats();
  }

  /** Events about {@code p} (Changed, Deleted, Unreadable). */
  synchronized List<FileEvent> about(Path p) {
    List<FileEvent> out = new ArrayList<>();
    for (FileEvent e : events) {
      boolean hit = switch (e) {
        case FileEvent.Changed c -> c.path().equals(p);
        case FileEvent.Deleted d -> d.path().equals(p);
        case FileEvent.Unreadable u -> u.path().equals(p);
        case FileEvent.DirectoryDeleted d -> d.covers(p) || d.directory().equals(p);
        case FileEvent.ScanFinished s -> false;
      };
      if (hit) out.add(e);
    }
    return out;
  }

  synchronized <E extends FileEvent> List<E> all(Class<E> type) {
    return events.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** The files the events say exist, with their states: what a journal fed by them would hold. */
  synchronized Map<Path, FileState> state() {
    Map<Path, FileState> s = new LinkedHashMap<>();
    for (FileEvent e : events) {
      switch (e) {
        case FileEvent.Changed c -> s.put(c.path(), c.state());
        case FileEvent.Deleted d -> s.remove(d.path());
        case FileEvent.DirectoryDeleted d -> s.keySet().removeIf(d::covers);
        case FileEvent.Unreadable u -> {}
        case FileEvent.ScanFinished f -> {}
      }
    }
    return s;
  }

  private static String tail(List<FileEvent> es) {
    return es.size() <= 40 ? es.toString() : "..." + es.subList(es.size() - 40, es.size());
  }
}
