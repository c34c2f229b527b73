package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.embeddings.model.InstalledModel;
import dev.loupe.embeddings.model.ModelCatalog;
import dev.loupe.embeddings.text.Tokenizer;
import dev.loupe.indexer.chunk.Chunk;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extracted;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineTest {
  private static final long SEED = 20_260_521L;

  @TempDir
  Path tmp;

  /** {@code ../shared/testdata/<relative>} beside the repository, or the test is skipped saying so. */
  private static Path shared(String relative) {
    String root = System.getProperty("loupe.repo.root");
    Path repo = root == null || root.isBlank() ? Path.of("").toAbsolutePath().getParent() : Path.of(root).toAbsolutePath();
    Path p = repo.resolveSibling("shared").resolve("testdata").resolve(relative).normalize();
    assumeTrue(Files.exists(p), "skipped: " + p + " is absent (the shared test data lives beside the repository, in ../shared/testdata)");
    return p;
  }

  /** Sentences of words of seeded random lengths, some of them long, rare or not English. */
  private static String prose(SplittableRandom r, int words) {
    String[] vocabulary = {"the", "lighthouse", "keeper", "wrote", "about", "Überprüfung", "naïve", "文件", "tokenization",
        "antidisestablishmentarianism", "3.14159", "co-operate", "of", "a", "zanzibar", "🙂"};
    StringBuilder sb = new StringBuilder();
    for (int w = 0; w < words; w++) {
      sb.append(vocabulary[r.nextInt(vocabulary.length)]);
      sb.append(r.nextInt(12) == 0 ? ". " : r.nextInt(80) == 0 ? "\n\n" : " ");
    }
    return sb.toString();
  }

  @Test
  void the_passage_model_chunks_with_its_own_tokenizer_within_its_context() throws IOException {
    Path json = shared("tokenizers/all-MiniLM-L6-v2/tokenizer.json");
    Path modelDir = Files.createDirectories(tmp.resolve("models").resolve(Pipeline.TEXT_MODEL));
    Files.copy(json, modelDir.resolve("tokenizer.json"));
    InstalledModel model = new InstalledModel(modelDir, ModelCatalog.builtIn().get(Pipeline.TEXT_MODEL));
    int context = model.manifest().text().contextLength();

    try (Tokenizer tokenizer = Pipeline.passageTokenizer(model)) {
      TextChunker chunker = Pipeline.passageChunker(tokenizer, dev.loupe.indexer.IngestSettings.defaults());

      assertEquals(context, tokenizer.contextLength());
      assertTrue(chunker.maxTokens() <= context - 2, "room for [CLS] and [SEP]: " + chunker.maxTokens());
      String text = prose(new SplittableRandom(SEED), 4000);
      List<Chunk> chunks = chunker.chunk(new Extracted.Text(text, 0, 0));
      assertTrue(chunks.size() > 5, "seed " + SEED + ": " + chunks.size() + " chunks");
      for (Chunk c : chunks) {
        int real = tokenizer.count(c.text());
        assertEquals(real, c.tokens(), "seed " + SEED + ": the chunk's count is the model's own");
        assertTrue(real + 2 <= context, "seed " + SEED + ": the model reads the whole chunk of " + real + " tokens");
      }
    }
  }

  @Test
  void without_the_passage_model_text_is_chunked_by_the_approximate_count() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (Pipeline pipeline = Pipeline.open(tmp.resolve("data"), new PrintStream(err, true, StandardCharsets.UTF_8))) {
      assertEquals(TextChunker.DEFAULT_MAX_TOKENS, pipeline.chunker().maxTokens());
    }
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("passages are indexed for keyword search only"), err.toString());
  }
}
