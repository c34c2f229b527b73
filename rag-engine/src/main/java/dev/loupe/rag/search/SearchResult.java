package dev.loupe.rag.search;

import java.util.List;
import java.util.Map;

/**
 * One page of results, best first, how long the search took and what each space did.
 *
 * @param hits this page, in fused rank order
 * @param more whether results follow this page
 * @param tookNanos time spent in {@link Searcher#search}, embedding the query included
 * @param sides what the text and visual spaces did, or why they did not run
 */
public record SearchResult(List<Hit> hits, boolean more, long tookNanos, List<Side> sides) {

  public SearchResult {
    hits = List.copyOf(hits);
    sides = List.copyOf(sides);
  }

  /** Milliseconds, for people and JSON. */
  public double tookMillis() {
    return tookNanos / 1e6;
  }

  /**
   * One result.
   *
   * @param id the item id, {@code sha#n}
   * @param type the API's name of the type ({@link ItemTypes#shown}): text, image, page,
   *     embedded-image, video-frame
   * @param score the score in the item's own space: cosine for vectors, BM25 for keyword search,
   *     the reciprocal-rank-fusion score for hybrid passages. Scores of different spaces are not
   *     comparable; the order of {@link SearchResult#hits} is the fused rank, not this score.
   * @param rank 1-based position in the fused ranking over all pages
   * @param path the first file that holds the content now
   * @param paths every file that holds the content now (the journal's list; the index keeps
   *     only the file it was first ingested from)
   * @param page 1-based page, 0 for none
   * @param timestamp frame position or EXIF date in epoch ms, 0 for none
   * @param snippet for passages, plain text around the best-matching query terms (at most
   *     {@link Snippets#MAX_LENGTH} characters); null for visuals
   * @param highlights {@code [start, end)} character offsets of the query terms in {@code
   *     snippet}; callers mark them up themselves (the snippet is never HTML)
   * @param thumbnail the thumbnail's path relative to the data folder, or null
   * @param fields the item's free metadata fields
   */
  public record Hit(String id, String type, float score, int rank, String path, List<String> paths, int page,
      long timestamp, String snippet, List<int[]> highlights, String thumbnail, Map<String, String> fields) {}

  /**
   * What one space did.
   *
   * @param space {@code text} or {@code visual}
   * @param method how it was searched ({@code hybrid}, {@code keyword}, {@code vector}), or null
   *     when it did not run
   * @param note why it did not run or ran degraded; null when it ran as asked
   * @param modelMissing true when the note is about a model that is not installed
   */
  public record Side(String space, String method, String note, boolean modelMissing) {}
}
