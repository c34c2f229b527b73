package dev.loupe.vectorstore.lucene;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link LuceneVectorIndex#openReadOnly}: a view of a directory that another instance writes. */
class LuceneReadOnlyViewTest {
  private static final IndexSpec SPEC = new IndexSpec(3, Similarity.COSINE);
  private static final LuceneVectorIndex.Options OPTIONS = LuceneVectorIndex.Options.defaults();

  @TempDir Path dir;

  private static Metadata meta(String text, Map<String, String> fields) {
    return new Metadata("chunk", "/a.pdf", 1, 0L, text, fields);
  }

  @Test
  void id_lookups_on_one_thread_follow_each_refresh_across_segments_deletes_and_re_adds() throws Exception {
    // The view reuses its per-segment id lookups while its reader stays the same (LuceneVectorIndex.liveDoc).
    try (LuceneVectorIndex view = LuceneVectorIndex.openReadOnly(dir, SPEC, OPTIONS);
        LuceneVectorIndex writer = LuceneVectorIndex.open(dir, SPEC, OPTIONS)) {
      for (int round = 0; round < 6; round++) {
        writer.add("r" + round, new float[] {1, round, 0}, meta("round " + round, Map.of()));
        if (round > 0) {
          writer.delete("r" + (round - 1));
        }
        writer.commit(); // a segment per round
        view.refresh();
        for (int i = 0; i <= round; i++) {
          assertEquals(i == round, view.contains("r" + i), "round " + round + ", id r" + i);
          assertEquals(i == round, view.contains("r" + i), "asked again on the same reader, round " + round);
        }
      }
      writer.add("r0", new float[] {0, 0, 1}, meta("back again", Map.of()));
      writer.commit();
      view.refresh();
      assertTrue(view.contains("r0"), "re-added in a newer segment");
      assertEquals("back again", view.get("r0").orElseThrow().text());
      assertEquals(List.of(0f, 0f, 1f), toList(view.vector("r0").orElseThrow()));
    }
  }

  private static List<Float> toList(float[] v) {
    return List.of(v[0], v[1], v[2]);
  }

  @Test
  void a_view_sees_the_writer_s_commits_after_a_refresh_and_nothing_uncommitted() throws Exception {
    try (LuceneVectorIndex view = LuceneVectorIndex.openReadOnly(dir, SPEC, OPTIONS);
        LuceneVectorIndex writer = LuceneVectorIndex.open(dir, SPEC, OPTIONS)) {
      assertTrue(view.readOnly());
      assertFalse(writer.readOnly());
      assertEquals(0, view.size(), "an empty index was created for the view");
      writer.add("a", new float[] {1, 0, 0}, meta("red apples", Map.of("lang", "en")));
      writer.addKeywordOnly("b", meta("green pears", Map.of()));
      writer.commit();
      writer.add("c", new float[] {0, 1, 0}, meta("uncommitted", Map.of()));
      assertEquals(0, view.size(), "not before a refresh");
      view.refresh();
      assertEquals(2, view.size());
      assertTrue(view.contains("a") && view.contains("b"));
      assertFalse(view.contains("c"), "not what the writer has not committed");
      assertEquals(List.of("a"), view.search(new float[] {1, 0.1f, 0}, 5, Filter.ALL).stream().map(SearchHit::id).toList());
      assertEquals(List.of("b"), view.keywordSearch("pears", 5, Filter.ALL).stream().map(SearchHit::id).toList());
      assertEquals("red apples", view.get("a").orElseThrow().text());
      assertTrue(view.vector("b").isEmpty(), "a keyword-only item has no vector");
      assertEquals(Set.of("lang"), view.fieldNames());
      writer.delete("a");
      writer.commit();
      view.commit(); // a view's commit is a refresh
      assertFalse(view.contains("a"));
      assertTrue(view.contains("c"), "committed with the delete");
      assertEquals(2, view.size());
    }
  }

  @Test
  void a_view_refuses_writes_saying_where_they_go() throws Exception {
    try (LuceneVectorIndex view = LuceneVectorIndex.openReadOnly(dir, SPEC, OPTIONS)) {
      var e = assertThrows(UnsupportedOperationException.class, () -> view.add("a", new float[] {1, 0, 0}, meta("x", Map.of())));
      assertTrue(e.getMessage().contains("is open read-only here: another process holds its writer"), e.getMessage());
      assertThrows(UnsupportedOperationException.class, () -> view.addKeywordOnly("a", meta("x", Map.of())));
      assertThrows(UnsupportedOperationException.class, () -> view.update("a", new float[] {1, 0, 0}, meta("x", Map.of())));
      assertThrows(UnsupportedOperationException.class, () -> view.delete("a"));
      assertThrows(UnsupportedOperationException.class, () -> view.forceMerge(1));
      // checkWrite checks as add does, without writing
      var dimension = assertThrows(IllegalArgumentException.class, () -> view.checkWrite("a", new float[] {1, 0}, meta("x", Map.of())));
      assertTrue(dimension.getMessage().contains("2"), dimension.getMessage());
      view.checkWrite("a", null, meta("x", Map.of()));
      assertEquals(0, view.size());
    }
  }

  @Test
  void a_view_with_another_spec_is_refused_naming_both() throws Exception {
    try (LuceneVectorIndex writer = LuceneVectorIndex.open(dir, SPEC, OPTIONS)) {
      writer.commit();
    }
    var e = assertThrows(IllegalArgumentException.class,
        () -> LuceneVectorIndex.openReadOnly(dir, new IndexSpec(4, Similarity.COSINE), OPTIONS));
    assertTrue(e.getMessage().contains("dimension 3") && e.getMessage().contains("dimension 4"), e.getMessage());
  }

  @Test
  void rollback_and_close_drops_what_was_not_committed() throws Exception {
    LuceneVectorIndex writer = LuceneVectorIndex.open(dir, SPEC, OPTIONS);
    writer.add("a", new float[] {1, 0, 0}, meta("kept", Map.of()));
    writer.commit();
    writer.add("b", new float[] {0, 1, 0}, meta("dropped", Map.of()));
    writer.rollbackAndClose();
    try (LuceneVectorIndex reopened = LuceneVectorIndex.open(dir, SPEC, OPTIONS)) {
      assertTrue(reopened.contains("a"));
      assertFalse(reopened.contains("b"));
    }
  }
}
