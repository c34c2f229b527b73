package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.SamplerSettings;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The crafted {@link CitingModel} really answers {@code [1][1]…}, greedy or sampled, after any prompt. */
class CitingModelTest {
  @TempDir Path tmp;

  @Test
  void the_crafted_model_answers_any_prompt_with_citations_of_source_one() throws Exception {
    Path file = tmp.resolve("citing.gguf");
    CitingModel.write(file);
    try (Model model = Model.load(file, ModelOptions.threads(1))) {
      assertEquals(List.of("[", "1", "]"), List.of(CitingModel.OPEN, CitingModel.ONE, CitingModel.CLOSE).stream()
          .map(t -> model.tokenizer().decode(new int[] {t})).toList(), "the byte token ids");
      for (String prompt : List.of("What did the lighthouse keeper do in the storm?", "x", "Ends with a bracket ]")) {
        for (SamplerSettings sampler : List.of(SamplerSettings.greedy(), SamplerSettings.defaults(7L))) {
          Session session = model.newSession(SessionOptions.of(256));
          GenerationResult result = new Generator(session, model.tokenizer())
              .generate(model.tokenizer().encode(prompt, true, false), new GenerationOptions(sampler, 9, List.of()));

          assertEquals("[1][1][1]", result.text(), prompt + " with " + sampler);
          assertArrayEquals(new int[] {CitingModel.OPEN, CitingModel.ONE, CitingModel.CLOSE, CitingModel.OPEN,
              CitingModel.ONE, CitingModel.CLOSE, CitingModel.OPEN, CitingModel.ONE, CitingModel.CLOSE}, result.tokens());
        }
      }
    }
  }
}
