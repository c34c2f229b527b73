package dev.loupe.rag.tool;

import dev.loupe.llm.generate.JsonSchema;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One tool call the model wrote: after {@link #MARKER}, a compact JSON object such as {@code
 * {"tool":"search","query":"tax 2023"}}, {@code {"tool":"time"}} or {@code
 * {"tool":"calc","expression":"12.5*4"}}.
 *
 * @param tool {@code search}, {@code time} or {@code calc}
 * @param argument the query or the expression; empty for {@code time}
 * @param json the object as the model wrote it
 */
public record ToolCall(String tool, String argument, String json) {
  /** What the model writes to start a call; the JSON object follows it. */
  public static final String MARKER = "<tool_call>";
  /** The tools the system prompt declares. */
  public static final List<String> TOOLS = List.of("search", "time", "calc");
  /** The longest query or expression a call may carry, in characters. */
  public static final int MAX_ARGUMENT = 80;
  /** The schema a call's JSON is constrained to. */
  public static final JsonSchema SCHEMA = schema(TOOLS);

  public ToolCall {
    if (!TOOLS.contains(tool)) {
      throw new IllegalArgumentException("tool '" + tool + "' is not one of " + TOOLS);
    }
    argument = argument == null ? "" : argument;
  }

  /**
   * The schema of a call to one of {@code tools}: the tool's name, then an optional query (when
   * {@code search} is among them) and an optional expression (when {@code calc} is); a call that
   * can only be {@code search} requires its query.
   */
  public static JsonSchema schema(List<String> tools) {
    Map<String, Object> properties = new LinkedHashMap<>();
    properties.put("tool", Map.of("enum", List.copyOf(tools)));
    if (tools.contains("search")) {
      properties.put("query", Map.of("type", "string", "minLength", 1, "maxLength", MAX_ARGUMENT));
    }
    if (tools.contains("calc")) {
      properties.put("expression", Map.of("type", "string", "minLength", 1, "maxLength", MAX_ARGUMENT));
    }
    Map<String, Object> schema = new LinkedHashMap<>();
    schema.put("type", "object");
    schema.put("properties", properties);
    schema.put("required", tools.equals(List.of("search")) ? List.of("tool", "query") : List.of("tool"));
    schema.put("additionalProperties", false);
    return JsonSchema.of(schema);
  }

  /**
   * Reads a call's compact JSON object of string values.
   *
   * @throws IllegalArgumentException naming the text when it is not such an object or names no known tool
   */
  public static ToolCall parse(String json) {
    Map<String, String> fields = new LinkedHashMap<>();
    int[] at = {0};
    String s = json.strip();
    try {
      expect(s, at, '{');
      skip(s, at);
      if (s.charAt(at[0]) != '}') {
        while (true) {
          skip(s, at);
          String key = string(s, at);
          skip(s, at);
          expect(s, at, ':');
          skip(s, at);
          fields.put(key, string(s, at));
          skip(s, at);
          if (s.charAt(at[0]) == ',') {
            at[0]++;
            continue;
          }
          break;
        }
      }
      expect(s, at, '}');
    } catch (StringIndexOutOfBoundsException e) {
      throw new IllegalArgumentException("tool call '" + json + "' is not a whole JSON object", e);
    }
    String tool = fields.get("tool");
    if (tool == null) {
      throw new IllegalArgumentException("tool call '" + json + "' names no tool");
    }
    String argument = tool.equals("calc") ? fields.get("expression") : fields.get("query");
    return new ToolCall(tool, argument, json);
  }

  private static void skip(String s, int[] at) {
    while (at[0] < s.length() && Character.isWhitespace(s.charAt(at[0]))) at[0]++;
  }

  private static void expect(String s, int[] at, char c) {
    skip(s, at);
    if (s.charAt(at[0]) != c) {
      throw new IllegalArgumentException("tool call '" + s + "' has '" + s.charAt(at[0]) + "' where '" + c + "' belongs");
    }
    at[0]++;
  }

  private static String string(String s, int[] at) {
    expect(s, at, '"');
    StringBuilder out = new StringBuilder();
    while (true) {
      char c = s.charAt(at[0]++);
      if (c == '"') return out.toString();
      if (c != '\\') {
        out.append(c);
        continue;
      }
      char e = s.charAt(at[0]++);
      switch (e) {
        case 'n' -> out.append('\n');
        case 't' -> out.append('\t');
        case 'r' -> out.append('\r');
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'u' -> {
          out.append((char) Integer.parseInt(s.substring(at[0], at[0] + 4), 16));
          at[0] += 4;
        }
        default -> out.append(e);
      }
    }
  }
}
