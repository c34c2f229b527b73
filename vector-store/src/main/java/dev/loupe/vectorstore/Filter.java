package dev.loupe.vectorstore;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A metadata filter for k-nearest search. String fields are {@code type}, {@code path} and the
 * free field keys; numeric fields are {@code page} and {@code timestamp}. An index rejects a
 * filter that names a field it has never seen with an {@link IllegalArgumentException}.
 */
public sealed interface Filter {

  /** Matches everything. */
  Filter ALL = new And(List.of());

  /** Exact match on a string field; matches any of the given values. */
  record Terms(String field, Set<String> values) implements Filter {
    public Terms {
      requireField(field);
      if (values == null || values.isEmpty()) {
        throw new IllegalArgumentException("filter on '" + field + "' has no values");
      }
      values = Set.copyOf(values);
    }
  }

  /** String field starting with a prefix; used for "everything under this folder". */
  record Prefix(String field, String prefix) implements Filter {
    public Prefix {
      requireField(field);
      if (prefix == null) {
        throw new IllegalArgumentException("prefix filter on '" + field + "' has a null prefix");
      }
    }
  }

  /** Numeric field within {@code [min, max]}, both inclusive. */
  record Range(String field, long min, long max) implements Filter {
    public Range {
      requireField(field);
      if (!field.equals("page") && !field.equals("timestamp")) {
        throw new IllegalArgumentException(
            "range filter on '" + field + "': only page and timestamp are numeric");
      }
      if (min > max) {
        throw new IllegalArgumentException(
            "range filter on '" + field + "' has min " + min + " > max " + max);
      }
    }
  }

  /** All clauses match; no clauses matches everything. */
  record And(List<Filter> clauses) implements Filter {
    public And {
      clauses = List.copyOf(clauses);
    }
  }

  /** At least one clause matches. */
  record Or(List<Filter> clauses) implements Filter {
    public Or {
      if (clauses.isEmpty()) {
        throw new IllegalArgumentException("an Or filter needs at least one clause");
      }
      clauses = List.copyOf(clauses);
    }
  }

  static Filter term(String field, String value) {
    return new Terms(field, Set.of(value));
  }

  static Filter and(Filter... clauses) {
    return new And(List.of(clauses));
  }

  /** True when this filter accepts every item. */
  default boolean matchesAll() {
    return this instanceof And(var clauses) && clauses.stream().allMatch(Filter::matchesAll);
  }

  /** Evaluates the filter on one item's metadata. */
  default boolean test(Metadata m) {
    return switch (this) {
      case Terms(var field, var values) -> {
        String v = m.stringField(field);
        yield v != null && values.contains(v);
      }
      case Prefix(var field, var prefix) -> {
        String v = m.stringField(field);
        yield v != null && v.startsWith(prefix);
      }
      case Range(var field, var min, var max) -> {
        long v = m.numericField(field);
        yield v >= min && v <= max;
      }
      case And(var clauses) -> clauses.stream().allMatch(c -> c.test(m));
      case Or(var clauses) -> clauses.stream().anyMatch(c -> c.test(m));
    };
  }

  /**
   * Checks that every field this filter names is a built-in field or one of {@code freeKeys}.
   *
   * @throws IllegalArgumentException naming the unknown field and the known ones
   */
  default void validate(Set<String> freeKeys) {
    switch (this) {
      case Terms t -> checkKnown(t.field(), freeKeys, false);
      case Prefix p -> checkKnown(p.field(), freeKeys, false);
      case Range r -> checkKnown(r.field(), freeKeys, true);
      case And(var clauses) -> clauses.forEach(c -> c.validate(freeKeys));
      case Or(var clauses) -> clauses.forEach(c -> c.validate(freeKeys));
    }
  }

  private static void checkKnown(String field, Set<String> freeKeys, boolean numeric) {
    boolean known = Metadata.BUILT_IN_FIELDS.contains(field) || freeKeys.contains(field);
    if (!known) {
      Set<String> all = new TreeSet<>(Metadata.BUILT_IN_FIELDS);
      all.addAll(freeKeys);
      throw new IllegalArgumentException("unknown filter field '" + field + "'; known fields: " + all);
    }
    if (!numeric && (field.equals("page") || field.equals("timestamp"))) {
      throw new IllegalArgumentException(
          "'" + field + "' is numeric; filter it with a Range, not a term or prefix");
    }
  }

  private static void requireField(String field) {
    if (field == null || field.isBlank()) {
      throw new IllegalArgumentException("filter field must not be blank");
    }
  }
}
