package dev.loupe.llm.generate;

/**
 * How the next token is chosen from the logits, with llama.cpp's meaning for each setting. The {@link Sampler}
 * applies them in llama.cpp's default order: repetition penalty, top-k, top-p, min-p, temperature, then a seeded
 * draw.
 *
 * @param temperature divides the logits before the draw; 0 is greedy (the highest logit, lowest id on ties)
 * @param topK keeps the k most likely tokens; 0 keeps all
 * @param topP keeps the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param minP keeps tokens at least {@code minP} times as likely as the most likely one; 0 keeps all
 * @param repeatPenalty divides positive logits and multiplies negative ones of tokens seen in the last
 *     {@code repeatLastN} tokens; 1 is off
 * @param repeatLastN how many of the most recent tokens the repetition penalty looks at; 0 is off
 * @param seed seeds the draw, so equal settings over equal logits give equal tokens
 */
public record SamplerSettings(float temperature, int topK, float topP, float minP, float repeatPenalty,
    int repeatLastN, long seed) {

  public SamplerSettings {
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature " + temperature + " must be a finite number >= 0 (0 is greedy)");
    }
    if (topK < 0) {
      throw new IllegalArgumentException("topK " + topK + " must be >= 0 (0 keeps every token)");
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP " + topP + " must be in (0, 1] (1 keeps every token)");
    }
    if (!(minP >= 0 && minP <= 1)) {
      throw new IllegalArgumentException("minP " + minP + " must be in [0, 1] (0 keeps every token)");
    }
    if (!(repeatPenalty > 0) || Float.isInfinite(repeatPenalty)) {
      throw new IllegalArgumentException("repeatPenalty " + repeatPenalty + " must be a finite number > 0 (1 is off)");
    }
    if (repeatLastN < 0) {
      throw new IllegalArgumentException("repeatLastN " + repeatLastN + " must be >= 0 (0 is off)");
    }
  }

  /** Greedy decoding: always the most likely token. */
  public static SamplerSettings greedy() {
    return new SamplerSettings(0, 0, 1, 0, 1, 0, 0);
  }

  /** llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repetition penalty). */
  public static SamplerSettings defaults(long seed) {
    return new SamplerSettings(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, seed);
  }

  public SamplerSettings withTemperature(float value) {
    return new SamplerSettings(value, topK, topP, minP, repeatPenalty, repeatLastN, seed);
  }

  public SamplerSettings withTopK(int value) {
    return new SamplerSettings(temperature, value, topP, minP, repeatPenalty, repeatLastN, seed);
  }

  public SamplerSettings withTopP(float value) {
    return new SamplerSettings(temperature, topK, value, minP, repeatPenalty, repeatLastN, seed);
  }

  public SamplerSettings withMinP(float value) {
    return new SamplerSettings(temperature, topK, topP, value, repeatPenalty, repeatLastN, seed);
  }

  public SamplerSettings withRepeatPenalty(float penalty, int lastN) {
    return new SamplerSettings(temperature, topK, topP, minP, penalty, lastN, seed);
  }

  public SamplerSettings withSeed(long value) {
    return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, repeatLastN, value);
  }

  /** Whether this is greedy decoding (temperature 0). */
  public boolean isGreedy() {
    return temperature == 0;
  }
}
