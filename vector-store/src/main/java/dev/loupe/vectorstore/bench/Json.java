package dev.loupe.vectorstore.bench;

import java.util.List;
import java.util.Map;

/** Writes maps, lists, strings, numbers and booleans as one line of JSON; enough for benchmark reports. */
final class Json {
  private Json() {}

  static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object value) {
    switch (value) {
      case null -> sb.append("null");
      case Map<?, ?> map -> {
        sb.append('{');
        boolean first = true;
        for (var e : map.entrySet()) {
          if (!first) sb.append(',');
          first = false;
          string(sb, String.valueOf(e.getKey()));
          sb.append(':');
          write(sb, e.getValue());
        }
        sb.append('}');
      }
      case List<?> list -> {
        sb.append('[');
        for (int i = 0; i < list.size(); i++) {
          if (i > 0) sb.append(',');
          write(sb, list.get(i));
        }
        sb.append(']');
      }
      case Double d when d.isNaN() || d.isInfinite() -> sb.append("null");
      case Number n -> sb.append(n);
      case Boolean b -> sb.append(b);
      default -> string(sb, value.toString());
    }
  }

  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
          else sb.append(ch);
        }
      }
    }
    sb.append('"');
  }
}
