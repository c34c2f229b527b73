package dev.loupe.indexer.chunk;

import java.util.Objects;

/**
 * A passage of a document to embed and index, with where it came from.
 *
 * <p>Offsets count UTF-16 code units (Java {@code String} indices, as JavaScript counts too) in
 * the whole document's text, as {@link dev.loupe.indexer.extract.Extracted.Text#offset()} does:
 * for the part {@code p} the chunk came from, {@code p.text().substring((int) (start -
 * p.offset()), (int) (end - p.offset()))} equals {@code text}, so a viewer can highlight exactly
 * this span.
 *
 * @param text the passage, verbatim (line breaks included), without leading or trailing whitespace
 * @param page 1-based page number, or 0 when the format has no pages
 * @param start offset of the first character in the document's text
 * @param end offset after the last character
 * @param tokens the tokens {@code text} makes, as the chunker's {@link TokenCounter} counts them
 */
public record Chunk(String text, int page, long start, long end, int tokens) {
  public Chunk {
    Objects.requireNonNull(text, "text");
    if (text.isEmpty()) throw new IllegalArgumentException("chunk text is empty");
    if (page < 0) throw new IllegalArgumentException("page " + page + " is negative");
    if (start < 0 || end - start != text.length()) {
      throw new IllegalArgumentException("chunk offsets [" + start + ", " + end + ") do not span its " + text.length() + " characters");
    }
    if (tokens < 0) throw new IllegalArgumentException("token count " + tokens + " is negative");
  }
}
