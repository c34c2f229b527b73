package dev.loupe.indexer.watch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which file and folder names the watcher ignores: hidden names (starting with a dot) and a set
 * of name patterns for temporary editor and download files. A skipped folder is not entered, so
 * nothing under it is reported.
 *
 * <p>Patterns are globs over one name (never a path): {@code *} matches any run of characters,
 * {@code ?} exactly one, everything else itself; matching ignores case, so {@code thumbs.db}
 * is skipped like {@code Thumbs.db}. The defaults, {@link #DEFAULT_PATTERNS}:
 *
 * <table>
 *   <caption>default patterns</caption>
 *   <tr><td>{@code ~$*}</td><td>Microsoft Office owner files of open documents</td></tr>
 *   <tr><td>{@code *.tmp}</td><td>temporary files of many programs</td></tr>
 *   <tr><td>{@code *.swp}, {@code *.swx}</td><td>Vim swap files</td></tr>
 *   <tr><td>{@code *~}</td><td>backup files of Emacs, gedit and others</td></tr>
 *   <tr><td>{@code .#*}</td><td>Emacs lock files (also hidden)</td></tr>
 *   <tr><td>{@code *.part}</td><td>Firefox, wget and KDE partial downloads</td></tr>
 *   <tr><td>{@code *.crdownload}</td><td>Chrome partial downloads</td></tr>
 *   <tr><td>{@code .DS_Store}</td><td>macOS folder metadata (also hidden)</td></tr>
 *   <tr><td>{@code Thumbs.db}, {@code desktop.ini}</td><td>Windows folder metadata</td></tr>
 * </table>
 *
 * <p>Immutable and thread-safe.
 */
public final class SkipRules {

  /** The default patterns, in the order documented above. */
  public static final List<String> DEFAULT_PATTERNS = List.of(
      "~$*", "*.tmp", "*.swp", "*.swx", "*~", ".#*", "*.part", "*.crdownload", ".DS_Store", "Thumbs.db", "desktop.ini");

  private static final SkipRules DEFAULTS = new SkipRules(true, DEFAULT_PATTERNS);

  private final boolean skipHidden;
  private final Set<String> patterns;
  // The patterns sorted by shape, so the common cases cost a string comparison, not a regex.
  private final Set<String> exact = new LinkedHashSet<>();
  private final List<String> prefixes = new ArrayList<>();
  private final List<String> suffixes = new ArrayList<>();
  private final List<Pattern> globs = new ArrayList<>();

  private SkipRules(boolean skipHidden, Collection<String> patterns) {
    this.skipHidden = skipHidden;
    LinkedHashSet<String> copy = new LinkedHashSet<>();
    for (String p : patterns) {
      if (p == null || p.isBlank()) throw new IllegalArgumentException("skip pattern '" + p + "' is blank");
      if (p.indexOf('/') >= 0 || p.indexOf('\\') >= 0) {
        throw new IllegalArgumentException("skip pattern '" + p + "' contains a path separator; patterns match one file or folder name");
      }
      copy.add(p);
      String lower = p.toLowerCase(Locale.ROOT);
      int stars = count(lower, '*');
      boolean question = lower.indexOf('?') >= 0;
      if (stars == 0 && !question) {
        exact.add(lower);
      } else if (stars == 1 && !question && lower.endsWith("*")) {
        prefixes.add(lower.substring(0, lower.length() - 1));
      } else if (stars == 1 && !question && lower.startsWith("*")) {
        suffixes.add(lower.substring(1));
      } else {
        globs.add(compile(p));
      }
    }
    this.patterns = java.util.Collections.unmodifiableSet(copy);
  }

  /** Hidden names and {@link #DEFAULT_PATTERNS}. */
  public static SkipRules defaults() {
    return DEFAULTS;
  }

  /**
   * Rules with exactly these patterns.
   *
   * @param skipHidden whether names starting with a dot are skipped
   * @param patterns name globs, see the class comment
   * @throws IllegalArgumentException naming a blank pattern or one with a path separator
   */
  public static SkipRules of(boolean skipHidden, Collection<String> patterns) {
    return new SkipRules(skipHidden, patterns);
  }

  /** These rules plus more patterns. */
  public SkipRules withPatterns(String... more) {
    List<String> all = new ArrayList<>(patterns);
    all.addAll(List.of(more));
    return new SkipRules(skipHidden, all);
  }

  /** These rules without the given patterns (compared exactly as written). */
  public SkipRules withoutPatterns(String... less) {
    List<String> all = new ArrayList<>(patterns);
    all.removeAll(List.of(less));
    return new SkipRules(skipHidden, all);
  }

  /** These rules with hidden names skipped or not. */
  public SkipRules withSkipHidden(boolean skip) {
    return new SkipRules(skip, patterns);
  }

  /** Whether names starting with a dot are skipped. */
  public boolean skipHidden() {
    return skipHidden;
  }

  /** The patterns, in the order given. */
  public Set<String> patterns() {
    return patterns;
  }

  /** Whether a file or folder with this name is ignored. */
  public boolean skips(String name) {
    if (skipHidden && name.startsWith(".")) return true;
    String lower = name.toLowerCase(Locale.ROOT);
    if (exact.contains(lower)) return true;
    for (String p : prefixes) if (lower.startsWith(p)) return true;
    for (String s : suffixes) if (lower.endsWith(s)) return true;
    for (Pattern g : globs) if (g.matcher(name).matches()) return true;
    return false;
  }

  private static int count(String s, char c) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) if (s.charAt(i) == c) n++;
    return n;
  }

  private static Pattern compile(String glob) {
    StringBuilder regex = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' || c == '?') {
        if (!literal.isEmpty()) regex.append(Pattern.quote(literal.toString()));
        literal.setLength(0);
        regex.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (!literal.isEmpty()) regex.append(Pattern.quote(literal.toString()));
    return Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.DOTALL);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SkipRules other && other.skipHidden == skipHidden && other.patterns.equals(patterns);
  }

  @Override
  public int hashCode() {
    return Boolean.hashCode(skipHidden) * 31 + patterns.hashCode();
  }

  @Override
  public String toString() {
    return "SkipRules[hidden=" + skipHidden + ", patterns=" + patterns + "]";
  }
}
