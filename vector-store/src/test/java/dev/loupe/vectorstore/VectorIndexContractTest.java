package dev.loupe.vectorstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.vectorstore.bench.SyntheticVectors;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The contract every {@link VectorIndex} meets, after Lucene's {@code BaseKnnVectorsFormatTestCase}:
 * each implementation extends this class. Exactness is judged against a brute-force oracle over
 * {@link Similarity#score}; approximate indexes state their minimum recall.
 */
public abstract class VectorIndexContractTest {

  /** Seed of all generated data; printed in failure messages so a failure can be replayed. */
  protected static final long SEED = Long.getLong("loupe.test.seed", 20261122L);

  @TempDir protected Path dir;

  /** The name {@link TestIndexes#open} knows this implementation by; the crash test's child uses it too. */
  protected abstract String kind();

  /** Opens (creating or reopening) the implementation under test in {@code dir}. */
  protected VectorIndex open(Path dir, IndexSpec spec) throws IOException {
    return TestIndexes.open(kind(), dir, spec);
  }

  /** Smallest acceptable recall@10 against the exact oracle on clustered data. */
  protected double minRecall() {
    return 1.0;
  }

  /** How far a reported score may be from the exact {@link Similarity#score}. */
  protected float scoreTolerance() {
    return 1e-4f;
  }

  /**
   * How far a component {@link VectorIndex#vector} returns may be from the stored vector, relative
   * to {@code max(1, |component|)}; zero for indexes that keep the vector exactly.
   */
  protected float vectorTolerance() {
    return 0f;
  }

  // ---- helpers -------------------------------------------------------------------------------

  protected static Metadata meta(int i) {
    return new Metadata(
        i % 3 == 0 ? "image" : "page",
        "/photos/" + (i % 10 == 0 ? "trip/" : "home/") + i + ".jpg",
        i % 7,
        1_700_000_000_000L + i * 1000L,
        "item number " + i,
        Map.of("camera", i % 2 == 0 ? "canon" : "nikon"));
  }

  protected static void addAll(VectorIndex index, SyntheticVectors data, int from, int to) {
    for (int i = from; i < to; i++) {
      index.add("v" + i, data.vector(i), meta(i));
    }
  }

  /** Exact top-k ids among {@code [0, n)} that pass {@code keep}, by the reference score. */
  protected static List<String> oracle(
      Similarity sim, SyntheticVectors data, int n, float[] q, int k, Set<Integer> excluded,
      Filter filter) {
    record Scored(int i, float score) {}
    List<Scored> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (!excluded.contains(i) && filter.test(meta(i))) {
        all.add(new Scored(i, sim.score(q, data.vector(i))));
      }
    }
    all.sort(Comparator.comparingDouble(s -> -s.score()));
    return all.stream().limit(k).map(s -> "v" + s.i()).toList();
  }

  protected static Set<String> ids(List<SearchHit> hits) {
    Set<String> ids = new HashSet<>();
    hits.forEach(h -> ids.add(h.id()));
    return ids;
  }

  private static void assertSortedByScore(List<SearchHit> hits) {
    for (int i = 1; i < hits.size(); i++) {
      assertTrue(
          hits.get(i - 1).score() >= hits.get(i).score(),
          "hits out of order at " + i + ": " + hits);
    }
  }

  // ---- search quality --------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(Similarity.class)
  void finds_the_nearest_neighbours_of_the_exact_oracle(Similarity sim) throws IOException {
    int n = 3000, dim = 48, queries = 40, k = 10;
    SyntheticVectors data = new SyntheticVectors(dim, 30, 0.8f, SEED);
    try (VectorIndex index = open(dir, new IndexSpec(dim, sim))) {
      addAll(index, data, 0, n);
      int found = 0;
      for (int q = 0; q < queries; q++) {
        float[] query = data.query(q);
        List<SearchHit> hits = index.search(query, k);
        assertEquals(k, hits.size());
        assertSortedByScore(hits);
        Set<String> expected = new HashSet<>(oracle(sim, data, n, query, k, Set.of(), Filter.ALL));
        for (SearchHit h : hits) {
          if (expected.contains(h.id())) {
            found++;
          }
          int i = Integer.parseInt(h.id().substring(1));
          assertEquals(
              sim.score(query, data.vector(i)), h.score(), scoreTolerance(),
              "score of " + h.id() + " (seed " + SEED + ")");
          assertEquals(meta(i), h.metadata());
        }
      }
      double recall = found / (double) (queries * k);
      assertTrue(
          recall >= minRecall(),
          "recall@10 " + recall + " < " + minRecall() + " for " + sim + " (seed " + SEED + ")");
    }
  }

  @Test
  void filters_by_type_path_prefix_range_and_free_field() throws IOException {
    int n = 2000, dim = 32, k = 10;
    SyntheticVectors data = new SyntheticVectors(dim, 20, 0.8f, SEED + 1);
    List<Filter> filters =
        List.of(
            Filter.term("type", "image"),
            new Filter.Prefix("path", "/photos/trip/"),
            new Filter.Range("page", 2, 3),
            new Filter.Range("timestamp", 1_700_000_000_000L, 1_700_000_500_000L),
            Filter.and(Filter.term("camera", "canon"), Filter.term("type", "page")),
            new Filter.Or(List.of(Filter.term("type", "image"), new Filter.Range("page", 6, 6))));
    try (VectorIndex index = open(dir, new IndexSpec(dim, Similarity.COSINE))) {
      addAll(index, data, 0, n);
      for (Filter filter : filters) {
        int found = 0, total = 0;
        for (int q = 0; q < 10; q++) {
          float[] query = data.query(q);
          List<SearchHit> hits = index.search(query, k, filter);
          for (SearchHit h : hits) {
            assertTrue(filter.test(h.metadata()), h + " does not match " + filter);
          }
          List<String> expected =
              oracle(Similarity.COSINE, data, n, query, k, Set.of(), filter);
          Set<String> got = ids(hits);
          found += (int) expected.stream().filter(got::contains).count();
          total += expected.size();
        }
        double recall = found / (double) total;
        assertTrue(recall >= minRecall(), "filtered recall " + recall + " for " + filter);
      }
    }
  }

  @Test
  void a_filter_matching_few_items_returns_only_those() throws IOException {
    SyntheticVectors data = new SyntheticVectors(16, 4, 0.8f, SEED + 2);
    try (VectorIndex index = open(dir, new IndexSpec(16, Similarity.COSINE))) {
      addAll(index, data, 0, 500);
      List<SearchHit> hits = index.search(data.query(0), 10, new Filter.Prefix("path", "/photos/trip/1"));
      // ids 10, 100..190 step 10: i % 10 == 0 and the path starts with "/photos/trip/1".
      Set<String> expected = new HashSet<>();
      for (int i = 0; i < 500; i++) {
        if (meta(i).path().startsWith("/photos/trip/1")) {
          expected.add("v" + i);
        }
      }
      assertEquals(Math.min(10, expected.size()), hits.size());
      assertTrue(expected.containsAll(ids(hits)), hits.toString());
    }
  }

  // ---- writes ----------------------------------------------------------------------------------

  @Test
  void writes_are_visible_to_search_at_once() throws IOException {
    SyntheticVectors data = new SyntheticVectors(8, 2, 0.8f, SEED + 3);
    try (VectorIndex index = open(dir, new IndexSpec(8, Similarity.DOT_PRODUCT))) {
      assertEquals(0, index.size());
      assertTrue(index.search(data.query(0), 5).isEmpty());
      index.add("a", data.vector(0), meta(0));
      assertEquals(List.of("a"), index.search(data.vector(0), 5).stream().map(SearchHit::id).toList());
      assertEquals(1, index.size());
      assertEquals(meta(0), index.get("a").orElseThrow());
      assertTrue(index.contains("a"));
      assertFalse(index.contains("b"));
    }
  }

  @Test
  void deletes_and_updates_are_reflected_in_search_and_get() throws IOException {
    int n = 600, dim = 24;
    SyntheticVectors data = new SyntheticVectors(dim, 10, 0.8f, SEED + 4);
    try (VectorIndex index = open(dir, new IndexSpec(dim, Similarity.COSINE))) {
      addAll(index, data, 0, n);
      Set<Integer> deleted = new HashSet<>();
      for (int i = 0; i < n; i += 2) {
        assertTrue(index.delete("v" + i), "delete v" + i);
        deleted.add(i);
      }
      assertFalse(index.delete("v0"), "second delete of v0");
      assertFalse(index.delete("never-added"));
      assertEquals(n / 2, index.size());
      assertTrue(index.get("v0").isEmpty());
      for (int q = 0; q < 10; q++) {
        List<SearchHit> hits = index.search(data.query(q), 20);
        assertEquals(20, hits.size());
        for (SearchHit h : hits) {
          assertFalse(deleted.contains(Integer.parseInt(h.id().substring(1))), "deleted " + h);
        }
      }
      // Move v1 onto the spot of query 99 and change its metadata.
      float[] target = data.query(99);
      Metadata changed = new Metadata("video-frame", "/clips/a.mp4", 0, 42L, "moved", Map.of());
      index.update("v1", target, changed);
      SearchHit top = index.search(target, 1).getFirst();
      assertEquals("v1", top.id());
      assertEquals(1f, top.score(), scoreTolerance() * 10);
      assertEquals(changed, top.metadata());
      assertEquals(changed, index.get("v1").orElseThrow());
      assertEquals(n / 2, index.size());
      // A deleted id may be added again.
      index.add("v0", data.vector(0), meta(0));
      assertEquals("v0", index.search(data.vector(0), 1).getFirst().id());
    }
  }

  // ---- stored vectors ----------------------------------------------------------------------------

  /** Vector {@code i} scaled by 2 to 6, so that normalizing under cosine changes it. */
  protected static float[] scaledVector(SyntheticVectors data, int i) {
    float[] v = data.vector(i);
    float scale = 2f + i % 5;
    for (int j = 0; j < v.length; j++) {
      v[j] *= scale;
    }
    return v;
  }

  /** Asserts {@code actual} is {@code expected} within {@link #vectorTolerance()}. */
  protected void assertStoredVector(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, "dimension of " + what);
    float tolerance = vectorTolerance();
    for (int j = 0; j < expected.length; j++) {
      float allowed = tolerance * Math.max(1f, Math.abs(expected[j]));
      if (allowed == 0f ? expected[j] != actual[j] : Math.abs(expected[j] - actual[j]) > allowed) {
        throw new AssertionError(
            what + " component " + j + " is " + actual[j] + ", expected " + expected[j]
                + " within " + allowed + " (seed " + SEED + ")");
      }
    }
  }

  private float[] storedVector(VectorIndex index, String id) {
    return index.vector(id).orElseThrow(() -> new AssertionError("no vector for " + id));
  }

  @ParameterizedTest
  @EnumSource(Similarity.class)
  void vector_returns_the_stored_vector_normalized_only_under_cosine(Similarity sim)
      throws IOException {
    int n = 300, dim = 24;
    SyntheticVectors data = new SyntheticVectors(dim, 10, 0.8f, SEED + 7);
    IndexSpec spec = new IndexSpec(dim, sim);
    try (VectorIndex index = open(dir, spec)) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, scaledVector(data, i), meta(i));
      }
      for (int i = 0; i < n; i++) {
        float[] given = scaledVector(data, i);
        float[] stored = storedVector(index, "v" + i);
        assertStoredVector(spec.checkAndPrepare(given, "vector"), stored, "vector of v" + i);
        if (sim == Similarity.COSINE) {
          double norm2 = 0;
          for (float x : stored) {
            norm2 += (double) x * x;
          }
          assertEquals(1.0, norm2, 1e-5 + 4 * vectorTolerance(), "squared norm of v" + i);
        }
      }
    }
  }

  @Test
  void vector_is_a_fresh_copy_the_caller_may_modify() throws IOException {
    SyntheticVectors data = new SyntheticVectors(8, 2, 0.8f, SEED + 8);
    try (VectorIndex index = open(dir, new IndexSpec(8, Similarity.EUCLIDEAN))) {
      float[] given = scaledVector(data, 0);
      index.add("a", given, meta(0));
      given[0] = 1000f; // the index copied it on add
      float[] first = storedVector(index, "a");
      float[] expected = first.clone();
      Arrays.fill(first, 7f);
      float[] second = storedVector(index, "a");
      assertTrue(first != second, "vector returned the same array twice");
      assertStoredVector(expected, second, "vector of a after the caller changed a copy");
      assertStoredVector(scaledVector(data, 0), second, "vector of a");
      assertEquals("a", index.search(scaledVector(data, 0), 1).getFirst().id());
    }
  }

  @ParameterizedTest
  @EnumSource(value = Similarity.class, names = {"COSINE", "EUCLIDEAN"})
  void searching_with_an_items_own_vector_finds_that_item_first(Similarity sim)
      throws IOException {
    // Not for DOT_PRODUCT, where a longer vector in a similar direction may outscore the item.
    int n = 500, dim = 32;
    SyntheticVectors data = new SyntheticVectors(dim, 10, 0.8f, SEED + 9);
    try (VectorIndex index = open(dir, new IndexSpec(dim, sim))) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, scaledVector(data, i), meta(i));
      }
      for (int i = 0; i < n; i += 17) {
        float[] own = storedVector(index, "v" + i);
        List<SearchHit> hits = index.search(own, 5);
        assertEquals("v" + i, hits.getFirst().id(), "more like v" + i + " (seed " + SEED + ")");
      }
    }
  }

  @Test
  void vector_follows_updates_and_deletes_and_is_empty_for_unknown_ids() throws IOException {
    int n = 50, dim = 16;
    SyntheticVectors data = new SyntheticVectors(dim, 4, 0.8f, SEED + 10);
    IndexSpec spec = new IndexSpec(dim, Similarity.COSINE);
    try (VectorIndex index = open(dir, spec)) {
      addAll(index, data, 0, n);
      index.update("v1", data.query(3), meta(1));
      assertStoredVector(spec.checkAndPrepare(data.query(3), "vector"), storedVector(index, "v1"), "updated v1");
      assertTrue(index.delete("v2"));
      assertTrue(index.vector("v2").isEmpty(), "vector of deleted v2");
      assertTrue(index.vector("never-added").isEmpty(), "vector of an unknown id");
      index.add("v2", data.query(4), meta(2));
      assertStoredVector(spec.checkAndPrepare(data.query(4), "vector"), storedVector(index, "v2"), "re-added v2");
      for (String bad : new String[] {null, "", "  "}) {
        assertThrows(IllegalArgumentException.class, () -> index.vector(bad));
      }
    }
  }

  @Test
  void vector_sees_committed_and_uncommitted_writes_and_survives_reopen() throws IOException {
    int n = 400, dim = 20;
    SyntheticVectors data = new SyntheticVectors(dim, 8, 0.8f, SEED + 11);
    IndexSpec spec = new IndexSpec(dim, Similarity.DOT_PRODUCT);
    Map<String, float[]> expected = new HashMap<>();
    try (VectorIndex index = open(dir, spec)) {
      for (int i = 0; i < 300; i++) {
        index.add("v" + i, scaledVector(data, i), meta(i));
        expected.put("v" + i, scaledVector(data, i));
      }
      index.commit();
      for (int i = 300; i < n; i++) { // since the last commit
        index.add("v" + i, scaledVector(data, i), meta(i));
        expected.put("v" + i, scaledVector(data, i));
      }
      for (int i = 0; i < n; i += 9) { // rows of committed and uncommitted items change places
        assertTrue(index.delete("v" + i));
        expected.remove("v" + i);
      }
      index.update("v5", data.query(1), meta(5));
      expected.put("v5", data.query(1));
      index.update("v301", data.query(2), meta(301));
      expected.put("v301", data.query(2));
      for (var e : expected.entrySet()) {
        assertStoredVector(e.getValue(), storedVector(index, e.getKey()), "vector of " + e.getKey());
      }
      index.commit();
      for (var e : expected.entrySet()) {
        assertStoredVector(e.getValue(), storedVector(index, e.getKey()), "after commit, " + e.getKey());
      }
    }
    try (VectorIndex index = open(dir, spec)) {
      assertEquals(expected.size(), index.size());
      for (int i = 0; i < n; i++) {
        String id = "v" + i;
        float[] want = expected.get(id);
        if (want == null) {
          assertTrue(index.vector(id).isEmpty(), "deleted " + id + " after reopen");
        } else {
          assertStoredVector(want, storedVector(index, id), "after reopen, " + id);
        }
      }
    }
  }

  @Test
  void an_item_added_keyword_only_has_no_vector_until_an_update_gives_it_one() throws IOException {
    SyntheticVectors data = new SyntheticVectors(8, 2, 0.8f, SEED + 12);
    IndexSpec spec = new IndexSpec(8, Similarity.COSINE);
    try (VectorIndex index = open(dir, spec)) {
      assumeTrue(index instanceof HybridIndex, kind() + " has no keyword-only items");
      HybridIndex hybrid = (HybridIndex) index;
      hybrid.add("with", data.vector(0), meta(0));
      hybrid.addKeywordOnly("without", meta(1));
      assertTrue(hybrid.contains("without"));
      assertTrue(hybrid.vector("without").isEmpty(), "vector of a keyword-only item");
      hybrid.commit();
      assertTrue(hybrid.vector("without").isEmpty(), "after commit");
      hybrid.update("without", data.vector(1), meta(1));
      assertStoredVector(data.vector(1), storedVector(hybrid, "without"), "after update");
      hybrid.addKeywordOnly("later", meta(2));
    }
    try (VectorIndex index = open(dir, spec)) {
      assertTrue(index.vector("later").isEmpty(), "keyword-only item after reopen");
      assertStoredVector(data.vector(0), storedVector(index, "with"), "with, after reopen");
      assertStoredVector(data.vector(1), storedVector(index, "without"), "without, after reopen");
    }
  }

  // ---- durability ------------------------------------------------------------------------------

  @Test
  void survives_close_and_reopen_with_identical_results() throws IOException {
    int n = 800, dim = 20;
    SyntheticVectors data = new SyntheticVectors(dim, 8, 0.8f, SEED + 5);
    IndexSpec spec = new IndexSpec(dim, Similarity.EUCLIDEAN);
    List<List<String>> before = new ArrayList<>();
    try (VectorIndex index = open(dir, spec)) {
      addAll(index, data, 0, n);
      index.commit();
      index.delete("v3");
      index.update("v4", data.query(7), meta(4));
      for (int q = 0; q < 5; q++) {
        before.add(index.search(data.query(q), 10).stream().map(SearchHit::id).toList());
      }
      // No commit: close() must commit the delete and the update.
    }
    try (VectorIndex index = open(dir, spec)) {
      assertEquals(n - 1, index.size());
      assertTrue(index.get("v3").isEmpty());
      assertEquals(meta(17), index.get("v17").orElseThrow());
      assertEquals(Set.of("camera"), index.fieldNames());
      List<String> top = index.search(data.query(7), 1).stream().map(SearchHit::id).toList();
      assertEquals(List.of("v4"), top);
      for (int q = 0; q < 5; q++) {
        List<String> after = index.search(data.query(q), 10).stream().map(SearchHit::id).toList();
        assertEquals(new HashSet<>(before.get(q)), new HashSet<>(after), "query " + q);
      }
    }
  }

  @Test
  void reopening_with_another_dimension_or_similarity_is_rejected() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(16, Similarity.COSINE))) {
      index.add("a", new SyntheticVectors(16, 1, 0.5f, SEED).vector(0), meta(0));
    }
    var e = assertThrows(IllegalArgumentException.class, () -> open(dir, new IndexSpec(32, Similarity.COSINE)).close());
    assertTrue(e.getMessage().contains("16") && e.getMessage().contains("32"), e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class, () -> open(dir, new IndexSpec(16, Similarity.EUCLIDEAN)).close());
    assertTrue(e2.getMessage().contains("COSINE") && e2.getMessage().contains("EUCLIDEAN"), e2.getMessage());
  }

  /**
   * A child JVM adds batches of 25 items and commits after each, printing "ACK b" once the commit
   * of batch b returned; it is killed with SIGKILL at a random point after several
   * acknowledgements, often in the middle of a batch or a commit. Reopened, the index must hold
   * every acknowledged batch, and each batch whole or not at all.
   */
  @Test
  void kill_9_keeps_every_acknowledged_write_and_no_half_written_state() throws Exception {
    SplittableRandom random = new SplittableRandom(SEED);
    int killAfter = 3 + random.nextInt(4);
    Process child =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                CrashWriter.class.getName(), kind(), dir.toString(), "12", "25")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    int lastAck = -1;
    try (var out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ACK ")) {
          lastAck = Integer.parseInt(line.substring(4));
          if (lastAck >= killAfter) {
            // Let the child run into the next batch or commit for a seeded moment.
            Thread.onSpinWait();
            for (int spin = random.nextInt(2_000_000); spin > 0; spin--) {
              Thread.onSpinWait();
            }
            break;
          }
        }
      }
    } finally {
      child.destroyForcibly();
      child.waitFor(60, TimeUnit.SECONDS);
    }
    assertTrue(lastAck >= killAfter, "child stopped before acknowledging batch " + killAfter);
    try (VectorIndex index = TestIndexes.open(kind(), dir, new IndexSpec(12, Similarity.COSINE))) {
      // Batches are committed in order, so the ones present form a prefix; the child may have
      // committed many more after the last ACK we read.
      Map<Integer, Integer> perBatch = new HashMap<>();
      for (int b = 0; ; b++) {
        int count = 0;
        for (int i = 0; i < 25; i++) {
          if (index.contains(CrashWriter.id(b, i))) {
            count++;
          }
        }
        if (count == 0) {
          break;
        }
        perBatch.put(b, count);
      }
      for (int b = 0; b <= lastAck; b++) {
        assertEquals(25, perBatch.getOrDefault(b, 0), "acknowledged batch " + b + " of " + lastAck);
      }
      perBatch.forEach((b, count) -> assertEquals(25, count, "batch " + b + " half written"));
      int total = perBatch.values().stream().mapToInt(Integer::intValue).sum();
      assertEquals(total, index.size());
      assertFalse(index.search(new SyntheticVectors(12, 1, 0.5f, 1).query(0), 5).isEmpty());
    }
  }

  // ---- concurrency -----------------------------------------------------------------------------

  @Test
  void readers_see_consistent_results_while_a_writer_adds_updates_and_deletes() throws Exception {
    int dim = 16, initial = 1000, writes = 1500, readers = 3;
    SyntheticVectors data = new SyntheticVectors(dim, 10, 0.8f, SEED + 6);
    try (VectorIndex index = open(dir, new IndexSpec(dim, Similarity.COSINE))) {
      addAll(index, data, 0, initial);
      Set<String> everAdded = ConcurrentHashMap.newKeySet();
      for (int i = 0; i < initial; i++) {
        everAdded.add("v" + i);
      }
      AtomicBoolean done = new AtomicBoolean();
      CountDownLatch started = new CountDownLatch(readers);
      ExecutorService pool = Executors.newFixedThreadPool(readers);
      List<Future<Integer>> searches = new ArrayList<>();
      for (int r = 0; r < readers; r++) {
        int reader = r;
        searches.add(
            pool.submit(
                () -> {
                  started.countDown();
                  int count = 0;
                  // Bounded by count as well as by the writer finishing.
                  while (!done.get() && count < 20_000) {
                    List<SearchHit> hits = index.search(data.query(reader * 1000 + count), 10, count % 2 == 0 ? Filter.ALL : Filter.term("type", "image"));
                    assertTrue(hits.size() <= 10);
                    assertSortedByScore(hits);
                    for (SearchHit h : hits) {
                      assertTrue(everAdded.contains(h.id()), "unknown id " + h.id());
                    }
                    if (!hits.isEmpty()) {
                      // The hit may be deleted meanwhile; if not, its vector is whole.
                      index.vector(hits.getFirst().id()).ifPresent(v -> assertEquals(dim, v.length));
                    }
                    count++;
                  }
                  return count;
                }));
      }
      started.await();
      for (int w = 0; w < writes; w++) {
        int i = initial + w;
        everAdded.add("v" + i);
        index.add("v" + i, data.vector(i), meta(i));
        if (w % 3 == 0) {
          index.delete("v" + (w % initial));
        }
        if (w % 5 == 0) {
          index.update("v" + i, data.query(w), meta(i));
        }
        if (w % 500 == 0) {
          index.commit();
        }
      }
      done.set(true);
      int total = 0;
      for (Future<Integer> f : searches) {
        total += f.get();
      }
      pool.shutdown();
      assertTrue(total > 0);
      assertEquals(initial + writes - (writes + 2) / 3, index.size());
    }
  }

  // ---- bad input -------------------------------------------------------------------------------

  @Test
  void rejects_vectors_and_queries_of_the_wrong_dimension() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(4, Similarity.COSINE))) {
      var e = assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[5], meta(0)));
      assertTrue(e.getMessage().contains("5") && e.getMessage().contains("4"), e.getMessage());
      index.add("a", new float[] {1, 0, 0, 0}, meta(0));
      var q = assertThrows(IllegalArgumentException.class, () -> index.search(new float[3], 1));
      assertTrue(q.getMessage().contains("3"), q.getMessage());
      assertThrows(IllegalArgumentException.class, () -> index.update("a", new float[7], meta(0)));
      assertThrows(IllegalArgumentException.class, () -> index.add("b", null, meta(0)));
      assertEquals(1, index.size());
    }
  }

  @Test
  void rejects_nan_and_infinite_components() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(3, Similarity.DOT_PRODUCT))) {
      var e = assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[] {1, Float.NaN, 0}, meta(0)));
      assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("1"), e.getMessage());
      var inf = assertThrows(IllegalArgumentException.class, () -> index.search(new float[] {0, 0, Float.POSITIVE_INFINITY}, 1));
      assertTrue(inf.getMessage().contains("Infinity"), inf.getMessage());
      assertEquals(0, index.size());
    }
  }

  @Test
  void rejects_zero_vectors_under_cosine() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(3, Similarity.COSINE))) {
      var e = assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[3], meta(0)));
      assertTrue(e.getMessage().contains("zero vector"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> index.search(new float[3], 1));
    }
  }

  @Test
  void rejects_k_out_of_range() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(2, Similarity.COSINE))) {
      index.add("a", new float[] {1, 0}, meta(0));
      for (int k : new int[] {0, -1, VectorIndex.MAX_K + 1, Integer.MAX_VALUE}) {
        var e = assertThrows(IllegalArgumentException.class, () -> index.search(new float[] {1, 0}, k));
        assertTrue(e.getMessage().contains(String.valueOf(k)), e.getMessage());
      }
    }
  }

  @Test
  void rejects_unknown_filter_fields() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(2, Similarity.COSINE))) {
      index.add("a", new float[] {1, 0}, meta(0));
      var e = assertThrows(IllegalArgumentException.class, () -> index.search(new float[] {1, 0}, 1, Filter.term("colour", "red")));
      assertTrue(e.getMessage().contains("colour"), e.getMessage());
      assertEquals(1, index.search(new float[] {1, 0}, 1, Filter.term("camera", "canon")).size());
    }
  }

  @Test
  void rejects_duplicate_ids_on_add_and_unknown_ids_on_update() throws IOException {
    try (VectorIndex index = open(dir, new IndexSpec(2, Similarity.COSINE))) {
      index.add("a", new float[] {1, 0}, meta(0));
      var e = assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[] {0, 1}, meta(1)));
      assertTrue(e.getMessage().contains("'a'"), e.getMessage());
      var u = assertThrows(IllegalArgumentException.class, () -> index.update("b", new float[] {0, 1}, meta(1)));
      assertTrue(u.getMessage().contains("'b'"), u.getMessage());
      for (String bad : new String[] {null, "", "   "}) {
        assertThrows(IllegalArgumentException.class, () -> index.add(bad, new float[] {1, 1}, meta(0)));
      }
      assertThrows(IllegalArgumentException.class, () -> index.add("c", new float[] {1, 1}, null));
      assertEquals(1, index.size());
      assertEquals(meta(0), index.get("a").orElseThrow());
    }
  }
}
