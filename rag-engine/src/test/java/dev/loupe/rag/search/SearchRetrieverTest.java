package dev.loupe.rag.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.rag.Retrieval;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.SearchRetriever;
import dev.loupe.rag.Source;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SearchRetriever} over real Lucene indexes holding generated passages and pictures. */
class SearchRetrieverTest {
  private static final long SEED = 20261122L;
  /** One token per word: a stand-in tokenizer that makes budgets easy to check by hand. */
  private static final ToIntFunction<String> WORDS = s -> s.isBlank() ? 0 : s.strip().split("\\s+").length;

  @TempDir Path tmp;
  private final TestEmbedder passages = TestEmbedder.passages(16);
  private final TestEmbedder clip = TestEmbedder.clip(8);
  private LuceneVectorIndex text;
  private LuceneVectorIndex visual;
  private Searcher searcher;

  @BeforeEach
  void open() throws IOException {
    text = LuceneVectorIndex.open(tmp.resolve("text"), new IndexSpec(16, Similarity.COSINE), LuceneVectorIndex.Options.defaults());
    visual = LuceneVectorIndex.open(tmp.resolve("visual"), new IndexSpec(8, Similarity.COSINE), LuceneVectorIndex.Options.defaults());
    searcher = new Searcher(new Searcher.Parts(text, passages, "test-passages", visual, clip, "test-clip",
        id -> List.of(), (index, id) -> Optional.empty()));
  }

  @AfterEach
  void close() throws IOException {
    text.close();
    visual.close();
  }

  private void passage(String id, String path, int page, String words) {
    text.add(id, passages.embedText(words), new Metadata("chunk", path, page, 0L, words, Map.of("sha", id.split("#")[0])));
  }

  /** Twelve documents of six passages each about red apples, with seeded filler words of seeded lengths. */
  private void apples() {
    Random random = new Random(SEED);
    for (int d = 0; d < 12; d++) {
      for (int c = 0; c < 6; c++) {
        StringBuilder words = new StringBuilder("red apples harvest");
        int n = 5 + random.nextInt(40);
        for (int w = 0; w < n; w++) words.append(" w").append(random.nextInt(1000));
        passage("doc" + d + "#" + c, "/docs/orchard-" + d + ".txt", c + 1, words.toString());
      }
    }
  }

  @Test
  void keeps_the_best_few_per_document_numbered_in_rank_order_within_the_token_budget() {
    apples();
    SearchRetriever retriever = new SearchRetriever(searcher, WORDS);
    RetrievalOptions options = new RetrievalOptions(10, 2, 200, Set.of(), null);

    Retrieval r = retriever.retrieve("red apples", options);

    assertTrue(!r.sources().isEmpty(), "seed " + SEED);
    int sum = 0;
    Map<String, Integer> perDocument = new HashMap<>();
    for (int i = 0; i < r.sources().size(); i++) {
      Source s = r.sources().get(i);
      assertEquals(i + 1, s.n());
      assertEquals(WORDS.applyAsInt(s.title() + "\n" + s.text()), s.tokens(), s.toString());
      assertTrue(s.text().startsWith("red apples harvest"), s.text());
      sum += s.tokens();
      perDocument.merge(s.id().split("#")[0], 1, Integer::sum);
    }
    assertEquals(sum, r.tokens());
    assertTrue(sum <= 200, "sources take " + sum + " tokens, over the budget of 200; seed " + SEED);
    assertTrue(perDocument.values().stream().allMatch(n -> n <= 2), perDocument + "; seed " + SEED);
    assertTrue(r.dropped() > 0, "72 passages cannot fit 200 tokens; seed " + SEED);
    assertTrue(r.tookNanos() > 0);
  }

  @Test
  void a_visual_is_described_in_words_with_its_page_text_and_metadata_but_points_at_the_picture() {
    passage("pdf#0", "/docs/annual report.pdf", 3, "the annual revenue table shows growth in every region");
    visual.add("pdf#p3", clip.embedImage(TestEmbedder.solid(250, 10, 10)), new Metadata("page", "/docs/annual report.pdf", 3,
        0L, "annual report.pdf", Map.of("sha", "pdf", "thumbnail", "thumbs/pdf/3.jpg", "author", "Finance team")));
    visual.add("vid#7", clip.embedImage(TestEmbedder.solid(240, 30, 20)), new Metadata("frame", "/videos/launch.mp4", 0,
        83_000L, "launch.mp4", Map.of("sha", "vid", "thumbnail", "thumbs/vid/7.jpg")));
    SearchRetriever retriever = new SearchRetriever(searcher, WORDS);

    Retrieval r = retriever.retrieve("red", new RetrievalOptions(10, 3, 1000, Set.of("page", "video-frame"), null));

    Source page = r.sources().stream().filter(s -> s.id().equals("pdf#p3")).findFirst().orElseThrow(() -> new AssertionError(r));
    assertEquals("annual report.pdf, page 3 (page)", page.title());
    assertTrue(page.text().startsWith("A rendered page of annual report.pdf."), page.text());
    assertTrue(page.text().contains("Text on the page: the annual revenue table shows growth"), page.text());
    assertTrue(page.text().contains("Metadata: author: Finance team."), page.text());
    assertEquals("thumbs/pdf/3.jpg", page.thumbnail());
    assertEquals(3, page.page());
    Source frame = r.sources().stream().filter(s -> s.id().equals("vid#7")).findFirst().orElseThrow();
    assertEquals("launch.mp4, at 1:23 (video frame)", frame.title());
    assertTrue(frame.text().startsWith("A frame of the video launch.mp4 at 1:23."), frame.text());
    assertEquals(83_000L, frame.timestamp());
  }

  @Test
  void the_search_apis_filters_narrow_the_sources_by_type_folder_and_date() {
    passage("a#0", "/docs/a/notes.txt", 0, "red kites over the hill");
    passage("b#0", "/docs/b/notes.txt", 0, "red kites over the sea");
    visual.add("v#1", clip.embedImage(TestEmbedder.solid(250, 10, 10)), new Metadata("frame", "/videos/kites.mp4", 0,
        10_000L, "kites.mp4", Map.of("sha", "v")));
    visual.add("w#1", clip.embedImage(TestEmbedder.solid(245, 12, 10)), new Metadata("frame", "/videos/more kites.mp4", 0,
        50_000L, "more kites.mp4", Map.of("sha", "w")));
    SearchRetriever retriever = new SearchRetriever(searcher, WORDS);

    Set<String> all = ids(retriever.retrieve("red kites", new RetrievalOptions(10, 3, 1000, Set.of(), null)));
    Set<String> folder = ids(retriever.retrieve("red kites", new RetrievalOptions(10, 3, 1000, Set.of(), "/docs/a/")));
    Set<String> passagesOnly = ids(retriever.retrieve("red kites", new RetrievalOptions(10, 3, 1000, Set.of("text"), null)));
    Set<String> dated = ids(retriever.retrieve("red kites",
        new RetrievalOptions(10, 3, 1000, Set.of(), null, 20_000L, 60_000L)));

    assertEquals(Set.of("a#0", "b#0", "v#1", "w#1"), all);
    assertEquals(Set.of("a#0"), folder);
    assertEquals(Set.of("a#0", "b#0"), passagesOnly);
    assertEquals(Set.of("w#1"), dated, "passages have no date, and the first frame is before the range");
  }

  private static Set<String> ids(Retrieval r) {
    return r.sources().stream().map(Source::id).collect(java.util.stream.Collectors.toSet());
  }
}
