package dev.loupe.vectorstore;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What an index keeps beside each vector: the item's {@code type} (image, page, text,
 * video-frame, …), the {@code path} of the source file, the 1-based {@code page} (0 when the item
 * has none), a {@code timestamp} in epoch milliseconds, the item's {@code text} (searched by BM25
 * where the index supports keyword search; empty for none) and free string {@code fields}.
 *
 * <p>Filters name these as {@code type}, {@code path}, {@code page}, {@code timestamp} and the
 * free field keys.
 */
public record Metadata(
    String type, String path, int page, long timestamp, String text, Map<String, String> fields) {

  /** The built-in field names; free field keys may not reuse them. */
  public static final Set<String> BUILT_IN_FIELDS = Set.of("type", "path", "page", "timestamp");

  private static final Pattern TYPE = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  private static final Pattern KEY = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");

  public Metadata {
    if (type == null || !TYPE.matcher(type).matches()) {
      throw new IllegalArgumentException(
          "type '" + type + "' must be 1-64 lower-case letters, digits, '_' or '-'");
    }
    if (path == null) {
      throw new IllegalArgumentException("path must not be null (use \"\" for none)");
    }
    if (page < 0) {
      throw new IllegalArgumentException("page " + page + " is negative (use 0 for none)");
    }
    text = text == null ? "" : text;
    fields = fields == null ? Map.of() : fields;
    for (var e : fields.entrySet()) {
      if (e.getKey() == null || !KEY.matcher(e.getKey()).matches()) {
        throw new IllegalArgumentException(
            "field name '" + e.getKey() + "' must start with a letter and use letters, digits,"
                + " '_', '.' or '-' (at most 64)");
      }
      if (BUILT_IN_FIELDS.contains(e.getKey())) {
        throw new IllegalArgumentException(
            "field name '" + e.getKey() + "' is a built-in field; set it through the record");
      }
      if (e.getValue() == null) {
        throw new IllegalArgumentException("field '" + e.getKey() + "' has a null value");
      }
    }
    fields = java.util.Collections.unmodifiableMap(new TreeMap<>(fields));
  }

  /** Metadata with only a type and a path; the rest empty. */
  public static Metadata of(String type, String path) {
    return new Metadata(type, path, 0, 0L, "", Map.of());
  }

  /** The string value of a string field ({@code type}, {@code path} or a free key), or null. */
  public String stringField(String name) {
    return switch (name) {
      case "type" -> type;
      case "path" -> path;
      default -> fields.get(name);
    };
  }

  /** The value of a numeric field ({@code page} or {@code timestamp}). */
  public long numericField(String name) {
    return switch (name) {
      case "page" -> page;
      case "timestamp" -> timestamp;
      default -> throw new IllegalArgumentException("'" + name + "' is not a numeric field");
    };
  }
}
