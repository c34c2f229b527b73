package dev.loupe.llm.model;

import dev.loupe.llm.peer.LlamaCppOracle;

/** Helpers the model tests share: running Loupe's engine the way the oracle reports llama.cpp's results. */
final class OracleModels {
  private OracleModels() {}

  /**
   * The largest |expected − actual| over every logit at every position, Loupe's logits computed in
   * one session with prefill batches of 7 (so batches end mid-prompt).
   */
  static double maxLogitDiff(float[][] expected, Model model, int[] tokens) {
    Session s = model.newSession(SessionOptions.of(tokens.length + 8).withBatchSize(7));
    float[][] actual = s.appendWithLogits(tokens);
    double worst = 0;
    for (int p = 0; p < tokens.length; p++) {
      for (int i = 0; i < expected[p].length; i++) {
        worst = Math.max(worst, Math.abs(expected[p][i] - actual[p][i]));
      }
    }
    return worst;
  }

  /** The message of what {@code body} throws; fails if it throws nothing. */
  static String message(org.junit.jupiter.api.function.Executable body) {
    return org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, body).getMessage();
  }

  /** Greedy decoding (lowest id on a tie), EOG not stopping it: {@code count} tokens after {@code prompt}. */
  static int[] greedy(Model model, int[] prompt, int count) {
    Session s = model.newSession(SessionOptions.of(prompt.length + count));
    s.append(prompt);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = LlamaCppOracle.argmax(s.logits());
      if (i + 1 < count) {
        s.append(out[i]);
      }
    }
    return out;
  }
}
