package dev.loupe.embeddings;

import dev.loupe.embeddings.image.RgbImage;
import java.util.List;
import java.util.Set;

/**
 * Turns text and images into L2-normalized vectors of one embedding space.
 *
 * <p>Implementations are thread-safe: one model session is shared by all callers, and large
 * batches are split into the embedder's maximum batch size. The returned arrays belong to the
 * caller.
 */
public interface Embedder extends AutoCloseable {

  /**
   * Embeds every input, in order. All inputs must be of a modality this embedder accepts.
   *
   * @throws IllegalArgumentException naming the first input this embedder cannot take (a
   *     modality it does not accept, empty text, an image with no pixels)
   */
  List<float[]> embedAll(List<? extends Media> inputs);

  /** What this embedder is: model id, content digest, dimension and accepted modalities. */
  Info info();

  default float[] embed(Media input) {
    return embedAll(List.of(input)).getFirst();
  }

  default float[] embedText(String text) {
    return embed(new Media.Text(text));
  }

  default float[] embedImage(RgbImage image) {
    return embed(new Media.Image(image));
  }

  /** Releases the model session. */
  @Override
  void close();

  /**
   * Identity of an embedder's vector space.
   *
   * @param modelId the model's name, such as {@code clip-vit-b32}
   * @param version a digest of the model files' contents: vectors from two embedders are comparable
   *     only when both the id and the version match
   * @param dimension length of every vector
   * @param modalities the inputs it accepts
   */
  record Info(String modelId, String version, int dimension, Set<Modality> modalities) {
    public Info {
      if (modelId == null || modelId.isBlank()) {
        throw new IllegalArgumentException("model id must not be blank");
      }
      if (dimension < 1) {
        throw new IllegalArgumentException("dimension " + dimension + " must be at least 1");
      }
      if (modalities.isEmpty()) {
        throw new IllegalArgumentException("model " + modelId + " accepts no modality");
      }
      modalities = Set.copyOf(modalities);
    }

    public boolean accepts(Modality modality) {
      return modalities.contains(modality);
    }

    /** Throws naming the model and what it does accept, when {@code input} is of another modality. */
    public void checkAccepts(Media input, int position) {
      if (!accepts(input.modality())) {
        throw new IllegalArgumentException("input " + position + " is " + input.modality().label() + ", but model "
            + modelId + " embeds only " + modalities.stream().map(Modality::label).sorted().toList());
      }
    }
  }
}
