package dev.loupe.llm.generate;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A JSON schema compiled for {@link JsonConstraint}: the subset {@code type} object ({@code properties},
 * {@code required}, {@code additionalProperties: false}), array ({@code items}, {@code minItems},
 * {@code maxItems}), string ({@code enum}, {@code minLength}, {@code maxLength}), number, integer, boolean and
 * null, nested to any depth, and {@code enum} of strings, numbers, booleans and null without a type. The
 * annotations {@code title}, {@code description}, {@code $schema}, {@code $id}, {@code default} and
 * {@code examples} are ignored; any other keyword is refused with an error naming it and where it is.
 *
 * <p>The documents it describes are written compactly, which is what the constraint lets a model produce:
 * <ul>
 *   <li>no whitespace outside strings (none after ':' or ',' either);
 *   <li>an object's properties in the schema's order, each at most once, optional ones may be left out, no
 *       others;
 *   <li>numbers at most 15 integer digits, 15 fraction digits and 2 exponent digits; strings of valid UTF-8
 *       without raw control characters, escapes other than lone-surrogate {@code \\u} escapes allowed (the
 *       lengths count characters, an escape as one).
 * </ul>
 * These bounds keep every accepted prefix completable and the automaton finite but for string contents.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class JsonSchema {
  static final int UNBOUNDED = Integer.MAX_VALUE;
  private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "default",
      "examples", "$comment");

  /** A compiled schema node. Identity equality: the automaton's states refer to nodes by identity. */
  abstract static sealed class Node permits ObjectNode, ArrayNode, StringNode, NumberNode, LiteralNode {}

  static final class ObjectNode extends Node {
    final String[] names;
    final Node[] values;
    final boolean[] required;
    /** keys[k]: the quoted keys that may come when property k is the first not yet passed. */
    final LiteralTrie[] keys;

    ObjectNode(String[] names, Node[] values, boolean[] required) {
      this.names = names;
      this.values = values;
      this.required = required;
      keys = new LiteralTrie[names.length + 1];
      for (int k = 0; k <= names.length; k++) {
        List<byte[]> alternatives = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        for (int i = k; i < names.length; i++) {
          alternatives.add(quote(names[i]).getBytes(StandardCharsets.UTF_8));
          ids.add(i);
          if (required[i]) {
            break; // a required property cannot be skipped
          }
        }
        keys[k] = new LiteralTrie(alternatives, ids);
      }
    }

    /** Whether the object may close when property {@code next} is the first not yet passed. */
    boolean mayClose(int next) {
      for (int i = next; i < names.length; i++) {
        if (required[i]) {
          return false;
        }
      }
      return true;
    }
  }

  static final class ArrayNode extends Node {
    final Node items;
    final int minItems;
    final int maxItems;

    ArrayNode(Node items, int minItems, int maxItems) {
      this.items = items;
      this.minItems = minItems;
      this.maxItems = maxItems;
    }
  }

  static final class StringNode extends Node {
    final int minLength;
    final int maxLength;

    StringNode(int minLength, int maxLength) {
      this.minLength = minLength;
      this.maxLength = maxLength;
    }
  }

  static final class NumberNode extends Node {
    final boolean integer;

    NumberNode(boolean integer) {
      this.integer = integer;
    }
  }

  /** One of a fixed set of JSON texts (an enum, true/false, null). */
  static final class LiteralNode extends Node {
    final LiteralTrie trie;

    LiteralNode(List<String> texts) {
      List<byte[]> alternatives = new ArrayList<>();
      List<Integer> ids = new ArrayList<>();
      for (String t : texts) {
        alternatives.add(t.getBytes(StandardCharsets.UTF_8));
        ids.add(ids.size());
      }
      trie = new LiteralTrie(alternatives, ids);
    }
  }

  /** A byte trie over a few alternatives; node 0 is the root. Immutable. */
  static final class LiteralTrie {
    private final List<int[]> children = new ArrayList<>();
    private final List<Integer> terminal = new ArrayList<>();
    private final List<Boolean> leaf = new ArrayList<>();

    LiteralTrie(List<byte[]> alternatives, List<Integer> ids) {
      newNode();
      for (int a = 0; a < alternatives.size(); a++) {
        int node = 0;
        for (byte b : alternatives.get(a)) {
          int next = children.get(node)[b & 0xFF];
          if (next < 0) {
            next = newNode();
            children.get(node)[b & 0xFF] = next;
            leaf.set(node, false);
          }
          node = next;
        }
        terminal.set(node, ids.get(a));
      }
    }

    private int newNode() {
      int[] c = new int[256];
      java.util.Arrays.fill(c, -1);
      children.add(c);
      terminal.add(-1);
      leaf.add(true);
      return children.size() - 1;
    }

    int next(int node, int b) {
      return children.get(node)[b];
    }

    /** The alternative's id ending at {@code node}, or -1. */
    int terminal(int node) {
      return terminal.get(node);
    }

    boolean isLeaf(int node) {
      return leaf.get(node);
    }
  }

  private final Node root;
  private final String source;

  private JsonSchema(Node root, String source) {
    this.root = root;
    this.source = source;
  }

  /**
   * The schema in {@code json}.
   *
   * @throws IllegalArgumentException when the text is not JSON, or names an unsupported keyword or type (naming
   *     them and the path, such as {@code $.properties.tags})
   */
  public static JsonSchema parse(String json) {
    return of(asObject(new MiniJson(json).document(), "$"));
  }

  /** The schema as a tree of {@code Map}, {@code List}, {@code String}, {@code Number}, {@code Boolean}, null. */
  public static JsonSchema of(Map<String, Object> schema) {
    return new JsonSchema(compile(schema, "$"), MiniJson.write(schema));
  }

  Node root() {
    return root;
  }

  /** Whether {@code text} is a whole document of this schema in the compact form described above. */
  public boolean accepts(String text) {
    JsonAutomaton.State s = JsonAutomaton.initial(this);
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      s = JsonAutomaton.step(s, b & 0xFF);
      if (s == null) {
        return false;
      }
    }
    return JsonAutomaton.isComplete(s);
  }

  @Override
  public String toString() {
    return source;
  }

  private static Node compile(Map<String, Object> schema, String path) {
    Set<String> unsupported = new TreeSet<>();
    for (String key : schema.keySet()) {
      if (!ANNOTATIONS.contains(key) && !Set.of("type", "properties", "required", "additionalProperties", "items",
          "minItems", "maxItems", "enum", "minLength", "maxLength").contains(key)) {
        unsupported.add(key);
      }
    }
    if (!unsupported.isEmpty()) {
      throw new IllegalArgumentException("unsupported JSON schema keyword" + (unsupported.size() > 1 ? "s " : " ")
          + String.join(", ", unsupported) + " at " + path + "; supported: type, properties, required, "
          + "additionalProperties: false, items, minItems, maxItems, enum, minLength, maxLength");
    }
    Object type = schema.get("type");
    if (type != null && !(type instanceof String)) {
      throw new IllegalArgumentException("type " + MiniJson.write(type) + " at " + path
          + " is not supported: give a single type name");
    }
    Object enumValues = schema.get("enum");
    if (enumValues != null) {
      if (!(enumValues instanceof List<?> values) || values.isEmpty()) {
        throw new IllegalArgumentException("enum at " + path + " must be a non-empty array");
      }
      List<String> texts = new ArrayList<>();
      for (Object v : values) {
        boolean scalar = v == null || v instanceof String || v instanceof Number || v instanceof Boolean;
        if (!scalar) {
          throw new IllegalArgumentException("enum value " + MiniJson.write(v) + " at " + path
              + " is not supported: only strings, numbers, booleans and null");
        }
        if (type != null && !typeOf(v).equals(type) && !(type.equals("number") && typeOf(v).equals("integer"))) {
          throw new IllegalArgumentException("enum value " + MiniJson.write(v) + " at " + path
              + " is not of the schema's type " + type);
        }
        texts.add(MiniJson.write(v));
      }
      return new LiteralNode(texts);
    }
    if (type == null) {
      throw new IllegalArgumentException("schema at " + path + " has neither type nor enum");
    }
    return switch ((String) type) {
      case "object" -> {
        Object additional = schema.get("additionalProperties");
        if (additional != null && !Boolean.FALSE.equals(additional)) {
          throw new IllegalArgumentException("additionalProperties " + MiniJson.write(additional) + " at " + path
              + " is not supported: only false (no properties beyond the listed ones)");
        }
        Map<String, Object> properties = schema.containsKey("properties")
            ? asObject(schema.get("properties"), path + ".properties") : Map.of();
        List<String> required = new ArrayList<>();
        if (schema.get("required") instanceof List<?> list) {
          for (Object r : list) {
            if (!(r instanceof String name) || !properties.containsKey(name)) {
              throw new IllegalArgumentException("required " + MiniJson.write(r) + " at " + path
                  + " is not one of its properties " + properties.keySet());
            }
            required.add(name);
          }
        } else if (schema.containsKey("required")) {
          throw new IllegalArgumentException("required at " + path + " must be an array of property names");
        }
        String[] names = properties.keySet().toArray(String[]::new);
        Node[] values = new Node[names.length];
        boolean[] req = new boolean[names.length];
        for (int i = 0; i < names.length; i++) {
          values[i] = compile(asObject(properties.get(names[i]), path + ".properties." + names[i]),
              path + ".properties." + names[i]);
          req[i] = required.contains(names[i]);
        }
        yield new ObjectNode(names, values, req);
      }
      case "array" -> {
        if (!schema.containsKey("items")) {
          throw new IllegalArgumentException("array at " + path + " needs items (a schema for its elements)");
        }
        int min = count(schema, "minItems", 0, path);
        int max = count(schema, "maxItems", UNBOUNDED, path);
        if (min > max) {
          throw new IllegalArgumentException("minItems " + min + " exceeds maxItems " + max + " at " + path);
        }
        yield new ArrayNode(compile(asObject(schema.get("items"), path + ".items"), path + ".items"), min, max);
      }
      case "string" -> {
        int min = count(schema, "minLength", 0, path);
        int max = count(schema, "maxLength", UNBOUNDED, path);
        if (min > max) {
          throw new IllegalArgumentException("minLength " + min + " exceeds maxLength " + max + " at " + path);
        }
        yield new StringNode(min, max);
      }
      case "number" -> new NumberNode(false);
      case "integer" -> new NumberNode(true);
      case "boolean" -> new LiteralNode(List.of("true", "false"));
      case "null" -> new LiteralNode(List.of("null"));
      default -> throw new IllegalArgumentException("type '" + type + "' at " + path
          + " is not supported; supported: object, array, string, number, integer, boolean, null");
    };
  }

  private static String typeOf(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String) {
      return "string";
    }
    if (v instanceof Boolean) {
      return "boolean";
    }
    if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return "integer";
    }
    return "number";
  }

  private static int count(Map<String, Object> schema, String key, int absent, String path) {
    Object v = schema.get(key);
    if (v == null) {
      return absent;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.doubleValue() < 0
        || n.doubleValue() > 1_000_000) {
      throw new IllegalArgumentException(key + " " + MiniJson.write(v) + " at " + path
          + " must be a whole number from 0 to 1000000");
    }
    return n.intValue();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asObject(Object v, String path) {
    if (!(v instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException("schema at " + path + " must be a JSON object, not " + MiniJson.write(v));
    }
    return (Map<String, Object>) map;
  }

  static String quote(String s) {
    return MiniJson.write(s);
  }

  /** A small strict JSON reader and writer for schemas: objects keep their key order. */
  static final class MiniJson {
    private final String text;
    private int at;

    MiniJson(String text) {
      this.text = text;
    }

    Object document() {
      Object v = value();
      space();
      if (at != text.length()) {
        throw error("trailing text");
      }
      return v;
    }

    private Object value() {
      space();
      if (at >= text.length()) {
        throw error("unexpected end");
      }
      char c = text.charAt(at);
      switch (c) {
        case '{' -> {
          at++;
          Map<String, Object> map = new LinkedHashMap<>();
          space();
          if (peek('}')) {
            return map;
          }
          do {
            space();
            if (at >= text.length() || text.charAt(at) != '"') {
              throw error("expected a key");
            }
            String key = string();
            space();
            expect(':');
            if (map.put(key, value()) != null) {
              throw error("duplicate key '" + key + "'");
            }
            space();
          } while (peek(','));
          expect('}');
          return map;
        }
        case '[' -> {
          at++;
          List<Object> list = new ArrayList<>();
          space();
          if (peek(']')) {
            return list;
          }
          do {
            list.add(value());
            space();
          } while (peek(','));
          expect(']');
          return list;
        }
        case '"' -> {
          return string();
        }
        default -> {
          for (String word : new String[] {"true", "false", "null"}) {
            if (text.startsWith(word, at)) {
              at += word.length();
              return word.equals("null") ? null : Boolean.valueOf(word);
            }
          }
          int start = at;
          while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
            at++;
          }
          String number = text.substring(start, at);
          if (!number.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) {
            at = start;
            throw error("expected a value");
          }
          return number.matches("-?[0-9]{1,18}") ? (Object) Long.parseLong(number) : (Object) Double.parseDouble(number);
        }
      }
    }

    private String string() {
      at++; // opening quote
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (at >= text.length()) {
          throw error("unterminated string");
        }
        char c = text.charAt(at++);
        if (c == '"') {
          return sb.toString();
        }
        if (c < 0x20) {
          throw error("raw control character in a string");
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = at < text.length() ? text.charAt(at++) : '?';
        switch (e) {
          case '"', '\\', '/' -> sb.append(e);
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'u' -> {
            if (at + 4 > text.length()) {
              throw error("short \\u escape");
            }
            sb.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
            at += 4;
          }
          default -> throw error("bad escape \\" + e);
        }
      }
    }

    private void space() {
      while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
        at++;
      }
    }

    private boolean peek(char c) {
      if (at < text.length() && text.charAt(at) == c) {
        at++;
        return true;
      }
      return false;
    }

    private void expect(char c) {
      if (!peek(c)) {
        throw error("expected '" + c + "'");
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("the JSON schema is not valid JSON: " + what + " at offset " + at);
    }

    static String write(Object v) {
      StringBuilder sb = new StringBuilder();
      write(v, sb);
      return sb.toString();
    }

    private static void write(Object v, StringBuilder sb) {
      switch (v) {
        case null -> sb.append("null");
        case String s -> {
          sb.append('"');
          for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
              case '"' -> sb.append("\\\"");
              case '\\' -> sb.append("\\\\");
              case '\n' -> sb.append("\\n");
              case '\r' -> sb.append("\\r");
              case '\t' -> sb.append("\\t");
              default -> {
                if (c < 0x20) {
                  sb.append(String.format("\\u%04x", (int) c));
                } else {
                  sb.append(c);
                }
              }
            }
          }
          sb.append('"');
        }
        case Map<?, ?> map -> {
          sb.append('{');
          boolean first = true;
          for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!first) {
              sb.append(',');
            }
            first = false;
            write(String.valueOf(e.getKey()), sb);
            sb.append(':');
            write(e.getValue(), sb);
          }
          sb.append('}');
        }
        case List<?> list -> {
          sb.append('[');
          for (int i = 0; i < list.size(); i++) {
            if (i > 0) {
              sb.append(',');
            }
            write(list.get(i), sb);
          }
          sb.append(']');
        }
        case Double d when d == Math.rint(d) && Math.abs(d) < 1e15 -> sb.append(d.longValue());
        case Float f when f == Math.rint(f) && Math.abs(f) < 1e7 -> sb.append(f.longValue());
        default -> sb.append(v);
      }
    }
  }
}
