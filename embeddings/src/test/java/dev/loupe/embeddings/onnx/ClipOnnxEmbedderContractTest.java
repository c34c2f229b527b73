package dev.loupe.embeddings.onnx;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.EmbedderContractTest;
import dev.loupe.embeddings.model.ModelManifest.Family;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The embedder contract on a tiny CLIP-shaped model (text with attention mask, and vision; 512-d). */
class ClipOnnxEmbedderContractTest extends EmbedderContractTest {
  @TempDir
  static Path dir;

  @Override
  protected Embedder open() throws Exception {
    ModelDirs.writeOnnx(dir, ModelDirs.clipText().onnx(), new TinyModels.ClipText(512, true, 11).model(false));
    ModelDirs.writeOnnx(dir, ModelDirs.clipVision().onnx(), new TinyModels.Vision(512, 12).model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeClipPreprocessor(dir);
    ModelDirs.writeManifest(dir, "tiny-clip", Family.CLIP, 512, ModelDirs.clipText(), ModelDirs.clipVision());
    return OnnxEmbedder.open(dir, new OnnxEmbedder.Options(MAX_BATCH, 2, OnnxEmbedder.Device.CPU));
  }
}
