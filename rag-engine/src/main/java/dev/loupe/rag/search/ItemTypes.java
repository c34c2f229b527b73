package dev.loupe.rag.search;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The item types the indexes hold and the names the API gives them: {@code chunk} is shown as
 * {@code text} and {@code frame} as {@code video-frame}; {@code image}, {@code page} and
 * {@code embedded-image} keep their names. Both spellings are accepted in filters.
 */
public final class ItemTypes {
  /** The type of text passages, in the text index. */
  public static final String CHUNK = "chunk";
  /** The types of the visual index. */
  public static final Set<String> VISUAL = Set.of("image", "page", "embedded-image", "frame");

  private static final Map<String, String> ALIASES = Map.of("text", CHUNK, "video-frame", "frame");
  private static final Map<String, String> SHOWN = Map.of(CHUNK, "text", "frame", "video-frame");

  private ItemTypes() {}

  /** The index type for an API or index type name. @throws IllegalArgumentException naming an unknown one */
  public static String indexType(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT);
    String t = ALIASES.getOrDefault(n, n);
    if (!t.equals(CHUNK) && !VISUAL.contains(t)) {
      Set<String> known = new TreeSet<>(VISUAL);
      known.add("text");
      known.add("video-frame");
      known.remove("frame");
      throw new IllegalArgumentException("type '" + name + "' is not one of " + known);
    }
    return t;
  }

  /** The index types for a set of names; empty stays empty (every type). */
  public static Set<String> indexTypes(Iterable<String> names) {
    Set<String> out = new LinkedHashSet<>();
    for (String n : names) {
      out.add(indexType(n));
    }
    return Set.copyOf(out);
  }

  /** The name the API shows for an index type. */
  public static String shown(String indexType) {
    return SHOWN.getOrDefault(indexType, indexType);
  }
}
