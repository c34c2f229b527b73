package dev.loupe.rag;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the {@code [n]} citations in an answer and maps them to the sources that were numbered
 * so. Numbers that name no source are reported apart (a model that invents a citation is visible).
 * Stateless and thread-safe.
 */
public final class Citations {
  /** {@code [3]}, and each number of {@code [2, 5]} or {@code [2][5]}. */
  private static final Pattern BRACKET = Pattern.compile("\\[(\\d{1,3}(?:\\s*,\\s*\\d{1,3})*)]");

  /** What an answer cites: the sources in order of first citation, and numbers that match none. */
  public record Cited(List<Source> sources, List<Integer> unknown) {
    public Cited {
      sources = List.copyOf(sources);
      unknown = List.copyOf(unknown);
    }
  }

  private Citations() {}

  /** The citation numbers of {@code text}, in order of first appearance. */
  public static List<Integer> numbers(String text) {
    Set<Integer> seen = new LinkedHashSet<>();
    Matcher m = BRACKET.matcher(text);
    while (m.find()) {
      for (String n : m.group(1).split(",")) {
        seen.add(Integer.parseInt(n.strip()));
      }
    }
    return List.copyOf(seen);
  }

  /** The sources {@code text} cites among {@code sources}. */
  public static Cited of(String text, List<Source> sources) {
    List<Source> cited = new ArrayList<>();
    List<Integer> unknown = new ArrayList<>();
    for (int n : numbers(text)) {
      sources.stream().filter(s -> s.n() == n).findFirst().ifPresentOrElse(cited::add, () -> unknown.add(n));
    }
    return new Cited(cited, unknown);
  }
}
