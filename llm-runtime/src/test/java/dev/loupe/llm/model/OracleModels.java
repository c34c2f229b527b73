package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgufTensor;
import dev.loupe.llm.oracle.GgmlInternals;
import dev.loupe.llm.peer.LlamaCppOracle;
import dev.loupe.llm.tensor.ActivationMode;
import dev.loupe.llm.tensor.ComputePool;
import dev.loupe.llm.tensor.WeightMatrix;
import dev.loupe.llm.tensor.WeightType;

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

  /**
   * Recomputes every weight matmul of a llama.cpp forward pass with Loupe's {@link WeightMatrix}
   * (GGML activation mode) from llama.cpp's own input to it, and returns the largest difference
   * from llama.cpp's output relative to that output's largest magnitude, with the node it occurred
   * at; {@code matmuls[0]} receives the number of matmuls compared.
   */
  static Worst matmulsAgainst(GgmlInternals.Capture capture, Model model, int[] matmuls) {
    Worst worst = new Worst("none", 0);
    try (ComputePool pool = ComputePool.singleThreaded()) {
      for (GgmlInternals.Node n : capture.nodes()) {
        if (!n.op().equals("MUL_MAT") || !n.sources().get(0).name().endsWith(".weight")) continue;
        GgmlInternals.Node w = n.sources().get(0), x = n.sources().get(1);
        GgufTensor t = model.file().tensor(w.name());
        int cols = (int) w.ne()[0], rows = (int) w.ne()[1], count = (int) x.rows();
        WeightMatrix m = new WeightMatrix(t.data(), WeightType.fromGgmlId(t.type().id()), rows, cols);
        float[] out = new float[rows * count];
        m.matmulBatch(x.values(), 0, count, out, 0, pool, ActivationMode.GGML);
        double diff = 0, max = 0;
        for (int i = 0; i < out.length; i++) {
          diff = Math.max(diff, Math.abs(out[i] - n.values()[i]));
          max = Math.max(max, Math.abs(n.values()[i]));
        }
        matmuls[0]++;
        if (diff / max > worst.relative()) worst = new Worst(n.name() + " (" + w.name() + ")", diff / max);
      }
    }
    return worst;
  }

  /** The largest relative difference found and where. */
  record Worst(String node, double relative) {}
}
