package dev.loupe.llm.generate;

import dev.loupe.llm.TestData;
import dev.loupe.llm.convert.GgufQuantizer;
import dev.loupe.llm.convert.Llama2cConverter;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The real stories260K llama2.c model from {@code ../shared/testdata}, converted to GGUF for the generation tests
 * (F32), and its quantized builds (the drafts of the speculative tests). Tests that use it are skipped, with the
 * reason, where the shared test data is absent.
 */
final class StoriesModels {
  private StoriesModels() {}

  /** Converts stories260K into {@code dir} as {@code stories260K-f32.gguf} and returns its path. */
  static Path convert(Path dir) throws IOException {
    Path gguf = dir.resolve("stories260K-f32.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), gguf, GgmlType.F32);
    return gguf;
  }

  /** Quantizes the converted model to {@code type} beside it. */
  static Path quantize(Path f32, GgmlType type) throws IOException {
    Path out = f32.resolveSibling("stories260K-" + type.name().toLowerCase(java.util.Locale.ROOT) + ".gguf");
    GgufQuantizer.quantize(f32, out, type);
    return out;
  }

  /** One compute thread: the model is tiny and the test machine is shared. */
  static Model load(Path gguf) throws IOException {
    return Model.load(gguf, ModelOptions.threads(1));
  }
}
