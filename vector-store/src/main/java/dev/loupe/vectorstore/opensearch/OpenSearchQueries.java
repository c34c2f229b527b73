package dev.loupe.vectorstore.opensearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.vectorstore.Filter;

/**
 * Translates a {@link Filter} into the OpenSearch query DSL that matches the same documents,
 * given the layout of {@link OpenSearchVectorIndex}; the twin of the Lucene index's translation.
 * Stateless.
 */
final class OpenSearchQueries {

  private OpenSearchQueries() {}

  /** The document field holding a string filter field: built-ins as is, free keys under {@code meta.}. */
  static String stringField(String field) {
    return switch (field) {
      case "type", "path" -> field;
      default -> OpenSearchVectorIndex.META + "." + field;
    };
  }

  /** The query matching exactly what {@code filter.test} accepts; the filter must be validated. */
  static JsonNode toQuery(Filter filter) {
    ObjectNode q = OpenSearchConnection.JSON.createObjectNode();
    switch (filter) {
      case Filter.Terms(var field, var values) -> {
        ArrayNode terms = q.putObject("terms").putArray(stringField(field));
        values.stream().sorted().forEach(terms::add);
      }
      case Filter.Prefix(var field, var prefix) -> q.putObject("prefix").put(stringField(field), prefix);
      case Filter.Range(var field, var min, var max) -> {
        long lo = min, hi = max;
        if (field.equals("page")) {
          // Pages are ints: clamp the bounds, and a range outside the int domain matches nothing.
          if (min > Integer.MAX_VALUE || max < Integer.MIN_VALUE) {
            q.putObject("match_none");
            return q;
          }
          lo = Math.max(min, Integer.MIN_VALUE);
          hi = Math.min(max, Integer.MAX_VALUE);
        }
        q.putObject("range").putObject(field).put("gte", lo).put("lte", hi);
      }
      case Filter.And(var clauses) -> {
        if (clauses.isEmpty()) {
          q.putObject("match_all");
        } else {
          ArrayNode all = q.putObject("bool").putArray("filter");
          clauses.forEach(c -> all.add(toQuery(c)));
        }
      }
      case Filter.Or(var clauses) -> {
        ObjectNode bool = q.putObject("bool");
        ArrayNode any = bool.putArray("should");
        clauses.forEach(c -> any.add(toQuery(c)));
        bool.put("minimum_should_match", 1);
      }
    }
    return q;
  }
}
