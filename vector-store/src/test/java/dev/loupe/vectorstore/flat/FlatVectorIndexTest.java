package dev.loupe.vectorstore.flat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.VectorIndex;
import dev.loupe.vectorstore.VectorIndexContractTest;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The flat index under the contract in each encoding, plus its own file-format checks. */
class FlatVectorIndexTest {

  @Nested
  class Fp32 extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "flat-f32";
    }

    @Test
    void batched_and_multithreaded_scans_equal_single_query_scans() throws IOException {
      int n = 20_000, dim = 40; // 800k components: above the parallel threshold
      SyntheticVectors data = new SyntheticVectors(dim, 50, 0.8f, SEED);
      IndexSpec spec = new IndexSpec(dim, Similarity.DOT_PRODUCT);
      try (FlatVectorIndex parallel = FlatVectorIndex.inMemory(spec, Encoding.F32, 3);
          FlatVectorIndex single = FlatVectorIndex.inMemory(spec, Encoding.F32, 1)) {
        for (int i = 0; i < n; i++) {
          parallel.add("v" + i, data.vector(i), meta(i));
          single.add("v" + i, data.vector(i), meta(i));
        }
        List<float[]> queries = new ArrayList<>();
        for (int q = 0; q < 7; q++) {
          queries.add(data.query(q));
        }
        List<List<SearchHit>> batched = parallel.searchBatch(queries, 10, null);
        for (int q = 0; q < queries.size(); q++) {
          List<SearchHit> expected = single.search(queries.get(q), 10);
          assertEquals(ids(expected), ids(batched.get(q)), "query " + q);
          for (int i = 0; i < 10; i++) {
            assertEquals(expected.get(i).score(), batched.get(q).get(i).score(), 1e-5f);
          }
        }
      }
    }
  }

  @Nested
  class Fp16 extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "flat-f16";
    }

    @Override
    protected double minRecall() {
      return 0.97;
    }

    @Override
    protected float scoreTolerance() {
      return 2e-3f;
    }

    // No fp32 copy is kept: vector() decodes the row, within half an fp16 ulp (2^-11 relative).
    @Override
    protected float vectorTolerance() {
      return 1e-3f;
    }
  }

  @Nested
  class Int8 extends VectorIndexContractTest {
    @Override
    protected String kind() {
      return "flat-i8";
    }

    // Candidates are reranked against the fp32 originals, so answers and scores are exact.
    @Override
    protected double minRecall() {
      return 0.99;
    }

    @Test
    void reranks_with_originals_from_the_heap_and_from_the_mapped_snapshot_alike() throws IOException {
      int dim = 64;
      SyntheticVectors data = new SyntheticVectors(dim, 5, 0.8f, SEED);
      IndexSpec spec = new IndexSpec(dim, Similarity.EUCLIDEAN);
      try (VectorIndex index = open(dir, spec)) {
        addAll(index, data, 0, 400);
      }
      try (VectorIndex index = open(dir, spec)) {
        addAll(index, data, 400, 600); // originals on the heap
        for (int i = 0; i < 600; i += 7) {
          index.delete("v" + i); // moves rows from either source into the holes
        }
        index.commit();
        index.update("v1", data.vector(1), meta(1));
        for (int q = 0; q < 20; q++) {
          float[] query = data.query(q);
          for (SearchHit h : index.search(query, 10)) {
            int i = Integer.parseInt(h.id().substring(1));
            assertTrue(i % 7 != 0, "deleted " + h.id());
            assertEquals(Similarity.EUCLIDEAN.score(query, data.vector(i)), h.score(), 1e-5f, h.id());
          }
        }
      }
    }
  }

  @Nested
  class FileFormat {
    @org.junit.jupiter.api.io.TempDir Path dir;

    private void write(Path dir) throws IOException {
      try (FlatVectorIndex index = FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32)) {
        index.add("a", new float[] {1, 2, 3, 4}, imageMeta());
      }
    }

    private static dev.loupe.vectorstore.Metadata imageMeta() {
      return dev.loupe.vectorstore.Metadata.of("image", "/a.jpg");
    }

    @Test
    void rejects_a_snapshot_with_a_flipped_byte_naming_the_file() throws IOException {
      write(dir);
      Path file = dir.resolve(FlatVectorIndex.FILE);
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
        raf.seek(raf.length() - 30);
        int b = raf.read();
        raf.seek(raf.length() - 30);
        raf.write(b ^ 0x40);
      }
      var e = assertThrows(IOException.class, () -> FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32));
      assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void rejects_a_truncated_snapshot_and_a_foreign_file() throws IOException {
      write(dir);
      Path file = dir.resolve(FlatVectorIndex.FILE);
      byte[] bytes = Files.readAllBytes(file);
      Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 5));
      var e = assertThrows(IOException.class, () -> FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32));
      assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
      Files.writeString(file, "this is not an index but some text long enough to have a header");
      var f = assertThrows(IOException.class, () -> FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32));
      assertTrue(f.getMessage().contains("magic"), f.getMessage());
    }

    @Test
    void ignores_a_leftover_temporary_file_from_an_interrupted_commit() throws IOException {
      write(dir);
      Files.writeString(dir.resolve(FlatVectorIndex.FILE + ".tmp"), "half a snapshot");
      try (FlatVectorIndex index = FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32)) {
        assertEquals(1, index.size());
      }
      assertTrue(Files.notExists(dir.resolve(FlatVectorIndex.FILE + ".tmp")));
    }

    @Test
    void a_second_open_of_the_same_directory_is_refused() throws IOException {
      try (FlatVectorIndex index = FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32)) {
        var e = assertThrows(IOException.class, () -> FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.F32));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        assertEquals(0, index.size(), "the first instance still works");
      }
    }

    @Test
    void reopening_with_another_encoding_is_rejected() throws IOException {
      write(dir);
      var e = assertThrows(IllegalArgumentException.class, () -> FlatVectorIndex.open(dir, new IndexSpec(4, Similarity.COSINE), Encoding.I8));
      assertTrue(e.getMessage().contains("F32") && e.getMessage().contains("I8"), e.getMessage());
    }
  }

  private static List<String> ids(List<SearchHit> hits) {
    return hits.stream().map(SearchHit::id).toList();
  }
}
