package dev.loupe.embeddings.onnx;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.EmbedderContractTest;
import dev.loupe.embeddings.model.ModelManifest.Family;
import dev.loupe.embeddings.model.ModelManifest.Pooling;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The embedder contract on a tiny BERT-shaped passage encoder (MiniLM's tokenizer, mean pooling, 384-d, text only). */
class BertOnnxEmbedderContractTest extends EmbedderContractTest {
  @TempDir
  static Path dir;

  @Override
  protected Embedder open() throws Exception {
    ModelDirs.writeOnnx(dir, ModelDirs.bertText(Pooling.MEAN).onnx(), new TinyModels.Bert(21).model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.MINILM_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-minilm", Family.BERT, 384, ModelDirs.bertText(Pooling.MEAN), null);
    return OnnxEmbedder.open(dir, new OnnxEmbedder.Options(MAX_BATCH, 2, OnnxEmbedder.Device.CPU));
  }
}
