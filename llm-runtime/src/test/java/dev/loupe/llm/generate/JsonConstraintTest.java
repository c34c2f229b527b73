package dev.loupe.llm.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.llm.generate.GenerationResult.FinishReason;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonConstraintTest {
  static final ObjectMapper STRICT = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  static final String SCHEMA = """
      {"type": "object",
       "properties": {
         "name": {"type": "string", "maxLength": 12},
         "colour": {"enum": ["red", "green", "blue"]},
         "age": {"type": "integer"},
         "score": {"type": "number"},
         "ok": {"type": "boolean"},
         "nothing": {"type": "null"},
         "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
         "owner": {"type": "object", "properties": {"id": {"type": "integer"}, "mood": {"type": "string",
           "enum": ["calm", "café"]}}, "required": ["mood"]}
       },
       "required": ["name", "age", "owner"]}
      """;

  @Test
  void accepts_compact_documents_of_the_schema_and_rejects_the_rest() {
    JsonSchema schema = JsonSchema.parse(SCHEMA);
    for (String ok : List.of(
        "{\"name\":\"Ann\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}",
        "{\"name\":\"\",\"colour\":\"blue\",\"age\":-0,\"score\":1.5e+10,\"ok\":false,\"nothing\":null,"
            + "\"tags\":[],\"owner\":{\"id\":7,\"mood\":\"café\"}}",
        "{\"name\":\"a\\\"\\u00e9\\n🦙\",\"age\":10,\"tags\":[\"x\",\"y\"],\"owner\":{\"mood\":\"calm\"}}")) {
      assertTrue(schema.accepts(ok), ok);
    }
    for (String bad : List.of(
        "{\"name\": \"Ann\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}", // whitespace
        "{\"name\":\"Ann\",\"owner\":{\"mood\":\"calm\"}}", // required age missing
        "{\"age\":3,\"name\":\"Ann\",\"owner\":{\"mood\":\"calm\"}}", // order
        "{\"name\":\"Ann\",\"age\":3.5,\"owner\":{\"mood\":\"calm\"}}", // integer
        "{\"name\":\"Ann\",\"age\":03,\"owner\":{\"mood\":\"calm\"}}", // leading zero
        "{\"name\":\"Ann\",\"colour\":\"pink\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}", // enum
        "{\"name\":\"Ann\",\"age\":3,\"owner\":{\"mood\":\"calm\"},\"extra\":1}", // extra property
        "{\"name\":\"Ann\",\"age\":3,\"tags\":[\"a\",],\"owner\":{\"mood\":\"calm\"}}", // trailing comma
        "{\"name\":\"Ann\",\"age\":3,\"tags\":[\"a\",\"b\",\"c\",\"d\"],\"owner\":{\"mood\":\"calm\"}}", // maxItems
        "{\"name\":\"Ann Elizabeth Smith\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}", // maxLength
        "{\"name\":\"\\ud800\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}", // lone surrogate
        "{\"name\":\"a\tb\",\"age\":3,\"owner\":{\"mood\":\"calm\"}}", // raw control character
        "{\"name\":\"Ann\",\"age\":3,\"owner\":{\"mood\":\"calm\"}")) { // unfinished
      assertFalse(schema.accepts(bad), bad);
    }
  }

  @Test
  void unsupported_keywords_and_types_are_refused_with_their_names_and_place() {
    String m1 = assertThrows(IllegalArgumentException.class, () -> JsonSchema.parse(
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\",\"format\":\"date\"}}}"))
        .getMessage();
    assertTrue(m1.contains("format, pattern") && m1.contains("$.properties.a"), m1);
    String m2 = assertThrows(IllegalArgumentException.class, () -> JsonSchema.parse("{\"oneOf\":[]}")).getMessage();
    assertTrue(m2.contains("oneOf") && m2.contains("at $"), m2);
    String m3 = assertThrows(IllegalArgumentException.class, () -> JsonSchema.parse("{\"type\":\"date\"}")).getMessage();
    assertTrue(m3.contains("type 'date'"), m3);
    String m4 = assertThrows(IllegalArgumentException.class,
        () -> JsonSchema.parse("{\"type\":\"object\",\"required\":[\"x\"]}")).getMessage();
    assertTrue(m4.contains("required \"x\""), m4);
  }

  @Test
  void every_sampled_output_over_the_tiny_model_parses_and_validates() throws Exception {
    Tokenizer tokenizer = TestVocabularies.tiny();
    runMany(tokenizer, TokenTrie.of(tokenizer), 40);
  }

  @Test
  void every_sampled_output_over_the_llama2_vocabulary_parses_and_validates() throws Exception {
    Tokenizer tokenizer = TestVocabularies.llama2();
    runMany(tokenizer, TokenTrie.of(tokenizer), 8);
  }

  @Test
  void the_trie_walk_allows_exactly_the_tokens_a_byte_by_byte_check_allows() throws Exception {
    Tokenizer tokenizer = TestVocabularies.llama2();
    TokenTrie trie = TokenTrie.of(tokenizer);
    JsonSchema schema = JsonSchema.parse(SCHEMA);
    for (String prefix : List.of("", "{", "{\"name\":\"Ann", "{\"name\":\"Ann\",\"age\":1", "{\"name\":\"\",\"age\":1,\"owner\":{\"mood\":\"ca")) {
      JsonConstraint constraint = new JsonConstraint(schema, trie);
      JsonAutomaton.State state = JsonAutomaton.initial(schema);
      for (byte b : prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
        state = JsonAutomaton.step(state, b & 0xFF);
      }
      for (byte b : prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
        constraint.accept((b & 0xFF) + 3); // the byte token <0xXX> is id XX + 3 in the Llama 2 vocabulary
      }
      float[] logits = new float[trie.vocabularySize()];
      constraint.mask(logits);
      for (int t = 0; t < logits.length; t++) {
        byte[] bytes = tokenizer.tokenBytes(t, false);
        JsonAutomaton.State s = bytes.length == 0 || tokenizer.isEndOfGeneration(t) ? null : state;
        for (int i = 0; i < bytes.length && s != null; i++) {
          s = JsonAutomaton.step(s, bytes[i] & 0xFF);
        }
        assertEquals(s != null, logits[t] == 0, "token " + t + " after '" + prefix + "'");
      }
    }
  }

  private static void runMany(Tokenizer tokenizer, TokenTrie trie, int seeds) throws Exception {
    JsonSchema schema = JsonSchema.parse(SCHEMA);
    @SuppressWarnings("unchecked")
    Map<String, Object> schemaTree = STRICT.readValue(SCHEMA, Map.class);
    for (int seed = 0; seed < seeds; seed++) {
      NGramModel model = new NGramModel(tokenizer.vocabulary().size(), 2048, seed, new int[0]);
      SamplerSettings sampling = new SamplerSettings(seed % 2 == 0 ? 1.0f : 3.0f, 0, 1, 0, 1, 0, seed);
      GenerationResult result = new Generator(model, tokenizer).generate(new int[] {1},
          new GenerationOptions(sampling, 1500, List.of()), new JsonConstraint(schema, trie), GenerationHook.none());
      String context = "seed " + seed + ": " + result.text();
      assertEquals(FinishReason.END_OF_GENERATION, result.finishReason(), context);
      JsonNode document = STRICT.readTree(result.text());
      validate(document, schemaTree, "$", context);
    }
  }

  @SuppressWarnings("unchecked")
  static void validate(JsonNode node, Map<String, Object> schema, String path, String context) {
    if (schema.get("enum") instanceof List<?> values) {
      assertTrue(values.contains(STRICT.convertValue(node, Object.class)), path + " not in enum: " + context);
      return;
    }
    switch ((String) schema.get("type")) {
      case "object" -> {
        assertTrue(node.isObject(), path + " " + context);
        Map<String, Object> properties = (Map<String, Object>) schema.get("properties");
        for (Object required : (List<Object>) schema.getOrDefault("required", List.of())) {
          assertTrue(node.has((String) required), path + " lacks " + required + ": " + context);
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
          String name = names.next();
          assertTrue(properties.containsKey(name), path + " has extra " + name + ": " + context);
          validate(node.get(name), (Map<String, Object>) properties.get(name), path + "." + name, context);
        }
      }
      case "array" -> {
        assertTrue(node.isArray() && node.size() <= (Integer) schema.getOrDefault("maxItems", 1 << 30),
            path + " " + context);
        for (JsonNode item : node) {
          validate(item, (Map<String, Object>) schema.get("items"), path + "[]", context);
        }
      }
      case "string" -> assertTrue(node.isTextual()
          && node.asText().codePointCount(0, node.asText().length()) <= (Integer) schema.getOrDefault("maxLength",
          1 << 30), path + " " + context);
      case "integer" -> assertTrue(node.isIntegralNumber(), path + " " + context);
      case "number" -> assertTrue(node.isNumber(), path + " " + context);
      case "boolean" -> assertTrue(node.isBoolean(), path + " " + context);
      case "null" -> assertTrue(node.isNull(), path + " " + context);
      default -> throw new AssertionError(schema);
    }
  }
}
