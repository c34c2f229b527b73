package dev.loupe.llm.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final int[] NO_HISTORY = {};
  private static final float[] QUARTERS = logs(0.1, 0.2, 0.3, 0.4);

  @Test
  void greedy_picks_the_highest_logit_and_the_lowest_id_on_ties() {
    Sampler greedy = new Sampler(SamplerSettings.greedy());
    assertEquals(1, greedy.sample(new float[] {1, 3, 2}, NO_HISTORY, 0));
    assertEquals(1, greedy.sample(new float[] {1, 3, 3, 0, 3}, NO_HISTORY, 0));
  }

  @Test
  void masked_and_nan_logits_are_never_chosen() {
    float ninf = Float.NEGATIVE_INFINITY;
    float[] logits = {ninf, Float.NaN, -50, ninf};
    Sampler sampler = new Sampler(SamplerSettings.defaults(7).withTemperature(5));
    for (int i = 0; i < 100; i++) {
      assertEquals(2, sampler.sample(logits, NO_HISTORY, 0));
    }
    String message = assertThrows(IllegalStateException.class,
        () -> sampler.sample(new float[] {ninf, ninf}, NO_HISTORY, 0)).getMessage();
    assertTrue(message.contains("all 2 logits"), message);
  }

  @Test
  void top_k_keeps_exactly_the_k_highest_with_lower_ids_first_among_ties() {
    Sampler sampler = new Sampler(new SamplerSettings(1, 3, 1, 0, 1, 0, 1));
    assertArrayEquals(new int[] {1, 3, 2}, sampler.candidates(new float[] {1, 5, 3, 5, 2}, NO_HISTORY, 0));
  }

  @Test
  void top_k_of_a_large_vocabulary_equals_the_full_sort_with_ties_nan_and_masked_logits() {
    java.util.Random r = new java.util.Random(5);
    for (int round = 0; round < 20; round++) {
      int v = 4000 + r.nextInt(3000);
      float[] logits = new float[v];
      for (int i = 0; i < v; i++) {
        logits[i] = switch (r.nextInt(20)) {
          case 0 -> Float.NEGATIVE_INFINITY;
          case 1 -> Float.NaN;
          case 2, 3 -> 1.5f; // ties among the largest
          case 4 -> -0.0f;
          case 5 -> 0.0f;
          default -> (float) r.nextGaussian();
        };
      }
      if (round % 5 == 4) { // fewer candidates than k
        Arrays.fill(logits, 0, v - 7, Float.NEGATIVE_INFINITY);
      }
      int k = 1 + r.nextInt(100);
      Integer[] order = new Integer[v];
      for (int i = 0; i < v; i++) order[i] = i;
      Arrays.sort(order, (a, b) -> {
        int c = Float.compare(logits[b] + 0.0f, logits[a] + 0.0f); // -0 and +0 tie
        return c != 0 ? c : Integer.compare(a, b);
      });
      int[] expected = Arrays.stream(order).filter(i -> logits[i] > Float.NEGATIVE_INFINITY).limit(k)
          .mapToInt(Integer::intValue).toArray();
      Sampler sampler = new Sampler(new SamplerSettings(1, k, 1, 0, 1, 0, 1));
      assertArrayEquals(expected, sampler.candidates(logits, NO_HISTORY, 0), "round " + round + ", k " + k);
    }
  }

  @Test
  void top_p_keeps_the_shortest_prefix_whose_mass_reaches_p() {
    float[] logits = logs(0.5, 0.3, 0.15, 0.05);
    assertArrayEquals(new int[] {0, 1}, new Sampler(new SamplerSettings(1, 0, 0.75f, 0, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
    assertArrayEquals(new int[] {0, 1, 2}, new Sampler(new SamplerSettings(1, 0, 0.85f, 0, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
    assertArrayEquals(new int[] {0}, new Sampler(new SamplerSettings(1, 0, 0.4f, 0, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
  }

  @Test
  void min_p_keeps_tokens_at_least_min_p_times_as_likely_as_the_best() {
    float[] logits = logs(0.05, 0.5, 0.15, 0.3);
    assertArrayEquals(new int[] {1, 3, 2}, new Sampler(new SamplerSettings(1, 0, 1, 0.2f, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
    assertArrayEquals(new int[] {1, 3}, new Sampler(new SamplerSettings(1, 0, 1, 0.5f, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
  }

  @Test
  void filters_apply_in_llama_cpp_order_top_k_then_top_p_then_min_p() {
    // top-k 3 leaves 0.4, 0.3, 0.2 (renormalised 4/9, 3/9, 2/9); top-p 0.7 keeps the first two (7/9);
    // min-p 0.8 then drops 0.3 < 0.8 * 0.4.
    float[] logits = logs(0.1, 0.2, 0.3, 0.4);
    assertArrayEquals(new int[] {3, 2}, new Sampler(new SamplerSettings(1, 3, 0.7f, 0, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
    assertArrayEquals(new int[] {3}, new Sampler(new SamplerSettings(1, 3, 0.7f, 0.8f, 1, 0, 1)).candidates(logits, NO_HISTORY, 0));
  }

  @Test
  void repetition_penalty_divides_positive_and_multiplies_negative_logits_of_recent_tokens_once() {
    SamplerSettings penalty = SamplerSettings.greedy().withRepeatPenalty(2, 64);
    // 2.0 / 2 = 1.0 < 1.5 even though token 0 appears twice
    assertEquals(1, new Sampler(penalty).sample(new float[] {2, 1.5f, -1}, new int[] {0, 0}, 2));
    // -1 * 2 = -2 < -1.5
    assertEquals(1, new Sampler(penalty).sample(new float[] {-1, -1.5f}, new int[] {0}, 1));
    // only the last N tokens count: token 0 is outside the window of 1
    SamplerSettings lastOne = SamplerSettings.greedy().withRepeatPenalty(2, 1);
    assertEquals(0, new Sampler(lastOne).sample(new float[] {2, 1.5f}, new int[] {0, 1}, 2));
  }

  @Test
  void draws_follow_the_softmax_of_the_logits_divided_by_the_temperature() {
    assertDistribution(new SamplerSettings(1, 0, 1, 0, 1, 0, 42), QUARTERS, new double[] {0.1, 0.2, 0.3, 0.4});
    double[] hot = {Math.sqrt(0.1), Math.sqrt(0.2), Math.sqrt(0.3), Math.sqrt(0.4)};
    assertDistribution(new SamplerSettings(2, 0, 1, 0, 1, 0, 43), QUARTERS, normalise(hot));
    assertDistribution(new SamplerSettings(1, 2, 1, 0, 1, 0, 44), QUARTERS, new double[] {0, 0, 3 / 7.0, 4 / 7.0});
  }

  @Test
  void the_same_seed_gives_the_same_draws() {
    int[] a = draws(SamplerSettings.defaults(9).withTopK(0).withMinP(0).withTopP(1), 200);
    int[] b = draws(SamplerSettings.defaults(9).withTopK(0).withMinP(0).withTopP(1), 200);
    int[] c = draws(SamplerSettings.defaults(10).withTopK(0).withMinP(0).withTopP(1), 200);
    assertArrayEquals(a, b);
    assertFalse(Arrays.equals(a, c));
  }

  @Test
  void settings_name_the_bad_value() {
    assertMessage("temperature -0.5", () -> SamplerSettings.greedy().withTemperature(-0.5f));
    assertMessage("temperature NaN", () -> SamplerSettings.greedy().withTemperature(Float.NaN));
    assertMessage("topK -1", () -> SamplerSettings.greedy().withTopK(-1));
    assertMessage("topP 0.0", () -> SamplerSettings.greedy().withTopP(0));
    assertMessage("topP 1.5", () -> SamplerSettings.greedy().withTopP(1.5f));
    assertMessage("minP -0.1", () -> SamplerSettings.greedy().withMinP(-0.1f));
    assertMessage("repeatPenalty 0.0", () -> SamplerSettings.greedy().withRepeatPenalty(0, 64));
    assertMessage("repeatLastN -3", () -> SamplerSettings.greedy().withRepeatPenalty(1.1f, -3));
  }

  private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
    String message = assertThrows(IllegalArgumentException.class, call).getMessage();
    assertTrue(message.contains(expected), message);
  }

  private static int[] draws(SamplerSettings settings, int n) {
    Sampler sampler = new Sampler(settings);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = sampler.sample(QUARTERS, NO_HISTORY, 0);
    }
    return out;
  }

  /** Chi-square goodness of fit over 20000 seeded draws, against the 0.001 critical value (generous). */
  private static void assertDistribution(SamplerSettings settings, float[] logits, double[] expected) {
    int n = 20_000;
    int[] counts = new int[logits.length];
    Sampler sampler = new Sampler(settings);
    for (int i = 0; i < n; i++) {
      counts[sampler.sample(logits, NO_HISTORY, 0)]++;
    }
    double chi2 = 0;
    int dof = -1;
    for (int i = 0; i < counts.length; i++) {
      if (expected[i] == 0) {
        assertEquals(0, counts[i], "token " + i + " must never be drawn (seed " + settings.seed() + ")");
        continue;
      }
      double e = expected[i] * n;
      chi2 += (counts[i] - e) * (counts[i] - e) / e;
      dof++;
    }
    double[] critical = {10.83, 13.82, 16.27}; // chi-square 0.999 quantiles for 1, 2, 3 degrees of freedom
    assertTrue(chi2 < critical[dof - 1], "chi-square " + chi2 + " of " + Arrays.toString(counts) + " against "
        + Arrays.toString(expected) + " (seed " + settings.seed() + ")");
  }

  private static float[] logs(double... p) {
    float[] out = new float[p.length];
    for (int i = 0; i < p.length; i++) {
      out[i] = (float) Math.log(p[i]);
    }
    return out;
  }

  private static double[] normalise(double[] w) {
    double sum = Arrays.stream(w).sum();
    return Arrays.stream(w).map(x -> x / sum).toArray();
  }
}
