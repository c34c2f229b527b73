package dev.loupe.rag.search;

import java.util.Set;

/**
 * One search: what to look for and which page of which results to return.
 *
 * @param query the words, picture or example item
 * @param k results per page, in [1, {@link #MAX_K}]
 * @param offset results to skip (paging), in [0, {@link #MAX_OFFSET}]
 * @param types index types to keep ({@link ItemTypes#indexTypes} accepts the API's names too);
 *     empty for every type
 * @param pathPrefix keep items of which some file that holds the content now starts with this;
 *     null for any
 * @param from keep items whose {@code timestamp} (frame position or EXIF date, epoch ms) is at
 *     least this; null for no lower bound. Passages have no timestamp (0), so a date range keeps
 *     only visuals that have one.
 * @param to as {@code from}, the inclusive upper bound
 * @param minScore drop hits whose own-space score is below this; null for none
 * @param mode how text queries search passages; ignored by image and similar-item queries
 */
public record SearchRequest(
    Query query, int k, int offset, Set<String> types, String pathPrefix, Long from, Long to,
    Float minScore, SearchMode mode) {

  /** Results per page when none is asked for. */
  public static final int DEFAULT_K = 20;
  /** Most results per page. */
  public static final int MAX_K = 200;
  /** Deepest offset a page may start at. */
  public static final int MAX_OFFSET = 1_800;

  public SearchRequest {
    if (query == null) {
      throw new IllegalArgumentException("query must not be null");
    }
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException("k " + k + " is outside [1, " + MAX_K + "]");
    }
    if (offset < 0 || offset > MAX_OFFSET) {
      throw new IllegalArgumentException("offset " + offset + " is outside [0, " + MAX_OFFSET + "]");
    }
    types = types == null ? Set.of() : ItemTypes.indexTypes(types);
    if (pathPrefix != null && pathPrefix.isEmpty()) {
      pathPrefix = null;
    }
    if (from != null && to != null && from > to) {
      throw new IllegalArgumentException("from " + from + " is after to " + to);
    }
    if (minScore != null && !Float.isFinite(minScore)) {
      throw new IllegalArgumentException("min_score " + minScore + " is not a finite number");
    }
    mode = mode == null ? SearchMode.HYBRID : mode;
  }

  /** The first page of {@link #DEFAULT_K} hybrid results for {@code query}, unfiltered. */
  public static SearchRequest of(Query query) {
    return new SearchRequest(query, DEFAULT_K, 0, Set.of(), null, null, null, null, SearchMode.HYBRID);
  }

  public SearchRequest withK(int newK) {
    return new SearchRequest(query, newK, offset, types, pathPrefix, from, to, minScore, mode);
  }

  public SearchRequest withOffset(int newOffset) {
    return new SearchRequest(query, k, newOffset, types, pathPrefix, from, to, minScore, mode);
  }

  public SearchRequest withTypes(Set<String> newTypes) {
    return new SearchRequest(query, k, offset, newTypes, pathPrefix, from, to, minScore, mode);
  }

  public SearchRequest withPathPrefix(String prefix) {
    return new SearchRequest(query, k, offset, types, prefix, from, to, minScore, mode);
  }

  public SearchRequest withDates(Long newFrom, Long newTo) {
    return new SearchRequest(query, k, offset, types, pathPrefix, newFrom, newTo, minScore, mode);
  }

  public SearchRequest withMinScore(Float min) {
    return new SearchRequest(query, k, offset, types, pathPrefix, from, to, min, mode);
  }

  public SearchRequest withMode(SearchMode newMode) {
    return new SearchRequest(query, k, offset, types, pathPrefix, from, to, minScore, newMode);
  }
}
