package dev.loupe.indexer.extract;

import dev.loupe.embeddings.image.RgbImage;
import java.util.Map;
import java.util.Objects;

/**
 * One thing an {@link Extractor} found in a file, in file order: text to chunk and embed with the
 * passage embedder, or pixels to embed with CLIP. The ingester turns each into index items.
 */
public sealed interface Extracted {

  /**
   * Text of one page or section, before chunking.
   *
   * @param text the text, paragraphs separated by blank lines
   * @param page 1-based page number, or 0 when the format has no pages
   * @param offset character offset of {@code text} in the whole document's text
   */
  record Text(String text, int page, long offset) implements Extracted {
    public Text {
      Objects.requireNonNull(text, "text");
      if (page < 0) throw new IllegalArgumentException("page " + page + " is negative");
      if (offset < 0) throw new IllegalArgumentException("offset " + offset + " is negative");
    }
  }

  /**
   * An image to embed: a picture file, a rendered page, an image embedded in a document, or a
   * video keyframe.
   *
   * @param kind what it is
   * @param pixels the decoded pixels (orientation applied, alpha composited on white)
   * @param page 1-based page for page renders and embedded images, else 0
   * @param timestampMs position in a video for keyframes, else -1
   * @param metadata extra fields to store with the item (e.g. {@code exif_date})
   */
  record Visual(Kind kind, RgbImage pixels, int page, long timestampMs, Map<String, String> metadata) implements Extracted {
    public Visual {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(pixels, "pixels");
      if (page < 0) throw new IllegalArgumentException("page " + page + " is negative");
      metadata = Map.copyOf(metadata);
    }
  }

  /** Document-level fields (title, author, creation date, EXIF date, duration...). */
  record Metadata(Map<String, String> fields) implements Extracted {
    public Metadata {
      fields = Map.copyOf(fields);
    }
  }

  /** What a {@link Visual} is; stored as the item's {@code type}. */
  enum Kind {
    IMAGE("image"),
    PAGE_RENDER("page"),
    EMBEDDED_IMAGE("embedded-image"),
    VIDEO_FRAME("frame");

    public final String type;

    Kind(String type) {
      this.type = type;
    }
  }
}
