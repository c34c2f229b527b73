package dev.loupe.vectorstore.lucene;

import dev.loupe.vectorstore.Filter;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.PrefixQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.util.BytesRef;

/**
 * Translates a {@link Filter} into the Lucene query that matches the same documents, given the
 * document layout of {@link LuceneVectorIndex}. Stateless.
 */
final class LuceneQueries {

  /** Prefix of the Lucene field that holds free metadata field {@code key}. */
  static final String META_PREFIX = "meta.";

  private LuceneQueries() {}

  /** The Lucene field holding a string filter field: built-ins as is, free keys prefixed. */
  static String stringField(String field) {
    return switch (field) {
      case "type", "path" -> field;
      default -> META_PREFIX + field;
    };
  }

  /**
   * The query matching exactly the documents {@code filter.test} accepts. The filter must have
   * been validated; an {@code And} without clauses becomes a match-all query.
   */
  static Query toQuery(Filter filter) {
    return switch (filter) {
      case Filter.Terms(var field, var values) -> {
        String luceneField = stringField(field);
        if (values.size() == 1) {
          yield new TermQuery(new Term(luceneField, values.iterator().next()));
        }
        List<BytesRef> terms = new ArrayList<>(values.size());
        for (String v : values) {
          terms.add(new BytesRef(v));
        }
        yield new TermInSetQuery(luceneField, terms);
      }
      case Filter.Prefix(var field, var prefix) ->
          new PrefixQuery(new Term(stringField(field), prefix));
      case Filter.Range(var field, var min, var max) -> rangeQuery(field, min, max);
      case Filter.And(var clauses) -> {
        if (clauses.isEmpty()) {
          yield MatchAllDocsQuery.INSTANCE;
        }
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (Filter c : clauses) {
          b.add(toQuery(c), Occur.FILTER);
        }
        yield b.build();
      }
      case Filter.Or(var clauses) -> {
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (Filter c : clauses) {
          b.add(toQuery(c), Occur.SHOULD);
        }
        yield b.setMinimumNumberShouldMatch(1).build();
      }
    };
  }

  private static Query rangeQuery(String field, long min, long max) {
    return switch (field) {
      case "timestamp" -> LongPoint.newRangeQuery("timestamp", min, max);
      case "page" -> {
        // Pages are ints; clamp the long bounds, and a range outside the int domain is empty.
        if (min > Integer.MAX_VALUE || max < Integer.MIN_VALUE) {
          yield new MatchNoDocsQuery("page range [" + min + ", " + max + "] holds no int");
        }
        int lo = (int) Math.max(min, Integer.MIN_VALUE);
        int hi = (int) Math.min(max, Integer.MAX_VALUE);
        yield IntPoint.newRangeQuery("page", lo, hi);
      }
      default ->
          throw new IllegalArgumentException(
              "range filter on '" + field + "': only page and timestamp are numeric");
    };
  }
}
