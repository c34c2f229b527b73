package dev.loupe.embeddings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link Embedder} promises: unit vectors of its dimension, input order kept, the same
 * vectors whatever the batching and however many threads call it, and clear errors for inputs it
 * cannot take. An implementation's test extends this and opens one embedder for the class, with
 * a maximum batch of {@link #MAX_BATCH}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class EmbedderContractTest {

  /** The maximum batch the embedder under test must be opened with, so that calls are split. */
  protected static final int MAX_BATCH = 3;

  /** Vectors from different batchings may differ by this much per component (float reductions in another order). */
  protected static final float TOLERANCE = 1e-5f;

  protected Embedder embedder;

  /** Opens the embedder under test with a maximum batch of {@link #MAX_BATCH}. */
  protected abstract Embedder open() throws Exception;

  @BeforeAll
  void openEmbedder() throws Exception {
    embedder = open();
  }

  @AfterAll
  void closeEmbedder() {
    if (embedder != null) {
      embedder.close();
    }
  }

  /** At least eight varied inputs the embedder accepts, in every modality it accepts. */
  protected List<Media> samples() {
    List<Media> samples = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(42);
    String[] texts = {"a photo of a cat", "a diagram of the solar system", "Invoice 2024-117, due in thirty days",
        "rocket launch at dawn", "x", "Ünïcödé and emoji 🚀 text", "the same words twice", "the same words twice"};
    for (int i = 0; i < texts.length; i++) {
      if (embedder.info().accepts(Modality.TEXT)) {
        samples.add(Media.text(texts[i]));
      }
      if (embedder.info().accepts(Modality.IMAGE)) {
        samples.add(Media.image(randomImage(random, 20 + 7 * i, 30 + 3 * i)));
      }
    }
    return samples;
  }

  protected static RgbImage randomImage(SplittableRandom random, int width, int height) {
    byte[] rgb = new byte[3 * width * height];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) random.nextInt(256);
    }
    return new RgbImage(width, height, rgb);
  }

  protected static void assertClose(float[] expected, float[] actual, float tolerance, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > tolerance) {
        throw new AssertionError(what + ": component " + i + " is " + actual[i] + ", expected " + expected[i]
            + " (tolerance " + tolerance + ")");
      }
    }
  }

  @Test
  void info_names_the_model_a_version_a_dimension_and_modalities() {
    Embedder.Info info = embedder.info();
    assertFalse(info.modelId().isBlank());
    assertFalse(info.version().isBlank());
    assertTrue(info.dimension() > 0);
    assertFalse(info.modalities().isEmpty());
  }

  @Test
  void every_vector_has_the_model_dimension_and_unit_length() {
    List<Media> inputs = samples();
    List<float[]> vectors = embedder.embedAll(inputs);
    assertEquals(inputs.size(), vectors.size());
    for (int i = 0; i < vectors.size(); i++) {
      float[] v = vectors.get(i);
      assertEquals(embedder.info().dimension(), v.length, "input " + i);
      double sq = 0;
      for (float x : v) {
        sq += x * x;
      }
      assertEquals(1.0, Math.sqrt(sq), 1e-5, "norm of vector " + i);
    }
  }

  @Test
  void a_batch_larger_than_the_maximum_gives_the_vectors_of_one_by_one_calls_in_input_order() {
    List<Media> inputs = samples();
    assertTrue(inputs.size() > 2 * MAX_BATCH, "the samples must span several batches");
    List<float[]> batched = embedder.embedAll(inputs);
    for (int i = 0; i < inputs.size(); i++) {
      assertClose(embedder.embed(inputs.get(i)), batched.get(i), TOLERANCE, "input " + i + " (" + inputs.get(i).modality() + ")");
    }
  }

  @Test
  void equal_inputs_get_equal_vectors_and_distinct_inputs_distinct_ones() {
    List<Media> inputs = samples();
    List<float[]> vectors = embedder.embedAll(inputs);
    for (int i = 0; i < inputs.size(); i++) {
      for (int j = i + 1; j < inputs.size(); j++) {
        boolean same = inputs.get(i).equals(inputs.get(j));
        float dot = 0;
        for (int k = 0; k < vectors.get(i).length; k++) {
          dot += vectors.get(i)[k] * vectors.get(j)[k];
        }
        if (same) {
          assertEquals(1f, dot, 1e-5f, "inputs " + i + " and " + j + " are equal");
        } else {
          assertTrue(dot < 0.99999f, "inputs " + i + " and " + j + " differ but their vectors do not (cosine " + dot + ")");
        }
      }
    }
  }

  @Test
  void the_returned_arrays_belong_to_the_caller() {
    Media input = samples().getFirst();
    float[] first = embedder.embed(input);
    float[] copy = first.clone();
    first[0] = 42f;
    float[] second = embedder.embed(input);
    assertNotSame(first, second);
    assertClose(copy, second, TOLERANCE, "second call");
  }

  @Test
  void concurrent_calls_from_several_threads_get_the_same_vectors() throws Exception {
    List<Media> inputs = samples();
    List<float[]> expected = embedder.embedAll(inputs);
    int threads = 4, rounds = 5;
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      List<Future<List<float[]>>> futures = new ArrayList<>();
      for (int t = 0; t < threads * rounds; t++) {
        // Each task embeds the inputs rotated by a different amount, so batches differ between threads.
        int shift = t % inputs.size();
        List<Media> rotated = new ArrayList<>(inputs.subList(shift, inputs.size()));
        rotated.addAll(inputs.subList(0, shift));
        futures.add(pool.submit(() -> embedder.embedAll(rotated)));
      }
      for (int t = 0; t < futures.size(); t++) {
        List<float[]> got = futures.get(t).get();
        int shift = t % inputs.size();
        for (int i = 0; i < inputs.size(); i++) {
          assertClose(expected.get((i + shift) % inputs.size()), got.get(i), TOLERANCE, "task " + t + ", input " + i);
        }
      }
    }
  }

  @Test
  void an_empty_list_gives_an_empty_list() {
    assertEquals(List.of(), embedder.embedAll(List.of()));
  }

  @Test
  void empty_and_blank_text_is_rejected_naming_its_position() {
    if (!embedder.info().accepts(Modality.TEXT)) {
      return;
    }
    var e = assertThrows(IllegalArgumentException.class, () -> embedder.embedAll(List.of(Media.text("fine"), Media.text(""))));
    assertTrue(e.getMessage().contains("input 1") && e.getMessage().contains("empty"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> embedder.embedAll(List.of(Media.text(" \t\n"))));
    assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("blank"), e.getMessage());
  }

  @Test
  void an_input_of_a_modality_the_model_does_not_take_is_rejected_with_what_it_does_take() {
    Media other = embedder.info().accepts(Modality.IMAGE)
        ? (embedder.info().accepts(Modality.TEXT) ? null : Media.text("a caption"))
        : Media.image(randomImage(new SplittableRandom(7), 8, 8));
    if (other == null) {
      return; // takes every modality
    }
    List<Media> inputs = new ArrayList<>(samples().subList(0, 2));
    inputs.add(other);
    var e = assertThrows(IllegalArgumentException.class, () -> embedder.embedAll(inputs));
    String message = e.getMessage();
    assertTrue(message.contains("input 2") && message.contains(other.modality().label())
        && message.contains(embedder.info().modelId()) && message.contains("embeds only"), message);
  }
}
