package dev.loupe.vectorstore.jvector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import dev.loupe.vectorstore.jvector.JVectorIndex.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data file, the directory lock and what survives a reopen. */
class JVectorFilesTest {
  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);
  private static final int DIM = 12;
  private static final IndexSpec SPEC = new IndexSpec(DIM, Similarity.COSINE);

  @TempDir Path dir;

  private final SyntheticVectors data = new SyntheticVectors(DIM, 4, 0.8f, SEED);

  private static Metadata meta(int i) {
    return new Metadata(
        "page", "/docs/" + i + ".pdf", i + 1, 1000L * i, "text of item " + i + " ✓",
        Map.of("lang", i % 2 == 0 ? "en" : "fr"));
  }

  private void createIndex(int n) throws IOException {
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      for (int i = 0; i < n; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
    }
  }

  private Path dataFile() {
    return dir.resolve(JVectorFile.NAME);
  }

  @Test
  void reopening_restores_ids_metadata_field_names_and_exact_scores() throws IOException {
    createIndex(300);
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertEquals(300, index.size());
      assertEquals(meta(42), index.get("v42").orElseThrow());
      assertEquals(Set.of("lang"), index.fieldNames());
      float[] q = data.query(3);
      for (SearchHit hit : index.search(q, 5)) {
        int i = Integer.parseInt(hit.id().substring(1));
        assertEquals(Similarity.COSINE.score(q, data.vector(i)), hit.score(), 1e-5f, hit.id());
      }
      assertEquals("v17", index.search(data.vector(17), 1).getFirst().id());
    }
  }

  @Test
  void a_copy_taken_between_commits_shows_exactly_the_last_commit() throws IOException {
    Path copy = dir.resolveSibling(dir.getFileName() + "-copy");
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      for (int i = 0; i < 50; i++) {
        index.add("v" + i, data.vector(i), meta(i));
      }
      index.commit();
      index.delete("v0");
      index.add("late", data.vector(99), meta(99));
      // What a kill -9 at this point would leave on disk.
      Files.createDirectories(copy);
      Files.copy(dataFile(), copy.resolve(JVectorFile.NAME));
    }
    try (JVectorIndex index = JVectorIndex.open(copy, SPEC, Options.defaults())) {
      assertEquals(50, index.size());
      assertTrue(index.contains("v0"));
      assertFalse(index.contains("late"));
    }
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertEquals(50, index.size(), "close() commits");
      assertFalse(index.contains("v0"));
      assertTrue(index.contains("late"));
    }
  }

  @Test
  void a_flipped_byte_is_caught_by_the_checksum_and_the_error_names_the_file() throws IOException {
    createIndex(40);
    byte[] bytes = Files.readAllBytes(dataFile());
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(dataFile(), bytes);
    var e = assertThrows(IOException.class, () -> JVectorIndex.open(dir, SPEC, Options.defaults()));
    assertTrue(e.getMessage().contains(dataFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
  }

  @Test
  void a_file_with_another_magic_or_version_is_rejected_naming_the_file() throws IOException {
    createIndex(5);
    byte[] original = Files.readAllBytes(dataFile());

    byte[] badMagic = original.clone();
    ByteBuffer.wrap(badMagic).putInt(0, 0x12345678);
    Files.write(dataFile(), badMagic);
    var magic = assertThrows(IOException.class, () -> JVectorIndex.open(dir, SPEC, Options.defaults()));
    assertTrue(magic.getMessage().contains(dataFile().toString()), magic.getMessage());
    assertTrue(magic.getMessage().contains("magic"), magic.getMessage());

    byte[] badVersion = original.clone();
    ByteBuffer.wrap(badVersion).putInt(4, JVectorFile.VERSION + 1);
    Files.write(dataFile(), badVersion);
    var version = assertThrows(IOException.class, () -> JVectorIndex.open(dir, SPEC, Options.defaults()));
    assertTrue(version.getMessage().contains(dataFile().toString()), version.getMessage());
    assertTrue(version.getMessage().contains("version " + (JVectorFile.VERSION + 1)), version.getMessage());
  }

  @Test
  void a_truncated_file_is_rejected_naming_the_file() throws IOException {
    createIndex(20);
    byte[] bytes = Files.readAllBytes(dataFile());
    for (int length : new int[] {0, 6, bytes.length / 3, bytes.length - 1}) {
      Files.write(dataFile(), java.util.Arrays.copyOf(bytes, length));
      var e = assertThrows(IOException.class, () -> JVectorIndex.open(dir, SPEC, Options.defaults()));
      assertTrue(e.getMessage().contains(dataFile().toString()), length + ": " + e.getMessage());
    }
  }

  @Test
  void reopening_with_another_spec_is_rejected_naming_both() throws IOException {
    createIndex(3);
    var dim = assertThrows(
        IllegalArgumentException.class,
        () -> JVectorIndex.open(dir, new IndexSpec(DIM + 4, Similarity.COSINE), Options.defaults()));
    assertTrue(dim.getMessage().contains("12") && dim.getMessage().contains("16"), dim.getMessage());
    var sim = assertThrows(
        IllegalArgumentException.class,
        () -> JVectorIndex.open(dir, new IndexSpec(DIM, Similarity.DOT_PRODUCT), Options.defaults()));
    assertTrue(
        sim.getMessage().contains("COSINE") && sim.getMessage().contains("DOT_PRODUCT"),
        sim.getMessage());
    // The failed opens released the directory.
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertEquals(3, index.size());
    }
  }

  @Test
  void an_empty_index_fixes_its_spec_on_first_commit() throws IOException {
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertEquals(0, index.size());
    }
    assertTrue(Files.exists(dataFile()));
    assertThrows(
        IllegalArgumentException.class,
        () -> JVectorIndex.open(dir, new IndexSpec(DIM, Similarity.EUCLIDEAN), Options.defaults()));
  }

  @Test
  void a_second_open_of_the_same_directory_fails_naming_it_until_the_first_is_closed()
      throws IOException {
    try (JVectorIndex first = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      first.add("a", data.vector(0), meta(0));
      var e = assertThrows(IOException.class, () -> JVectorIndex.open(dir, SPEC, Options.defaults()));
      assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
      assertEquals(List.of("a"), first.search(data.vector(0), 1).stream().map(SearchHit::id).toList());
    }
    try (JVectorIndex again = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertTrue(again.contains("a"));
    }
  }

  @Test
  void a_temp_file_left_by_an_interrupted_commit_is_deleted_and_ignored() throws IOException {
    createIndex(10);
    Path temp = dir.resolve(JVectorFile.NAME + dev.loupe.vectorstore.durable.AtomicFile.TEMP_SUFFIX);
    Files.write(temp, new byte[] {1, 2, 3});
    try (JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults())) {
      assertFalse(Files.exists(temp));
      assertEquals(10, index.size());
    }
  }

  @Test
  void a_closed_index_refuses_further_use() throws IOException {
    JVectorIndex index = JVectorIndex.open(dir, SPEC, Options.defaults());
    index.add("a", data.vector(0), meta(0));
    index.close();
    index.close(); // idempotent
    var e = assertThrows(IllegalStateException.class, () -> index.search(data.vector(0), 1));
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    assertThrows(IllegalStateException.class, () -> index.add("b", data.vector(1), meta(1)));
  }
}
