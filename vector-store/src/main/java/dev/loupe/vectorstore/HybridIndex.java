package dev.loupe.vectorstore;

import java.util.List;

/**
 * A {@link VectorIndex} that also searches the items' {@link Metadata#text() text} with BM25 and
 * fuses keyword and vector rankings.
 */
public interface HybridIndex extends VectorIndex {

  /**
   * Adds an item without a vector: keyword search (and the keyword side of {@link #hybridSearch})
   * finds it, vector search never returns it. For text indexed while its embedding model is not
   * installed; {@link #update} gives it a vector later. Otherwise like {@link #add}.
   *
   * @throws IllegalArgumentException if {@code id} is already present
   */
  void addKeywordOnly(String id, Metadata metadata);

  /** The {@code k} best BM25 matches for {@code text} that match {@code filter}. */
  List<SearchHit> keywordSearch(String text, int k, Filter filter);

  /**
   * Items like {@code text} by their words ("more like this"): the {@code k} best BM25 matches
   * for at most {@code maxTerms} of its terms, those most distinctive in this index (term
   * frequency in {@code text} times BM25's inverse document frequency), so a long passage costs
   * what a short query costs. Terms no item has are left out; empty when none is left.
   *
   * @throws IllegalArgumentException if {@code maxTerms} is outside [1, 1024]
   */
  List<SearchHit> similarTextSearch(String text, int maxTerms, int k, Filter filter);

  /**
   * Fuses the BM25 ranking of {@code text} and the vector ranking of {@code vector} with
   * weighted reciprocal rank fusion: {@code score = Σ weight / (rankConstant + rank)}, rank
   * 1-based, over the top {@code candidates} of each ranking. The hit's score is that fused
   * score.
   */
  List<SearchHit> hybridSearch(String text, float[] vector, int k, Filter filter, Fusion fusion);

  /** Weights and constants of reciprocal rank fusion. */
  record Fusion(float keywordWeight, float vectorWeight, int rankConstant, int candidates) {
    public static final Fusion DEFAULT = new Fusion(1f, 1f, 60, 100);

    public Fusion {
      if (!(keywordWeight >= 0) || !(vectorWeight >= 0) || keywordWeight + vectorWeight == 0) {
        throw new IllegalArgumentException(
            "fusion weights " + keywordWeight + ", " + vectorWeight
                + " must be non-negative and not both zero");
      }
      if (rankConstant < 1) {
        throw new IllegalArgumentException("rank constant " + rankConstant + " must be >= 1");
      }
      if (candidates < 1 || candidates > VectorIndex.MAX_K) {
        throw new IllegalArgumentException(
            "candidates " + candidates + " is outside [1, " + VectorIndex.MAX_K + "]");
      }
    }
  }
}
