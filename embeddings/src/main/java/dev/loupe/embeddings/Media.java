package dev.loupe.embeddings;

import dev.loupe.embeddings.image.RgbImage;
import java.util.Objects;

/**
 * What an {@link Embedder} embeds: a piece of text or a decoded image. Files are decoded before
 * they get here (see {@link dev.loupe.embeddings.image.ImageDecoder}), so an embedder never
 * touches paths.
 */
public sealed interface Media {

  /** The modality of this input. */
  Modality modality();

  /** A piece of text: a query, a caption, a passage. */
  record Text(String text) implements Media {
    public Text {
      Objects.requireNonNull(text, "text");
    }

    @Override
    public Modality modality() {
      return Modality.TEXT;
    }
  }

  /** Decoded pixels: an image, a rendered page or a video keyframe. */
  record Image(RgbImage pixels) implements Media {
    public Image {
      Objects.requireNonNull(pixels, "pixels");
    }

    @Override
    public Modality modality() {
      return Modality.IMAGE;
    }
  }

  static Media text(String text) {
    return new Text(text);
  }

  static Media image(RgbImage pixels) {
    return new Image(pixels);
  }
}
