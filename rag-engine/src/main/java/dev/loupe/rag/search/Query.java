package dev.loupe.rag.search;

import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.vectorstore.VectorIndex;

/** What a search looks for: words, a picture, or items like one already indexed. */
public sealed interface Query {

  /** Words: passages by BM25 and passage vectors, visuals by CLIP's text tower. */
  record Text(String text) implements Query {
    /** Longest query text accepted, in characters. */
    public static final int MAX_LENGTH = 2_000;

    public Text {
      if (text == null || text.isBlank()) {
        throw new IllegalArgumentException("query text must not be blank");
      }
      if (text.length() > MAX_LENGTH) {
        throw new IllegalArgumentException(
            "query text of " + text.length() + " characters is longer than " + MAX_LENGTH);
      }
      text = text.strip();
    }
  }

  /** A decoded picture: visuals by CLIP's image tower (pages too, so a photo of a page finds it). */
  record Image(RgbImage pixels) implements Query {
    public Image {
      if (pixels == null) {
        throw new IllegalArgumentException("query image must not be null");
      }
    }
  }

  /** Items like the indexed item {@code id}, in its own space, the item itself left out. */
  record Similar(String id) implements Query {
    public Similar {
      VectorIndex.checkId(id);
    }
  }
}
