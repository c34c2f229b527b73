package dev.loupe.indexer.watch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The watched folders as real paths, without duplicates or folders inside others, and the scope
 * rules: a path is watched when it lies under a root, no name between the root and it is
 * skipped, and it is not under an excluded folder. Immutable and thread-safe.
 */
final class WatchRoots {
  private static final System.Logger LOG = System.getLogger(WatchRoots.class.getName());

  private final List<Path> roots;
  private final List<Path> excluded;
  private final SkipRules skip;

  private WatchRoots(List<Path> roots, List<Path> excluded, SkipRules skip) {
    this.roots = List.copyOf(roots);
    this.excluded = List.copyOf(excluded);
    this.skip = skip;
  }

  /**
   * Resolves the roots to real paths and drops duplicates and roots inside other roots.
   *
   * @throws IllegalArgumentException naming every root that is missing or not a folder, or a
   *     root inside an excluded folder
   */
  static WatchRoots resolve(List<Path> given, List<Path> excludedGiven, SkipRules skip) {
    List<String> problems = new ArrayList<>();
    List<Path> real = new ArrayList<>();
    for (Path p : given) {
      Path abs = p.toAbsolutePath().normalize();
      if (!Files.exists(abs)) {
        problems.add(abs + " does not exist");
      } else if (!Files.isDirectory(abs)) {
        problems.add(abs + " is not a folder");
      } else {
        try {
          real.add(abs.toRealPath());
        } catch (IOException e) {
          problems.add(abs + " cannot be resolved (" + e.getMessage() + ")");
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("cannot watch: " + String.join("; ", problems));
    }
    List<Path> excluded = new ArrayList<>();
    for (Path p : excludedGiven) {
      Path abs = p.toAbsolutePath().normalize();
      try {
        excluded.add(Files.exists(abs) ? abs.toRealPath() : abs);
      } catch (IOException e) {
        excluded.add(abs);
      }
    }
    // Shortest first, so an outer root is kept before any root inside it is considered.
    real.sort(Comparator.comparingInt(Path::getNameCount).thenComparing(Comparator.naturalOrder()));
    List<Path> kept = new ArrayList<>();
    for (Path r : real) {
      Path outer = kept.stream().filter(r::startsWith).findFirst().orElse(null);
      if (outer == null) {
        kept.add(r);
      } else if (!outer.equals(r)) {
        LOG.log(System.Logger.Level.INFO, "watched folder " + r + " lies inside watched folder " + outer + "; it is watched once, as part of " + outer);
      }
    }
    for (Path r : kept) {
      for (Path x : excluded) {
        if (r.startsWith(x)) {
          throw new IllegalArgumentException("cannot watch " + r + ": it lies inside the excluded folder " + x);
        }
      }
    }
    return new WatchRoots(kept, excluded, skip);
  }

  List<Path> list() {
    return roots;
  }

  SkipRules skipRules() {
    return skip;
  }

  /** The root {@code p} lies under (or is), or null. */
  Path rootOf(Path p) {
    for (Path r : roots) {
      if (p.startsWith(r)) return r;
    }
    return null;
  }

  boolean isRoot(Path p) {
    return roots.contains(p);
  }

  boolean isExcluded(Path dir) {
    for (Path x : excluded) {
      if (dir.startsWith(x)) return true;
    }
    return false;
  }

  /** Whether {@code p} is a path the watcher reports: under a root, not skipped by name on the way, not excluded. */
  boolean inScope(Path p) {
    Path root = rootOf(p);
    if (root == null || isExcluded(p)) return false;
    for (Path name : root.relativize(p)) {
      if (skip.skips(name.toString())) return false;
    }
    return true;
  }

  /** Whether the root of {@code p} exists and is a folder (not a link). */
  boolean rootPresent(Path p) {
    Path root = rootOf(p);
    return root != null && Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS);
  }
}
