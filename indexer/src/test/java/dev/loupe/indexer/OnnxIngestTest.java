package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.bench.TransformerModels;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.vectorstore.Filter;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline with a real ONNX Runtime embedder: a generated CLIP-shaped model with tiny towers
 * and random weights ({@link TransformerModels}) and CLIP's real tokenizer from
 * {@code ../shared/testdata} (skipped without it), embedding both the text chunks and the visuals.
 */
class OnnxIngestTest {
  static final int DIMENSION = 32;

  @TempDir
  Path tmp;

  /** Writes a complete model folder: both towers, the tokenizer, CLIP's preprocessing, a manifest with digests. */
  static Path tinyClip(Path dir, Path tokenizer) throws IOException {
    Files.createDirectories(dir.resolve("onnx"));
    TransformerModels.writeVision(dir.resolve("onnx/vision_model.onnx"), new TransformerModels.Shape(64, 2, 4, 128, 50, DIMENSION), 1);
    TransformerModels.writeText(dir.resolve("onnx/text_model.onnx"), new TransformerModels.Shape(64, 2, 4, 128, 77, DIMENSION), 2);
    Files.copy(tokenizer, dir.resolve("tokenizer.json"));
    Files.writeString(dir.resolve("preprocessor_config.json"), """
        {"do_resize": true, "size": {"shortest_edge": 224}, "resample": 3, "do_center_crop": true,
         "crop_size": {"height": 224, "width": 224}, "do_rescale": true, "rescale_factor": 0.00392156862745098,
         "do_normalize": true, "image_mean": [0.48145466, 0.4578275, 0.40821073],
         "image_std": [0.26862954, 0.26130258, 0.27577711]}
        """);
    StringBuilder files = new StringBuilder();
    for (String f : List.of("onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json", "preprocessor_config.json")) {
      Path p = dir.resolve(f);
      files.append(files.isEmpty() ? "" : ",").append("{\"path\":\"").append(f).append("\",\"bytes\":").append(Files.size(p))
          .append(",\"sha256\":\"").append(Ingester.sha256(p)).append("\"}");
    }
    Files.writeString(dir.resolve("model.json"), """
        {"name": "tiny-clip", "family": "clip", "description": "random weights, tiny towers, for tests",
         "dimension": %d, "licence": "none (generated)", "source": null, "files": [%s],
         "text": {"onnx": "onnx/text_model.onnx", "tokenizer": "tokenizer.json", "contextLength": 77,
                  "output": "text_embeds", "pooling": "none"},
         "vision": {"onnx": "onnx/vision_model.onnx", "preprocessor": "preprocessor_config.json", "output": "image_embeds"}}
        """.formatted(DIMENSION, files));
    return dir;
  }

  /** An embedder that records the length of every vector the real one returns. */
  record Measured(Embedder delegate, ConcurrentLinkedQueue<Double> norms) implements Embedder {
    @Override
    public List<float[]> embedAll(List<? extends Media> inputs) {
      List<float[]> out = delegate.embedAll(inputs);
      for (float[] v : out) {
        double n = 0;
        for (float f : v) n += f * f;
        norms.add(Math.sqrt(n));
      }
      return out;
    }

    @Override
    public Info info() {
      return delegate.info();
    }

    @Override
    public void close() {}
  }

  @Test
  void a_generated_clip_model_embeds_chunks_and_visuals_into_unit_vectors() throws Exception {
    Path tokenizer = TestData.shared("tokenizers/clip-vit-b32/tokenizer.json");
    Path model = tinyClip(tmp.resolve("model"), tokenizer);
    Path folder = Files.createDirectories(tmp.resolve("inbox")).toRealPath();
    Path png = IngestFiles.image(folder.resolve("tile.png"), "png", 96, 64, 12);
    IngestFiles.pdf(folder.resolve("paper.pdf"), "The cormorant survey.\n\n" + IngestFiles.words(3, 120), "Page two.", 13);
    IngestFiles.text(folder.resolve("notes.txt"), IngestFiles.words(5, 500));
    Path data = tmp.resolve("data");
    ConcurrentLinkedQueue<Double> norms = new ConcurrentLinkedQueue<>();

    try (OnnxEmbedder clip = OnnxEmbedder.open(model, OnnxEmbedder.Options.defaults().withMaxBatch(4).withIntraOpThreads(1));
        IngestJournal journal = IngestJournal.open(data.resolve("journal"));
        LuceneVectorIndex text = LuceneVectorIndex.open(data.resolve("text"), new IndexSpec(DIMENSION, Similarity.COSINE),
            LuceneVectorIndex.Options.defaults());
        LuceneVectorIndex visual = LuceneVectorIndex.open(data.resolve("visual"), new IndexSpec(DIMENSION, Similarity.COSINE),
            LuceneVectorIndex.Options.defaults())) {
      Measured measured = new Measured(clip, norms);
      try (Ingester ingester = new Ingester(IngestRig.config(data), journal, Extractors.standard(),
          TextChunker.withDefaults(), measured, text, measured, visual)) {
        ingester.start();
        IngestSummary summary = ingester.ingest(List.of(folder));
        assertEquals(3, summary.done(), summary.failures().toString());
      }

      assertFalse(norms.isEmpty());
      for (double n : norms) {
        assertEquals(1.0, n, 1e-4, "every vector is of unit length");
      }
      assertTrue(text.size() >= 3, "chunks of the PDF and the text file: " + text.size());
      assertTrue(visual.size() >= 3, "the image, the PDF's pages and its embedded image: " + visual.size());
      assertEquals(1, text.keywordSearch("cormorant", 5, Filter.ALL).size());

      // The image's own pixels, embedded again, find its item first.
      float[] query = clip.embedImage(new ImageDecoder(ImageDecoder.Limits.defaults()).decode(png));
      List<SearchHit> hits = visual.search(query, 1);
      assertEquals(IngestJournal.itemId(Ingester.sha256(png), 0), hits.getFirst().id());
      assertEquals(1.0, hits.getFirst().score(), 1e-3);
    }
  }
}
