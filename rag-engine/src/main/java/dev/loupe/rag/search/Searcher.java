package dev.loupe.rag.search;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Modality;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.VectorIndex;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Searches the passages (text index) and the visuals (visual index) for one {@link SearchRequest}
 * and merges them into one ranking.
 *
 * <h2>Queries</h2>
 *
 * <ul>
 *   <li>{@link Query.Text}: passages by {@link SearchMode} (hybrid: BM25 and passage vectors fused
 *       by the index's reciprocal rank fusion; keyword: BM25; vector: passage vectors), visuals by
 *       the CLIP text embedding (in keyword mode by BM25 over their file names).
 *   <li>{@link Query.Image}: visuals by the CLIP image embedding; pages are visuals too, so a
 *       picture of a page finds the document.
 *   <li>{@link Query.Similar}: the item's stored vector ({@link VectorLookup}) searched in the
 *       item's own index, the item left out. A passage without a stored vector is embedded again
 *       from its text when the passage model is installed, else searched by BM25 over its text.
 * </ul>
 *
 * <h2>Merging</h2>
 *
 * Cosine, BM25 and fusion scores of different spaces are not comparable, so the two lists are
 * merged by reciprocal rank fusion: an item at rank {@code r} (1-based) of its list gets {@code
 * 1 / (60 + r)}, ties broken by id. Each hit keeps the score of its own space as {@link
 * SearchResult.Hit#score()}; {@code minScore} compares against that score, before the merge.
 *
 * <h2>Filters</h2>
 *
 * Types and the date range are filters inside the indexes. The path prefix is not: the index
 * keeps the path a content was first ingested from, while its files may have moved since, so the
 * prefix is tested on the files that hold the content now ({@code paths}), after the search. To
 * still fill a page, each space is asked for four times the results the page needs, then for
 * twice as many again while the filter leaves too few and the index has more, up to {@link
 * VectorIndex#MAX_K}.
 *
 * <h2>Missing models</h2>
 *
 * Without the passage model, passages are searched by BM25 alone (vector mode cannot search
 * them); without CLIP, visuals are not searched by text or image. {@link SearchResult#sides()}
 * says so. A query that no space can answer throws {@link SearchUnavailableException} naming
 * the model to install.
 *
 * <p>Thread-safe: immutable; the indexes and embedders it is given are thread-safe and remain
 * their owner's to close.
 */
public final class Searcher {
  /** The rank constant of the merge's reciprocal rank fusion. */
  public static final int RANK_CONSTANT = 60;
  /** Over-fetch factor when a path prefix filters after the search. */
  static final int PATH_OVERFETCH = 4;
  /** Terms of a passage a BM25 "more like this" query keeps: its most distinctive ones. */
  static final int SIMILAR_TERMS = 25;

  /**
   * What a searcher searches. Indexes and embedders may be null (not installed / not opened).
   *
   * @param textIndex passages; null when there is none
   * @param textEmbedder the passage model, or null
   * @param textModel the passage model's name, for messages
   * @param visualIndex visuals; null when there is none
   * @param visualEmbedder CLIP (text and image towers), or null
   * @param visualModel CLIP's name, for messages
   * @param paths the files that hold an item's content now, by item id (empty when unknown)
   * @param vectors the stored vector of an item
   */
  public record Parts(HybridIndex textIndex, Embedder textEmbedder, String textModel, VectorIndex visualIndex,
      Embedder visualEmbedder, String visualModel, Function<String, List<String>> paths, VectorLookup vectors) {
    public Parts {
      if (textModel == null || visualModel == null) {
        throw new IllegalArgumentException("model names must not be null");
      }
      if (paths == null || vectors == null) {
        throw new IllegalArgumentException("paths and vectors must not be null");
      }
      if (textEmbedder != null && textIndex != null
          && textEmbedder.info().dimension() != textIndex.spec().dimension()) {
        throw new IllegalArgumentException("passage model dimension " + textEmbedder.info().dimension()
            + " does not match text index dimension " + textIndex.spec().dimension());
      }
      if (visualEmbedder != null && visualIndex != null
          && visualEmbedder.info().dimension() != visualIndex.spec().dimension()) {
        throw new IllegalArgumentException("image model dimension " + visualEmbedder.info().dimension()
            + " does not match visual index dimension " + visualIndex.spec().dimension());
      }
    }
  }

  private final Parts parts;
  /** CLIP, only when it can take both text and images and the visual index is open. */
  private final Embedder clip;
  /** The passage model, only when the text index is open. */
  private final Embedder passages;

  public Searcher(Parts parts) {
    this.parts = parts;
    this.clip = parts.visualIndex() == null || parts.visualEmbedder() == null ? null : parts.visualEmbedder();
    this.passages = parts.textIndex() == null ? null : parts.textEmbedder();
  }

  /** Whether image queries can run: CLIP and the visual index are there. */
  public boolean canSearchImages() {
    return clip != null && clip.info().accepts(Modality.IMAGE);
  }

  /** The metadata of an indexed item in either index, or empty. */
  public Optional<Metadata> item(String id) {
    VectorIndex.checkId(id);
    if (parts.textIndex() != null) {
      Optional<Metadata> m = parts.textIndex().get(id);
      if (m.isPresent()) return m;
    }
    return parts.visualIndex() == null ? Optional.empty() : parts.visualIndex().get(id);
  }

  /** The files that hold item {@code id}'s content now; the index's path when the journal has none. */
  public List<String> currentPaths(String id, Metadata metadata) {
    List<String> now = parts.paths().apply(id);
    return now == null || now.isEmpty() ? List.of(metadata.path()) : List.copyOf(now);
  }

  /**
   * Runs one search.
   *
   * @throws SearchUnavailableException when no space can answer the query for a missing model
   * @throws java.util.NoSuchElementException for a similar-item query on an unknown id
   */
  public SearchResult search(SearchRequest request) {
    long t0 = System.nanoTime();
    int need = request.offset() + request.k() + 1; // one more tells whether a next page exists
    List<Side> sides = switch (request.query()) {
      case Query.Text t -> textQuery(t.text(), request, need);
      case Query.Image im -> imageQuery(im, request, need);
      case Query.Similar s -> similarQuery(s.id(), request, need);
    };
    List<Ranked> merged = merge(sides);
    List<SearchResult.Hit> page = new ArrayList<>();
    Set<String> terms = request.query() instanceof Query.Text t ? Snippets.terms(t.text()) : Set.of();
    int end = Math.min(merged.size(), request.offset() + request.k());
    for (int i = request.offset(); i < end; i++) {
      page.add(toHit(merged.get(i), i + 1, terms));
    }
    return new SearchResult(page, merged.size() > end, System.nanoTime() - t0,
        sides.stream().map(Side::report).toList());
  }

  // ------------------------------------------------------------------------------ the spaces

  /** One space's part of a search: what it did and its hits after every filter, best first. */
  private record Side(SearchResult.Side report, List<Ranked> hits) {
    static Side skipped(String space, String note, boolean modelMissing) {
      return new Side(new SearchResult.Side(space, null, note, modelMissing), List.of());
    }
  }

  /** A hit of one space with the files that hold it now. */
  private record Ranked(SearchHit hit, List<String> paths) {}

  /** Runs {@code search(n)} for growing n until the page is full after the path filter. */
  private Side fetch(String space, String method, String note, SearchRequest request, int need,
      java.util.function.IntFunction<List<SearchHit>> search, String exclude) {
    boolean byPath = request.pathPrefix() != null;
    int n = Math.min(VectorIndex.MAX_K, (byPath ? need * PATH_OVERFETCH : need) + (exclude == null ? 0 : 1));
    while (true) {
      List<SearchHit> hits = search.apply(n);
      List<Ranked> kept = new ArrayList<>();
      for (SearchHit h : hits) {
        if (h.id().equals(exclude)) continue;
        if (request.minScore() != null && h.score() < request.minScore()) continue;
        List<String> paths = currentPaths(h.id(), h.metadata());
        if (byPath && paths.stream().noneMatch(p -> p.startsWith(request.pathPrefix()))) continue;
        kept.add(new Ranked(h, paths));
      }
      if (kept.size() >= need || hits.size() < n || n >= VectorIndex.MAX_K) {
        return new Side(new SearchResult.Side(space, method, note, false), kept);
      }
      n = Math.min(VectorIndex.MAX_K, n * 2);
    }
  }

  private List<Side> textQuery(String text, SearchRequest request, int need) {
    List<Side> sides = new ArrayList<>();
    SearchMode mode = request.mode();
    float[] passageQuery = null; // the text's passage embedding, when computed
    // Passages.
    Filter textFilter = filter(request, Set.of(ItemTypes.CHUNK));
    if (parts.textIndex() == null) {
      sides.add(Side.skipped("text", "no text index is open", false));
    } else if (textFilter == null) {
      sides.add(Side.skipped("text", "passages are filtered out by the types asked for", false));
    } else if (mode == SearchMode.KEYWORD || (mode == SearchMode.HYBRID && passages == null)) {
      String note = mode == SearchMode.HYBRID
          ? "passage model " + parts.textModel() + " is not installed: passages are searched by keyword only" : null;
      Side s = fetch("text", "keyword", note, request, need,
          n -> parts.textIndex().keywordSearch(text, n, textFilter), null);
      sides.add(note == null ? s : new Side(new SearchResult.Side("text", "keyword", note, true), s.hits()));
    } else if (passages == null) {
      sides.add(Side.skipped("text", "passage model " + parts.textModel()
          + " is not installed: passages cannot be searched by vector (mode keyword or hybrid can)", true));
    } else {
      float[] q = passages.embedText(text);
      passageQuery = q;
      if (mode == SearchMode.VECTOR) {
        sides.add(fetch("text", "vector", null, request, need, n -> parts.textIndex().search(q, n, textFilter), null));
      } else {
        sides.add(fetch("text", "hybrid", null, request, need, n -> parts.textIndex().hybridSearch(text, q, n, textFilter,
            new HybridIndex.Fusion(1f, 1f, RANK_CONSTANT, Math.max(HybridIndex.Fusion.DEFAULT.candidates(), n))), null));
      }
    }
    // Visuals.
    Filter visualFilter = filter(request, ItemTypes.VISUAL);
    if (visualFilter == null) {
      sides.add(Side.skipped("visual", "visuals are filtered out by the types asked for", false));
    } else if (mode == SearchMode.KEYWORD && parts.visualIndex() instanceof HybridIndex names) {
      sides.add(fetch("visual", "keyword", "visuals are matched by file name", request, need,
          n -> names.keywordSearch(text, n, visualFilter), null));
    } else if (clip == null || !clip.info().accepts(Modality.TEXT)) {
      sides.add(Side.skipped("visual", "image model " + parts.visualModel()
          + " is not installed: images, pages and video frames are not searched", true));
    } else {
      // One model serving both indexes embeds the text once.
      float[] q = clip == passages && passageQuery != null ? passageQuery : clip.embedText(text);
      sides.add(fetch("visual", "vector", null, request, need, n -> parts.visualIndex().search(q, n, visualFilter), null));
    }
    if (sides.stream().allMatch(s -> s.report().method() == null)
        && sides.stream().anyMatch(s -> s.report().modelMissing())) {
      throw new SearchUnavailableException("a " + mode.label() + " search needs the passage model "
          + parts.textModel() + " or the image model " + parts.visualModel() + ", and neither is installed",
          mode == SearchMode.VECTOR ? parts.textModel() : parts.visualModel());
    }
    return sides;
  }

  private List<Side> imageQuery(Query.Image image, SearchRequest request, int need) {
    if (!canSearchImages()) {
      throw new SearchUnavailableException(
          "searching by image needs the image model " + parts.visualModel() + ", which is not installed",
          parts.visualModel());
    }
    List<Side> sides = new ArrayList<>();
    sides.add(Side.skipped("text", "an image query searches visuals only", false));
    Filter visualFilter = filter(request, ItemTypes.VISUAL);
    if (visualFilter == null) {
      sides.add(Side.skipped("visual", "visuals are filtered out by the types asked for", false));
    } else {
      float[] q = clip.embedImage(image.pixels());
      sides.add(fetch("visual", "vector", null, request, need, n -> parts.visualIndex().search(q, n, visualFilter), null));
    }
    return sides;
  }

  private List<Side> similarQuery(String id, SearchRequest request, int need) {
    Metadata item = item(id).orElseThrow(() -> new java.util.NoSuchElementException("no indexed item has the id '" + id + "'"));
    boolean passage = item.type().equals(ItemTypes.CHUNK);
    VectorIndex index = passage ? parts.textIndex() : parts.visualIndex();
    String space = passage ? "text" : "visual";
    String other = passage ? "visual" : "text";
    List<Side> sides = new ArrayList<>();
    Filter filter = filter(request, passage ? Set.of(ItemTypes.CHUNK) : ItemTypes.VISUAL);
    if (filter == null) {
      sides.add(Side.skipped(space, "the item's own type is filtered out by the types asked for", false));
    } else {
      Optional<float[]> stored;
      try {
        stored = parts.vectors().vector(index, id);
      } catch (UnsupportedOperationException e) {
        stored = Optional.empty();
      }
      if (stored.isPresent()) {
        float[] q = stored.get();
        sides.add(fetch(space, "vector", null, request, need, n -> index.search(q, n, filter), id));
      } else if (passage && passages != null) {
        float[] q = passages.embedText(item.text());
        sides.add(fetch(space, "vector", "the passage was embedded again from its text", request, need,
            n -> index.search(q, n, filter), id));
      } else if (passage) {
        sides.add(fetch(space, "keyword", "passage model " + parts.textModel()
            + " is not installed: similar passages are found by their most distinctive words", request, need,
            n -> parts.textIndex().similarTextSearch(item.text(), SIMILAR_TERMS, n, filter), id));
      } else {
        throw new SearchUnavailableException(
            "the vector of visual item '" + id + "' cannot be read back, so items like it cannot be found", null);
      }
    }
    sides.add(Side.skipped(other, "similar items are searched in the item's own space", false));
    return sides;
  }

  /**
   * The index filter of types (kept to those of this space) and the date range; null when the
   * types asked for leave this space none.
   */
  private static Filter filter(SearchRequest request, Set<String> spaceTypes) {
    List<Filter> clauses = new ArrayList<>();
    if (!request.types().isEmpty()) {
      Set<String> kept = request.types().stream().filter(spaceTypes::contains).collect(Collectors.toSet());
      if (kept.isEmpty()) return null;
      if (!kept.containsAll(spaceTypes)) clauses.add(new Filter.Terms("type", kept));
    }
    if (request.from() != null || request.to() != null) {
      clauses.add(new Filter.Range("timestamp", request.from() == null ? Long.MIN_VALUE : request.from(),
          request.to() == null ? Long.MAX_VALUE : request.to()));
    }
    return new Filter.And(clauses);
  }

  // ------------------------------------------------------------------------------ merging

  /** Reciprocal rank fusion of the spaces' lists; see the class documentation. */
  private static List<Ranked> merge(List<Side> sides) {
    List<Side> ran = sides.stream().filter(s -> !s.hits().isEmpty()).toList();
    if (ran.size() == 1) {
      return ran.getFirst().hits();
    }
    Map<String, Double> fused = new HashMap<>();
    Map<String, Ranked> byId = new LinkedHashMap<>();
    for (Side s : ran) {
      List<Ranked> hits = s.hits();
      for (int r = 0; r < hits.size(); r++) {
        String id = hits.get(r).hit().id();
        fused.merge(id, 1.0 / (RANK_CONSTANT + r + 1), Double::sum);
        byId.putIfAbsent(id, hits.get(r));
      }
    }
    List<Ranked> merged = new ArrayList<>(byId.values());
    merged.sort(Comparator.<Ranked>comparingDouble(r -> -fused.get(r.hit().id())).thenComparing(r -> r.hit().id()));
    return merged;
  }

  private static SearchResult.Hit toHit(Ranked r, int rank, Set<String> terms) {
    Metadata m = r.hit().metadata();
    boolean passage = m.type().equals(ItemTypes.CHUNK);
    Snippets.Snippet snippet = passage ? Snippets.of(m.text(), terms) : null;
    return new SearchResult.Hit(r.hit().id(), ItemTypes.shown(m.type()), r.hit().score(), rank, r.paths().getFirst(),
        r.paths(), m.page(), m.timestamp(), snippet == null ? null : snippet.text(),
        snippet == null ? List.of() : snippet.highlights(), m.fields().get("thumbnail"), m.fields());
  }
}
