package dev.loupe.indexer.isolate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RemoteIndexes} against a real writer JVM running {@link WriterMain} over real Lucene indexes. */
class RemoteIndexesTest {
  private static final int DIM = 8;
  private static final IndexSpec SPEC = new IndexSpec(DIM, Similarity.COSINE);

  @TempDir Path dir;

  private Path text() {
    return dir.resolve("text");
  }

  private Path visual() {
    return dir.resolve("visual");
  }

  private List<String> command(String... extra) {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), WriterMain.class.getName(), text().toString(), visual().toString(), Integer.toString(DIM)));
    cmd.addAll(List.of(extra));
    return cmd;
  }

  private RemoteIndexes start(String... extra) throws IOException {
    LuceneVectorIndex.Options options = LuceneVectorIndex.Options.defaults();
    return RemoteIndexes.start(command(extra), LuceneVectorIndex.openReadOnly(text(), SPEC, options),
        LuceneVectorIndex.openReadOnly(visual(), SPEC, options));
  }

  private static float[] vector(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[DIM];
    for (int i = 0; i < DIM; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  private static Metadata passage(String words) {
    return new Metadata("chunk", "/docs/a.pdf", 1, 0L, words, Map.of("sha", "abc"));
  }

  private static List<String> ids(List<SearchHit> hits) {
    return hits.stream().map(SearchHit::id).toList();
  }

  @Test
  void writes_go_to_the_writer_process_and_searches_see_them_once_committed() throws Exception {
    try (RemoteIndexes remote = start()) {
      HybridIndex text = remote.text(), visual = remote.visual();
      text.add("abc#0", vector(1), passage("the lighthouse keeper in the storm"));
      text.addKeywordOnly("abc#1", passage("apples and pears"));
      visual.add("abc#2", vector(2), new Metadata("page", "/docs/a.pdf", 2, 0L, "", Map.of()));
      assertTrue(text.contains("abc#0") && text.contains("abc#1") && visual.contains("abc#2"), "writes are counted at once");
      assertEquals(2, text.size());
      assertEquals(List.of(), text.search(vector(1), 5, Filter.ALL), "searches see the last commit only");
      assertTrue(text.get("abc#0").isEmpty());

      text.commit();
      visual.commit();
      assertEquals(List.of("abc#0"), ids(text.search(vector(1), 5, Filter.ALL)), "the keyword-only item has no vector");
      assertEquals(List.of("abc#1"), ids(text.keywordSearch("pears", 5, Filter.ALL)));
      assertEquals("the lighthouse keeper in the storm", text.get("abc#0").orElseThrow().text());
      assertEquals(List.of("abc#2"), ids(visual.search(vector(2), 5, Filter.ALL)));
      float[] stored = text.vector("abc#0").orElseThrow();
      assertEquals(1.0, norm(stored), 1e-5, "cosine vectors are stored normalized, by the writer process");
      assertEquals(java.util.Set.of("sha"), text.fieldNames());

      text.update("abc#0", vector(3), passage("the keeper again"));
      assertTrue(text.delete("abc#1"));
      assertFalse(text.contains("abc#1"));
      assertTrue(text.get("abc#1").isEmpty(), "a deleted item is gone for get at once");
      assertFalse(text.delete("abc#1"), "deleting twice deletes nothing");
      assertEquals(1, text.size());
      text.commit();
      assertEquals(List.of(), ids(text.keywordSearch("pears", 5, Filter.ALL)));
      assertEquals("the keeper again", text.get("abc#0").orElseThrow().text());
      assertEquals(1, text.size());
      assertEquals(1, remote.starts());
    }
    // The writer committed into the directories a plain index opens.
    try (LuceneVectorIndex reopened = LuceneVectorIndex.open(text(), SPEC, LuceneVectorIndex.Options.defaults())) {
      assertEquals(1, reopened.size());
      assertTrue(reopened.contains("abc#0"));
    }
  }

  @Test
  void bad_writes_are_refused_here_with_the_index_s_own_messages_and_nothing_is_sent() throws Exception {
    try (RemoteIndexes remote = start()) {
      HybridIndex text = remote.text();
      text.add("abc#0", vector(1), passage("one"));
      var duplicate = assertThrows(IllegalArgumentException.class, () -> text.add("abc#0", vector(2), passage("two")));
      assertEquals("id 'abc#0' is already present; use update to replace it", duplicate.getMessage());
      var absent = assertThrows(IllegalArgumentException.class, () -> text.update("zzz#0", vector(2), passage("two")));
      assertEquals("id 'zzz#0' is not present; use add for a new item", absent.getMessage());
      var dimension = assertThrows(IllegalArgumentException.class, () -> text.add("abc#1", new float[3], passage("x")));
      assertTrue(dimension.getMessage().contains("3"), dimension.getMessage());
      var blank = assertThrows(IllegalArgumentException.class, () -> text.add(" ", vector(1), passage("x")));
      assertTrue(blank.getMessage().contains("blank"), blank.getMessage());
      var longPath = assertThrows(IllegalArgumentException.class,
          () -> text.add("abc#2", vector(1), new Metadata("chunk", "/" + "p".repeat(40_000), 1, 0L, "x", Map.of())));
      assertTrue(longPath.getMessage().contains("path"), longPath.getMessage());
      text.commit();
      assertEquals(1, text.size());
      assertEquals(1, remote.starts(), "no refused write reached the writer process and broke it");
    }
  }

  @Test
  void a_writer_process_that_dies_before_a_commit_is_replaced_and_gets_the_uncommitted_writes_again() throws Exception {
    try (RemoteIndexes remote = start()) {
      HybridIndex text = remote.text();
      text.add("abc#0", vector(1), passage("committed before the crash"));
      text.commit();
      text.add("abc#1", vector(2), passage("written before the crash"));
      text.addKeywordOnly("abc#2", passage("keyword only, before the crash"));
      assertTrue(text.delete("abc#0"));
      long pid = remote.pid().orElseThrow();
      ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // kill -9
      while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) Thread.onSpinWait();
      text.add("abc#3", vector(3), passage("written while no writer runs"));
      text.commit();
      assertEquals(2, remote.starts());
      assertEquals(List.of("abc#1", "abc#2", "abc#3"), List.of("abc#0", "abc#1", "abc#2", "abc#3").stream().filter(id -> text.get(id).isPresent()).toList());
      assertEquals(3, text.size());
    }
  }

  @Test
  void a_write_that_kills_every_writer_fails_the_commit_after_three_attempts_naming_the_index() throws Exception {
    try (RemoteIndexes remote = start("poison#7")) {
      HybridIndex text = remote.text();
      text.add("fine#1", vector(1), passage("fine"));
      text.commit();
      text.add("poison#7", vector(2), passage("kills the writer"));
      IOException e = assertThrows(IOException.class, text::commit);
      assertTrue(e.getMessage().contains("the text index could not be committed: the index writer process failed 3 times"), e.getMessage());
      assertTrue(e.getMessage().contains("exit code 137"), e.getMessage());
      assertEquals(3, remote.starts(), "the writer that got it first and two new ones");
      assertTrue(text.get("fine#1").isPresent(), "what was committed stays searchable");
    }
  }

  @Test
  void ending_without_a_commit_leaves_the_indexes_at_their_last_commit() throws Exception {
    RemoteIndexes remote = start();
    remote.text().add("abc#0", vector(1), passage("committed"));
    remote.text().commit();
    remote.text().add("abc#1", vector(2), passage("never committed"));
    remote.visual().add("abc#2", vector(3), passage("never committed either"));
    remote.close(); // as when the server dies: the writer's input ends before a commit
    try (LuceneVectorIndex t = LuceneVectorIndex.open(text(), SPEC, LuceneVectorIndex.Options.defaults());
        LuceneVectorIndex v = LuceneVectorIndex.open(visual(), SPEC, LuceneVectorIndex.Options.defaults())) {
      assertTrue(t.contains("abc#0"));
      assertFalse(t.contains("abc#1"));
      assertEquals(0, v.size());
    }
  }

  @Test
  void a_writer_that_cannot_start_is_reported_and_the_views_stay_open_for_a_fallback() throws Exception {
    LuceneVectorIndex view = LuceneVectorIndex.openReadOnly(text(), SPEC, LuceneVectorIndex.Options.defaults());
    try {
      var e = assertThrows(ChildProcessor.CannotStart.class,
          () -> RemoteIndexes.start(List.of(ProcessHandle.current().info().command().orElseThrow(), "-version"), view, null));
      assertTrue(e.getMessage().contains("the index writer process could not start"), e.getMessage());
      assertEquals(0, view.size(), "the view still answers");
    } finally {
      view.close();
    }
    var notAView = assertThrows(IllegalArgumentException.class, () -> {
      try (LuceneVectorIndex writing = LuceneVectorIndex.open(visual(), SPEC, LuceneVectorIndex.Options.defaults())) {
        RemoteIndexes.start(command(), writing, null);
      }
    });
    assertTrue(notAView.getMessage().contains("is not a read-only view"), notAView.getMessage());
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float f : v) s += f * f;
    return Math.sqrt(s);
  }

  @Test
  void the_vectors_of_committed_items_can_be_listed_for_a_mirror() throws Exception {
    try (RemoteIndexes remote = start()) {
      remote.visual().add("abc#0", vector(5), passage("x"));
      remote.visual().commit();
      List<String> seen = new ArrayList<>();
      ((dev.loupe.vectorstore.VectorSource) remote.visual()).forEachVector((id, v, m) -> seen.add(id));
      assertEquals(List.of("abc#0"), seen);
      assertArrayEquals(remote.visual().vector("abc#0").orElseThrow(), normalized(vector(5)), 1e-6f);
    }
  }

  private static float[] normalized(float[] v) {
    double n = norm(v);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] / n);
    return out;
  }
}
