package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document served at {@code /openapi.json}: it is 3.1, it names exactly the routes the
 * real server registers, and its examples fit its own schemas.
 */
class OpenApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");

  /**
   * Need not be documented (it is, all the same): the document itself. The static UI is not a
   * route, so the server's route list does not hold it.
   */
  private static final Set<String> UNDOCUMENTED = Set.of("GET /openapi.json");

  private static JsonNode served(Path tmp, List<String> routes) throws Exception {
    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, tmp.resolve("data"), tmp.resolve("watch")));
    try {
      routes.addAll(server.routes());
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(server.localUrl().resolve("openapi.json")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
      return JSON.readTree(r.body());
    } finally {
      server.close();
    }
  }

  private static Set<String> documented(JsonNode doc) {
    Set<String> all = new TreeSet<>();
    doc.get("paths").properties().forEach(path -> path.getValue().properties().forEach(op -> {
      if (METHODS.contains(op.getKey())) {
        all.add(op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey());
      }
    }));
    return all;
  }

  @Test
  void the_served_document_is_openapi_3_1_and_names_exactly_the_routes_the_server_registers(@TempDir Path tmp) throws Exception {
    List<String> routes = new ArrayList<>();
    JsonNode doc = served(tmp, routes);
    assertTrue(doc.path("openapi").asText().matches("3\\.1\\.[0-9]+"), doc.path("openapi").toString());
    assertTrue(routes.contains("GET /api/search"), "the route list comes from the running server: " + routes);

    Set<String> registered = new TreeSet<>(routes);
    Set<String> documented = documented(doc);
    Set<String> undocumented = new TreeSet<>(registered);
    undocumented.removeAll(documented);
    undocumented.removeAll(UNDOCUMENTED);
    assertEquals(Set.of(), undocumented, "routes the server registers that openapi.json does not describe");

    Set<String> missing = new TreeSet<>(documented);
    missing.removeAll(registered);
    assertEquals(Set.of(), missing, "routes openapi.json describes that the server does not register");
  }

  @Test
  void every_operation_has_an_example_response_and_every_example_fits_its_schema() throws Exception {
    JsonNode doc = JSON.readTree(OpenApi.document());
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (var path : (Iterable<java.util.Map.Entry<String, JsonNode>>) doc.get("paths").properties()::iterator) {
      for (var op : (Iterable<java.util.Map.Entry<String, JsonNode>>) path.getValue().properties()::iterator) {
        if (!METHODS.contains(op.getKey())) continue;
        String where = op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey();
        JsonNode operation = op.getValue();
        if (!operation.hasNonNull("responses") || operation.get("responses").isEmpty()) {
          problems.add(where + ": no responses");
          continue;
        }
        boolean exampled = false;
        for (var response : (Iterable<java.util.Map.Entry<String, JsonNode>>) operation.get("responses").properties()::iterator) {
          JsonNode r = resolve(doc, response.getValue(), problems, where);
          if (!response.getKey().matches("[1-5][0-9][0-9]")) problems.add(where + ": status '" + response.getKey() + "'");
          if (!r.hasNonNull("description")) problems.add(where + " " + response.getKey() + ": no description");
          checked += checkContent(doc, r.path("content"), where + " " + response.getKey(), problems);
          exampled |= hasExample(r.path("content"));
        }
        if (!exampled) problems.add(where + ": no example response");
        JsonNode body = resolve(doc, operation.path("requestBody"), problems, where);
        checked += checkContent(doc, body.path("content"), where + " request", problems);
        for (JsonNode p : operation.path("parameters")) {
          JsonNode parameter = resolve(doc, p, problems, where);
          if (!parameter.hasNonNull("name") || !parameter.hasNonNull("in") || !parameter.hasNonNull("schema")) {
            problems.add(where + ": parameter without name, in or schema: " + parameter);
          } else if (parameter.has("example")) {
            checked++;
            validate(doc, parameter.get("example"), parameter.get("schema"), where + " parameter " + parameter.get("name").asText(), problems);
          }
          if (parameter.path("in").asText().equals("path") && !path.getKey().contains("{" + parameter.path("name").asText() + "}")) {
            problems.add(where + ": path parameter " + parameter.path("name") + " is not in the path");
          }
        }
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(checked >= 20, "only " + checked + " examples were checked");
  }

  @Test
  void the_structural_check_catches_a_wrong_type_a_missing_field_and_a_value_outside_an_enum() throws Exception {
    JsonNode doc = JSON.readTree(OpenApi.document());
    JsonNode error = JSON.readTree("{\"$ref\": \"#/components/schemas/Error\"}");
    List<String> problems = new ArrayList<>();
    validate(doc, JSON.readTree("{\"error\": \"x\", \"status\": 400}"), error, "good", problems);
    assertEquals(List.of(), problems);
    validate(doc, JSON.readTree("{\"error\": \"x\", \"status\": \"400\"}"), error, "string status", problems);
    validate(doc, JSON.readTree("{\"error\": \"x\"}"), error, "no status", problems);
    validate(doc, JSON.readTree("{\"path\": \"/a\", \"action\": \"delete\"}"),
        JSON.readTree("{\"$ref\": \"#/components/schemas/RetryAnswer\"}"), "bad action", problems);
    assertEquals(3, problems.size(), problems.toString());
  }

  private static boolean hasExample(JsonNode content) {
    for (JsonNode media : content) {
      if (media.has("example") || media.has("examples")) return true;
    }
    return false;
  }

  /** Validates every example of every media type against that media type's schema; answers how many. */
  private static int checkContent(JsonNode doc, JsonNode content, String where, List<String> problems) {
    int checked = 0;
    for (var media : (Iterable<java.util.Map.Entry<String, JsonNode>>) content.properties()::iterator) {
      JsonNode m = media.getValue();
      if (!m.has("schema")) {
        problems.add(where + " " + media.getKey() + ": no schema");
        continue;
      }
      if (m.has("example")) {
        checked++;
        validate(doc, m.get("example"), m.get("schema"), where + " " + media.getKey() + " example", problems);
      }
      for (var example : (Iterable<java.util.Map.Entry<String, JsonNode>>) m.path("examples").properties()::iterator) {
        checked++;
        if (!example.getValue().has("value")) {
          problems.add(where + " example " + example.getKey() + ": no value");
        } else {
          validate(doc, example.getValue().get("value"), m.get("schema"), where + " example " + example.getKey(), problems);
        }
      }
    }
    return checked;
  }

  /** A local {@code $ref} ({@code #/components/...}) followed, or the node itself. */
  private static JsonNode resolve(JsonNode doc, JsonNode node, List<String> problems, String where) {
    while (node.has("$ref")) {
      String ref = node.get("$ref").asText();
      if (!ref.startsWith("#/")) {
        problems.add(where + ": $ref '" + ref + "' is not local");
        return JSON.createObjectNode();
      }
      JsonNode target = doc.at(ref.substring(1));
      if (target.isMissingNode()) {
        problems.add(where + ": $ref '" + ref + "' points nowhere");
        return JSON.createObjectNode();
      }
      node = target;
    }
    return node;
  }

  /**
   * A structural subset of JSON Schema: $ref, type (one or a list), enum, required, properties,
   * additionalProperties, items, min/maxItems, pattern, minimum/maximum and oneOf (at least one).
   */
  private static void validate(JsonNode doc, JsonNode value, JsonNode schema, String where, List<String> problems) {
    schema = resolve(doc, schema, problems, where);
    if (schema.has("oneOf")) {
      boolean any = false;
      for (JsonNode alternative : schema.get("oneOf")) {
        List<String> mine = new ArrayList<>();
        validate(doc, value, alternative, where, mine);
        any |= mine.isEmpty();
      }
      if (!any) problems.add(where + ": fits none of oneOf: " + value);
      return;
    }
    if (schema.has("type")) {
      List<String> types = new ArrayList<>();
      if (schema.get("type").isArray()) schema.get("type").forEach(t -> types.add(t.asText()));
      else types.add(schema.get("type").asText());
      if (types.stream().noneMatch(t -> is(value, t))) {
        problems.add(where + ": " + value.getNodeType() + " " + abbreviated(value) + " is not " + types);
        return;
      }
    }
    if (schema.has("enum")) {
      boolean listed = false;
      for (JsonNode e : schema.get("enum")) listed |= e.equals(value);
      if (!listed) problems.add(where + ": " + value + " is not one of " + schema.get("enum"));
    }
    if (value.isTextual() && schema.has("pattern") && !java.util.regex.Pattern.compile(schema.get("pattern").asText()).matcher(value.asText()).find()) {
      problems.add(where + ": '" + value.asText() + "' does not match " + schema.get("pattern").asText());
    }
    if (value.isNumber() && schema.has("minimum") && value.asDouble() < schema.get("minimum").asDouble()) {
      problems.add(where + ": " + value + " is below " + schema.get("minimum"));
    }
    if (value.isNumber() && schema.has("maximum") && value.asDouble() > schema.get("maximum").asDouble()) {
      problems.add(where + ": " + value + " is above " + schema.get("maximum"));
    }
    if (value.isObject()) {
      for (JsonNode name : schema.path("required")) {
        if (!value.has(name.asText())) problems.add(where + ": no '" + name.asText() + "' in " + abbreviated(value));
      }
      for (var field : (Iterable<java.util.Map.Entry<String, JsonNode>>) value.properties()::iterator) {
        JsonNode property = schema.path("properties").get(field.getKey());
        if (property != null) {
          validate(doc, field.getValue(), property, where + "." + field.getKey(), problems);
        } else if (schema.path("additionalProperties").isObject()) {
          validate(doc, field.getValue(), schema.get("additionalProperties"), where + "." + field.getKey(), problems);
        } else if (schema.has("properties")) {
          problems.add(where + ": '" + field.getKey() + "' is not a documented property");
        }
      }
    }
    if (value.isArray()) {
      if (schema.has("minItems") && value.size() < schema.get("minItems").asInt()) problems.add(where + ": too few items");
      if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) problems.add(where + ": too many items");
      if (schema.has("items")) {
        for (int i = 0; i < value.size(); i++) validate(doc, value.get(i), schema.get("items"), where + "[" + i + "]", problems);
      }
    }
  }

  private static boolean is(JsonNode value, String type) {
    return switch (type) {
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      case "string" -> value.isTextual();
      case "integer" -> value.isIntegralNumber();
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      case "null" -> value.isNull();
      default -> throw new IllegalArgumentException("schema type '" + type + "' is not a JSON Schema type");
    };
  }

  private static String abbreviated(JsonNode value) {
    String s = value.toString();
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
