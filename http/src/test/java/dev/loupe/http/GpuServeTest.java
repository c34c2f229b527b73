package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.gpu.FakeCuda;
import dev.loupe.gpu.Gpu;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.gpu.GpuHotTier;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --gpu}: the flag, and the hot tier with a GPU (the fake driver) and without one. */
class GpuServeTest {
  private static final Map<String, String> ENV = Map.of("HOME", "/home/u");
  private static final IndexSpec SPEC = new IndexSpec(8, Similarity.COSINE);

  @TempDir Path dir;

  @Test
  void serve_takes_gpu_as_a_flag_without_a_value() {
    Command.Serve serve = assertInstanceOf(Command.Serve.class, Command.parse(List.of("serve", "--gpu"), ENV));
    assertTrue(serve.gpu());
    assertFalse(assertInstanceOf(Command.Serve.class, Command.parse(List.of("serve"), ENV)).gpu());
  }

  @Test
  void bench_gpu_passes_the_rest_through_untouched() {
    assertEquals(new Command.BenchGpu(List.of("--n", "1000", "--no-torch")),
        Command.parse(List.of("bench", "gpu", "--n", "1000", "--no-torch"), ENV));
  }

  @Test
  void with_a_gpu_each_index_is_mirrored_and_answers_from_the_device() throws Exception {
    Gpu.Detection gpu = Gpu.probe(FakeCuda.library());
    LuceneVectorIndex lucene = LuceneVectorIndex.open(dir, SPEC, LuceneVectorIndex.Options.defaults());
    lucene.add("a", new float[] {1, 0, 0, 0, 0, 0, 0, 0}, Metadata.of("image", "/a"));
    lucene.add("b", new float[] {0, 1, 0, 0, 0, 0, 0, 0}, Metadata.of("image", "/b"));

    try (HybridIndex served = GpuServe.hotTier(gpu).apply(lucene)) {
      GpuHotTier tier = assertInstanceOf(GpuHotTier.class, served);
      assertEquals(2, tier.mirror().size());
      served.add("c", new float[] {0, 0, 1, 0, 0, 0, 0, 0}, Metadata.of("image", "/c"));
      assertEquals("c", served.search(new float[] {0, 0, 1, 0, 0, 0, 0, 0}, 1).getFirst().id());
      assertEquals(3, lucene.size());
    }
  }

  @Test
  void serve_gpu_starts_searches_and_stops_with_the_fake_driver(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data"), corpus = java.nio.file.Files.createDirectories(tmp.resolve("corpus"));
    java.nio.file.Files.writeString(corpus.resolve("lighthouse.txt"), "The lighthouse keeper logs every storm that passes the cape.");
    java.nio.file.Files.writeString(corpus.resolve("bread.txt"), "A recipe for sourdough bread with a long cold proof.");
    Fixtures.ingest(data, corpus);
    // Gpu.detect() reads the property once per JVM; only the GPU paths ever call it.
    System.setProperty(dev.loupe.gpu.CudaDriver.LIBRARY_PROPERTY, FakeCuda.library());
    try {
      Command.Serve serve = (Command.Serve) Command.parse(List.of("serve", "--data", data.toString(), "--port", "0", "--gpu"), ENV);
      try (LoupeServer server = Main.start(serve.config(), serve.store(), serve.llm(), serve.chat(), serve.gpu())) {
        assertInstanceOf(Gpu.Available.class, Gpu.detect());
        var response = java.net.http.HttpClient.newHttpClient().send(
            java.net.http.HttpRequest.newBuilder(server.localUrl().resolve("api/search?k=5&q=lighthouse")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains("lighthouse.txt"), response.body());
      }
    } finally {
      System.clearProperty(dev.loupe.gpu.CudaDriver.LIBRARY_PROPERTY);
    }
  }

  @Test
  void without_a_gpu_the_index_stays_on_the_cpu_path() throws Exception {
    Gpu.Detection none = Gpu.probe("/nonexistent/no-gpu-driver.so");
    try (LuceneVectorIndex lucene = LuceneVectorIndex.open(dir, SPEC, LuceneVectorIndex.Options.defaults())) {
      assertSame(lucene, GpuServe.hotTier(none).apply(lucene));
    }
  }
}
