package dev.loupe.rag;

import java.util.Map;

/**
 * One numbered piece of evidence in a prompt: the item it came from and the text the model reads
 * for it. Visual items (images, pages, video frames) are described in words ({@link #text}) while
 * {@link #id}, {@link #thumbnail} and the position still point at the picture, so a citation opens it.
 *
 * @param n the number the prompt shows, {@code [n]}, from 1
 * @param id the item id, {@code sha#n}
 * @param type the API's type name (text, image, page, embedded-image, video-frame)
 * @param path the file that holds the item now
 * @param page 1-based page, 0 for none
 * @param timestamp frame position or EXIF date in epoch ms, 0 for none
 * @param thumbnail the thumbnail path relative to the data folder, or null
 * @param title the one-line heading the prompt shows (file name, page or time)
 * @param text what the model reads: the passage, or the description of a visual
 * @param tokens the tokens {@code title} and {@code text} take in the prompt
 * @param score the hit's score in its own space
 */
public record Source(int n, String id, String type, String path, int page, long timestamp, String thumbnail,
    String title, String text, int tokens, float score) {

  public Source {
    if (n < 1) {
      throw new IllegalArgumentException("source number " + n + " must be at least 1");
    }
    if (id == null || id.isBlank() || path == null || title == null || text == null) {
      throw new IllegalArgumentException("source " + n + " needs an id, a path, a title and a text (id '" + id + "')");
    }
    if (tokens < 0) {
      throw new IllegalArgumentException("source " + n + " has a negative token count " + tokens);
    }
  }

  /** The same source renumbered. */
  public Source withNumber(int number) {
    return new Source(number, id, type, path, page, timestamp, thumbnail, title, text, tokens, score);
  }

  /** The fields a citation carries to a client. */
  public Map<String, Object> citation() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("n", n);
    m.put("id", id);
    m.put("type", type);
    m.put("path", path);
    m.put("page", page);
    m.put("timestamp", timestamp);
    m.put("thumbnail", thumbnail);
    m.put("title", title);
    return m;
  }
}
