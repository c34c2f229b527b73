package dev.loupe.llm.generate;

import java.util.List;

/**
 * What one {@link Generator#generate} call does besides sampling.
 *
 * @param sampler how tokens are chosen
 * @param maxTokens the most tokens to generate (the end-of-generation token counts)
 * @param stopStrings texts that end the generation where they appear in the output; they are not part of the
 *     result's text (text that may begin one is held back until it cannot)
 */
public record GenerationOptions(SamplerSettings sampler, int maxTokens, List<String> stopStrings) {

  public GenerationOptions {
    if (sampler == null) {
      throw new IllegalArgumentException("sampler settings are required");
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens " + maxTokens + " must be >= 1");
    }
    stopStrings = List.copyOf(stopStrings);
    for (String s : stopStrings) {
      if (s.isEmpty()) {
        throw new IllegalArgumentException("stop strings must not be empty: " + stopStrings);
      }
    }
  }

  /** Greedy, at most {@code maxTokens}, no stop strings. */
  public static GenerationOptions greedy(int maxTokens) {
    return new GenerationOptions(SamplerSettings.greedy(), maxTokens, List.of());
  }

  public GenerationOptions withStopStrings(String... strings) {
    return new GenerationOptions(sampler, maxTokens, List.of(strings));
  }
}
