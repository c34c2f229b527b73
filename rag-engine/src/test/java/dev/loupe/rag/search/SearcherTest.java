package dev.loupe.rag.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.Embedder;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Searcher} over real Lucene indexes in temporary folders and {@link TestEmbedder}s. */
class SearcherTest {
  private static final int TEXT_DIM = 16;
  private static final int VISUAL_DIM = 8;

  @TempDir Path tmp;
  private final List<VectorIndex> open = new ArrayList<>();
  private final Map<String, float[]> vectors = new ConcurrentHashMap<>();
  private final Map<String, List<String>> paths = new ConcurrentHashMap<>();
  private final TestEmbedder passages = TestEmbedder.passages(TEXT_DIM);
  private final TestEmbedder clip = TestEmbedder.clip(VISUAL_DIM);
  private LuceneVectorIndex text;
  private LuceneVectorIndex visual;

  @AfterEach
  void close() throws IOException {
    for (VectorIndex i : open) i.close();
  }

  private void openIndexes() throws IOException {
    text = LuceneVectorIndex.open(tmp.resolve("text"), new IndexSpec(TEXT_DIM, Similarity.COSINE),
        LuceneVectorIndex.Options.defaults());
    visual = LuceneVectorIndex.open(tmp.resolve("visual"), new IndexSpec(VISUAL_DIM, Similarity.COSINE),
        LuceneVectorIndex.Options.defaults());
    open.add(text);
    open.add(visual);
  }

  private void passage(String id, String path, String words, boolean withVector) {
    Metadata m = new Metadata("chunk", path, 1, 0L, words, Map.of("sha", id.split("#")[0]));
    if (withVector) {
      float[] v = passages.embedText(words);
      text.add(id, v, m);
      vectors.put(id, v);
    } else {
      text.addKeywordOnly(id, m);
    }
  }

  private void picture(String id, String type, String path, int r, int g, int b, long timestamp) {
    float[] v = clip.embedImage(TestEmbedder.solid(r, g, b));
    String sha = id.split("#")[0];
    visual.add(id, v, new Metadata(type, path, type.equals("page") ? 1 : 0, timestamp,
        Path.of(path).getFileName().toString(), Map.of("sha", sha, "thumbnail", "thumbs/" + sha + "/0.jpg")));
    vectors.put(id, v);
  }

  private Searcher searcher(Embedder textModel, boolean withVisual) {
    return new Searcher(new Searcher.Parts(text, textModel, "test-passages", withVisual ? visual : null,
        withVisual ? clip : null, "test-clip", id -> paths.getOrDefault(id, List.of()),
        (index, id) -> Optional.ofNullable(vectors.get(id))));
  }

  /** A small collection: three passages, and red, blue and green pictures of several types. */
  private void collection() throws IOException {
    openIndexes();
    passage("a#0", "/docs/apples.txt", "red apples grow in the orchard behind the house", true);
    passage("b#0", "/docs/ocean.txt", "the ocean is deep and blue and cold", true);
    passage("c#0", "/docs/tax.txt", "quarterly tax report with revenue tables", true);
    picture("d#0", "image", "/photos/car in the sun.jpg", 250, 10, 10, 1_000L);
    picture("e#0", "image", "/photos/sky.jpg", 10, 20, 240, 2_000L);
    picture("f#0", "page", "/docs/report.pdf", 20, 230, 20, 0L);
    picture("g#3", "frame", "/videos/clip.mp4", 240, 40, 30, 3_000L);
  }

  private static List<String> ids(SearchResult r) {
    return r.hits().stream().map(SearchResult.Hit::id).toList();
  }

  private static SearchResult.Side side(SearchResult r, String space) {
    return r.sides().stream().filter(s -> s.space().equals(space)).findFirst().orElseThrow();
  }

  @Test
  void one_model_serving_both_indexes_embeds_a_text_query_once() throws IOException {
    int[] calls = {0};
    Embedder counting = new Embedder() {
      @Override
      public Info info() {
        return clip.info();
      }

      @Override
      public List<float[]> embedAll(List<? extends dev.loupe.embeddings.Media> inputs) {
        calls[0] += inputs.size();
        return clip.embedAll(inputs);
      }

      @Override
      public void close() {}
    };
    LuceneVectorIndex both = LuceneVectorIndex.open(tmp.resolve("both-text"), new IndexSpec(VISUAL_DIM, Similarity.COSINE),
        LuceneVectorIndex.Options.defaults());
    LuceneVectorIndex pictures = LuceneVectorIndex.open(tmp.resolve("both-visual"), new IndexSpec(VISUAL_DIM, Similarity.COSINE),
        LuceneVectorIndex.Options.defaults());
    open.add(both);
    open.add(pictures);
    both.add("a#0", clip.embedText("red apples"), new Metadata("chunk", "/docs/apples.txt", 1, 0L, "red apples", Map.of("sha", "a")));
    pictures.add("d#0", clip.embedImage(TestEmbedder.solid(250, 10, 10)), new Metadata("image", "/photos/red.jpg", 0, 0L,
        "red.jpg", Map.of("sha", "d")));
    Searcher searcher = new Searcher(new Searcher.Parts(both, counting, "test-clip", pictures, counting, "test-clip",
        id -> List.of(), (index, id) -> Optional.empty()));

    SearchResult r = searcher.search(SearchRequest.of(new Query.Text("red")));

    assertEquals(Set.of("a#0", "d#0"), Set.copyOf(ids(r)), "both spaces answered");
    assertEquals(1, calls[0], "the text was embedded once for both indexes");
  }

  @Test
  void a_text_query_ranks_passages_and_pictures_together_by_fused_rank() throws IOException {
    collection();
    SearchResult r = searcher(passages, true).search(SearchRequest.of(new Query.Text("red apples")));

    List<String> ids = ids(r);
    // Rank 1 of each space shares the top fused score; ties go by id.
    assertEquals(List.of("a#0", "d#0"), ids.subList(0, 2), ids.toString());
    assertTrue(ids.containsAll(List.of("g#3", "b#0")), ids.toString());
    assertEquals("hybrid", side(r, "text").method());
    assertEquals("vector", side(r, "visual").method());
    SearchResult.Hit top = r.hits().getFirst();
    assertEquals("text", top.type());
    assertEquals(1, top.rank());
    assertTrue(top.snippet().contains("red apples"), top.snippet());
    SearchResult.Hit picture = r.hits().get(1);
    assertEquals("image", picture.type());
    assertNull(picture.snippet());
    assertEquals("thumbs/d/0.jpg", picture.thumbnail());
    assertTrue(picture.score() > 0.5f, "a picture keeps its own cosine score: " + picture.score());
    assertTrue(r.tookNanos() > 0);
  }

  @Test
  void keyword_mode_searches_passages_by_bm25_and_pictures_by_file_name() throws IOException {
    collection();
    SearchResult r = searcher(passages, true).search(SearchRequest.of(new Query.Text("tax car")).withMode(SearchMode.KEYWORD));

    assertEquals(Set.of("c#0", "d#0"), Set.copyOf(ids(r)));
    assertEquals("keyword", side(r, "text").method());
    assertEquals("keyword", side(r, "visual").method());
  }

  @Test
  void vector_mode_searches_passage_vectors_only_and_skips_keyword_only_passages() throws IOException {
    collection();
    passage("h#0", "/docs/late.txt", "red apples without a vector", false);
    SearchResult r = searcher(passages, true).search(
        SearchRequest.of(new Query.Text("red apples grow in the orchard behind the house"))
            .withMode(SearchMode.VECTOR).withTypes(Set.of("text")));

    assertEquals("a#0", ids(r).getFirst());
    assertFalse(ids(r).contains("h#0"), "a keyword-only passage has no vector to be found by: " + ids(r));
    assertEquals("vector", side(r, "text").method());
    assertNull(side(r, "visual").method());
  }

  @Test
  void without_any_model_text_search_is_keyword_only_and_says_what_is_missing() throws IOException {
    openIndexes();
    passage("a#0", "/docs/apples.txt", "red apples grow in the orchard", false);
    passage("b#0", "/docs/ocean.txt", "the ocean is deep", false);
    Searcher searcher = searcher(null, false);

    SearchResult r = searcher.search(SearchRequest.of(new Query.Text("apples")));

    assertEquals(List.of("a#0"), ids(r));
    assertEquals("keyword", side(r, "text").method());
    assertTrue(side(r, "text").modelMissing());
    assertTrue(side(r, "text").note().contains("test-passages"), side(r, "text").note());
    assertNull(side(r, "visual").method());
    assertTrue(side(r, "visual").note().contains("test-clip"), side(r, "visual").note());
    assertFalse(searcher.canSearchImages());
  }

  @Test
  void a_query_that_needs_a_missing_model_is_refused_naming_the_model() throws IOException {
    openIndexes();
    Searcher searcher = searcher(null, false);

    var image = assertThrows(SearchUnavailableException.class,
        () -> searcher.search(SearchRequest.of(new Query.Image(TestEmbedder.solid(1, 2, 3)))));
    assertEquals("test-clip", image.model());
    var vector = assertThrows(SearchUnavailableException.class,
        () -> searcher.search(SearchRequest.of(new Query.Text("apples")).withMode(SearchMode.VECTOR)));
    assertEquals("test-passages", vector.model());
    var pictures = assertThrows(SearchUnavailableException.class,
        () -> searcher.search(SearchRequest.of(new Query.Text("apples")).withTypes(Set.of("image"))));
    assertEquals("test-clip", pictures.model());
  }

  @Test
  void an_image_query_finds_the_closest_colours_first_among_images_pages_and_frames() throws IOException {
    collection();
    SearchResult r = searcher(passages, true).search(SearchRequest.of(new Query.Image(TestEmbedder.solid(20, 240, 25))));

    assertEquals("f#0", ids(r).getFirst(), "the green page");
    assertEquals("page", r.hits().getFirst().type());
    assertTrue(r.hits().stream().noneMatch(h -> h.type().equals("text")));
    assertNull(side(r, "text").method());
  }

  @Test
  void similar_to_an_item_searches_its_own_space_and_leaves_the_item_out() throws IOException {
    collection();
    Searcher searcher = searcher(passages, true);

    SearchResult pictures = searcher.search(SearchRequest.of(new Query.Similar("d#0")));
    assertEquals("g#3", ids(pictures).getFirst(), "the red frame is closest to the red image");
    assertFalse(ids(pictures).contains("d#0"));
    assertTrue(pictures.hits().stream().noneMatch(h -> h.type().equals("text")));

    SearchResult texts = searcher.search(SearchRequest.of(new Query.Similar("a#0")));
    assertFalse(ids(texts).contains("a#0"));
    assertTrue(texts.hits().stream().allMatch(h -> h.type().equals("text")));

    assertThrows(NoSuchElementException.class, () -> searcher.search(SearchRequest.of(new Query.Similar("nope#1"))));
  }

  @Test
  void similar_to_a_passage_without_a_stored_vector_falls_back_to_its_words() throws IOException {
    openIndexes();
    passage("a#0", "/docs/a.txt", "lighthouse keepers log the storms", false);
    passage("b#0", "/docs/b.txt", "storms batter the lighthouse", false);
    passage("c#0", "/docs/c.txt", "recipes for bread", false);

    SearchResult r = searcher(null, false).search(SearchRequest.of(new Query.Similar("a#0")));
    assertEquals(List.of("b#0"), ids(r));
    assertEquals("keyword", side(r, "text").method());

    SearchResult embedded = searcher(passages, false).search(SearchRequest.of(new Query.Similar("a#0")));
    assertEquals("vector", side(embedded, "text").method(), "with the passage model it is embedded again");
  }

  @Test
  void types_filter_accepts_the_api_names_and_keeps_only_those_types() throws IOException {
    collection();
    Searcher searcher = searcher(passages, true);

    SearchResult frames = searcher.search(SearchRequest.of(new Query.Text("red")).withTypes(Set.of("video-frame")));
    assertEquals(List.of("g#3"), ids(frames));
    assertEquals("video-frame", frames.hits().getFirst().type());
    assertNull(side(frames, "text").method());

    SearchResult mixed = searcher.search(SearchRequest.of(new Query.Text("red")).withTypes(Set.of("text", "page")));
    assertTrue(mixed.hits().stream().allMatch(h -> Set.of("text", "page").contains(h.type())), ids(mixed).toString());
    assertTrue(ids(mixed).contains("f#0"));

    var e = assertThrows(IllegalArgumentException.class,
        () -> SearchRequest.of(new Query.Text("red")).withTypes(Set.of("movie")));
    assertTrue(e.getMessage().contains("'movie'"), e.getMessage());
  }

  @Test
  void date_range_keeps_visuals_whose_timestamp_is_inside_it() throws IOException {
    collection();
    SearchResult r = searcher(passages, true).search(SearchRequest.of(new Query.Text("red")).withDates(1_500L, 3_000L));
    assertEquals(Set.of("e#0", "g#3"), Set.copyOf(ids(r)));

    var e = assertThrows(IllegalArgumentException.class,
        () -> SearchRequest.of(new Query.Text("red")).withDates(5L, 4L));
    assertTrue(e.getMessage().contains("from 5 is after to 4"), e.getMessage());
  }

  @Test
  void pages_of_results_follow_each_other_without_overlap() throws IOException {
    openIndexes();
    long seed = 42;
    Random random = new Random(seed);
    for (int i = 0; i < 50; i++) {
      passage("p" + i + "#0", "/docs/" + i + ".txt", "harbour " + "boat ".repeat(1 + random.nextInt(5)) + i, true);
      picture("v" + i + "#0", "image", "/photos/" + i + ".jpg", random.nextInt(256), random.nextInt(256), random.nextInt(256), i);
    }
    Searcher searcher = searcher(passages, true);
    SearchRequest all = SearchRequest.of(new Query.Text("boat harbour blue")).withK(60);
    List<String> full = ids(searcher.search(all));

    List<String> paged = new ArrayList<>();
    boolean more = true;
    for (int offset = 0; more; offset += 7) {
      SearchResult page = searcher.search(all.withK(7).withOffset(offset));
      paged.addAll(ids(page));
      more = page.more();
      assertEquals(offset + 1, page.hits().isEmpty() ? offset + 1 : page.hits().getFirst().rank(), "seed " + seed);
    }
    assertEquals(100, paged.size(), "seed " + seed);
    assertEquals(full, paged.subList(0, 60), "seed " + seed);
    assertEquals(100, new HashSet<>(paged).size(), "no item twice, seed " + seed);
  }

  @Test
  void min_score_drops_hits_below_their_own_space_score() throws IOException {
    collection();
    Searcher searcher = searcher(passages, true);
    SearchResult r = searcher.search(SearchRequest.of(new Query.Image(TestEmbedder.solid(250, 10, 10))).withMinScore(0.95f));
    assertEquals(Set.of("d#0", "g#3"), Set.copyOf(ids(r)));
    assertTrue(r.hits().stream().allMatch(h -> h.score() >= 0.95f));
  }

  @Test
  void path_prefix_filters_on_where_the_content_is_now_not_where_it_was_ingested() throws IOException {
    openIndexes();
    for (int i = 0; i < 40; i++) {
      passage("m" + i + "#0", "/old/" + i + ".txt", "moving boxes " + i, true);
    }
    // Only the last, lowest-ranked few moved: the filter must fetch past the first page.
    for (int i = 36; i < 40; i++) {
      paths.put("m" + i + "#0", List.of("/new/" + i + ".txt", "/old/copy-" + i + ".txt"));
    }
    Searcher searcher = searcher(passages, false);
    SearchRequest query = SearchRequest.of(new Query.Text("moving boxes")).withK(3).withMode(SearchMode.KEYWORD);

    SearchResult moved = searcher.search(query.withPathPrefix("/new/"));
    assertEquals(3, moved.hits().size(), ids(moved).toString());
    assertTrue(moved.more());
    assertTrue(moved.hits().stream().allMatch(h -> h.path().startsWith("/new/") && h.paths().size() == 2));

    SearchResult stayed = searcher.search(query.withK(50).withPathPrefix("/old/3"));
    assertEquals(Set.of("m3#0", "m30#0", "m31#0", "m32#0", "m33#0", "m34#0", "m35#0"), Set.copyOf(ids(stayed)),
        "m36 to m39 moved away from /old/3x");

    SearchResult copies = searcher.search(query.withK(50).withPathPrefix("/old/copy-"));
    assertEquals(Set.of("m36#0", "m37#0", "m38#0", "m39#0"), Set.copyOf(ids(copies)), "any current file counts");
    assertEquals("/new/36.txt".substring(0, 5), copies.hits().getFirst().path().substring(0, 5), "path is the first current file");
  }

  @Test
  void snippets_are_plain_text_windows_around_the_query_terms_with_their_offsets() {
    String passage = "<b>x</b> " + "filler words here ".repeat(40) + "the Lighthouse keeper saw a lighthouse " + "more filler ".repeat(40);
    Snippets.Snippet s = Snippets.of(passage, Snippets.terms("lighthouse"));

    assertTrue(s.text().length() <= Snippets.MAX_LENGTH, s.text());
    assertEquals(2, s.highlights().size());
    for (int[] h : s.highlights()) {
      assertEquals("lighthouse", s.text().substring(h[0], h[1]).toLowerCase(java.util.Locale.ROOT));
    }
    assertTrue(s.text().startsWith("…") && s.text().endsWith("…"), s.text());
    assertNotNull(Snippets.of("short <i>one</i>", Set.of()).text());
  }

  @Test
  void requests_name_the_bad_value() {
    Query q = new Query.Text("x");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchRequest.of(q).withK(0)).getMessage().contains("k 0"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchRequest.of(q).withK(201)).getMessage().contains("k 201"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchRequest.of(q).withOffset(-1)).getMessage().contains("offset -1"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchMode.parse("fuzzy")).getMessage().contains("'fuzzy'"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Query.Text("  ")).getMessage().contains("blank"));
  }
}
