package dev.loupe.rag.search;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cuts the part of a passage that best shows why it matched: the window of at most {@link
 * #MAX_LENGTH} characters holding the most query-term occurrences, cut at word boundaries, with
 * the offsets of those occurrences. The result is plain text; marking it up is the caller's job,
 * so nothing in a passage can inject markup. Stateless and thread-safe.
 */
public final class Snippets {
  /** Longest snippet, in characters, ellipses included. */
  public static final int MAX_LENGTH = 300;

  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+");
  private static final String ELLIPSIS = "…";

  /** A snippet and the {@code [start, end)} offsets of the query terms in it. */
  public record Snippet(String text, List<int[]> highlights) {}

  private Snippets() {}

  /** The lower-cased words of {@code text}, in order, without repeats. */
  public static Set<String> terms(String text) {
    Set<String> terms = new LinkedHashSet<>();
    Matcher m = WORD.matcher(text == null ? "" : text);
    while (m.find()) {
      terms.add(m.group().toLowerCase(Locale.ROOT));
    }
    return terms;
  }

  /** The snippet of {@code passage} for the query {@code terms} (empty terms: the passage's start). */
  public static Snippet of(String passage, Set<String> terms) {
    String text = passage.strip().replaceAll("\\s+", " ");
    List<int[]> matches = new ArrayList<>();
    Matcher m = WORD.matcher(text);
    while (m.find()) {
      if (terms.contains(m.group().toLowerCase(Locale.ROOT))) {
        matches.add(new int[] {m.start(), m.end()});
      }
    }
    int budget = MAX_LENGTH - 2 * ELLIPSIS.length();
    if (text.length() <= MAX_LENGTH) {
      return new Snippet(text, matches);
    }
    // The window starting at a match that covers the most matches; the first such wins.
    int bestStart = 0, bestCount = 0;
    for (int i = 0; i < matches.size(); i++) {
      int limit = matches.get(i)[0] + budget;
      int count = 0;
      for (int j = i; j < matches.size() && matches.get(j)[1] <= limit; j++) {
        count++;
      }
      if (count > bestCount) {
        bestCount = count;
        bestStart = matches.get(i)[0];
      }
    }
    // Show a little context before the first match, cut at a space.
    int start = Math.max(0, bestStart - 40);
    if (start > 0) {
      int space = text.indexOf(' ', start);
      start = space >= 0 && space < bestStart ? space + 1 : bestStart;
    }
    int end = Math.min(text.length(), start + budget);
    if (end < text.length()) {
      int space = text.lastIndexOf(' ', end);
      if (space > start) {
        end = space;
      }
    }
    String prefix = start > 0 ? ELLIPSIS : "";
    String suffix = end < text.length() ? ELLIPSIS : "";
    List<int[]> inside = new ArrayList<>();
    int shift = prefix.length() - start;
    for (int[] match : matches) {
      if (match[0] >= start && match[1] <= end) {
        inside.add(new int[] {match[0] + shift, match[1] + shift});
      }
    }
    return new Snippet(prefix + text.substring(start, end) + suffix, inside);
  }
}
