package dev.loupe.indexer.watch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** File helpers for the watcher tests. */
final class WatchFixtures {
  private static final AtomicLong TEMP = new AtomicLong();

  private WatchFixtures() {}

  /**
   * Writes {@code content} to {@code file} the way a careful downloader does: into a hidden
   * temporary file beside it, then renamed over it, so the watcher never sees it half-written
   * (the tests that are about half-written files write in place on purpose).
   */
  static Path put(Path file, String content) {
    try {
      Files.createDirectories(file.getParent());
      Path temp = file.resolveSibling(".put-" + TEMP.incrementAndGet() + "-" + file.getFileName());
      Files.writeString(temp, content, StandardCharsets.UTF_8);
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The regular files under {@code root} that the default rules keep, without following links, with their states. */
  static Map<Path, FileState> disk(Path root) throws IOException {
    SkipRules skip = SkipRules.defaults();
    Map<Path, FileState> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.equals(root)) continue;
        boolean skipped = false;
        for (Path name : root.relativize(p)) skipped |= skip.skips(name.toString());
        if (skipped) continue;
        BasicFileAttributes a;
        try {
          a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
          continue;
        }
        if (a.isRegularFile()) out.put(p, new FileState(a.size(), a.lastModifiedTime().toInstant()));
      }
    }
    return out;
  }

  static FileState stateOf(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return new FileState(a.size(), a.lastModifiedTime().toInstant());
  }
}
