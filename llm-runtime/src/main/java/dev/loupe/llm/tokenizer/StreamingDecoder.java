package dev.loupe.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated tokens into text one token at a time without ever splitting a UTF-8 character: the bytes of
 * an incomplete character (an emoji spread over {@code <0xF0>}, {@code <0x9F>}... byte tokens, or over
 * byte-level BPE tokens) are held until the character is whole. Concatenating what {@link #append(int)} and
 * {@link #finish()} return gives the text llama.cpp's piece-by-piece streaming gives (no BPE space clean-up).
 *
 * <p>Not thread-safe: one decoder per stream.
 */
public final class StreamingDecoder {
  private final Tokenizer tokenizer;
  private final boolean renderSpecial;
  private boolean removeLeadingSpace;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

  /**
   * @param startOfText drop the leading space SentencePiece adds to the first token's text, as detokenizing a
   *     whole text does (a first BOS token takes that place, so the text after it keeps its space)
   * @param renderSpecial write control tokens as their text instead of nothing
   */
  public StreamingDecoder(Tokenizer tokenizer, boolean startOfText, boolean renderSpecial) {
    this.tokenizer = tokenizer;
    this.renderSpecial = renderSpecial;
    this.removeLeadingSpace = startOfText && tokenizer.vocabulary().addSpacePrefix();
  }

  /** The text that becomes whole with {@code token}; empty while a character is incomplete. */
  public String append(int token) {
    byte[] piece = tokenizer.tokenBytes(token, renderSpecial);
    // As llama.cpp's detokenize: only the very first token may lose its leading space, whatever it renders as.
    int skip = removeLeadingSpace && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
    removeLeadingSpace = false;
    pending.write(piece, skip, piece.length - skip);
    byte[] bytes = pending.toByteArray();
    int complete = completePrefix(bytes);
    pending.reset();
    pending.write(bytes, complete, bytes.length - complete);
    return new String(bytes, 0, complete, StandardCharsets.UTF_8);
  }

  /** What is still held (an unfinished character becomes U+FFFD); the decoder can go on after it. */
  public String finish() {
    String rest = pending.toString(StandardCharsets.UTF_8);
    pending.reset();
    return rest;
  }

  /** Whether bytes are held back waiting for the rest of a character. */
  public boolean hasPending() {
    return pending.size() > 0;
  }

  /**
   * The length of the longest prefix that does not end inside a UTF-8 sequence. Invalid bytes count as complete
   * (they decode to U+FFFD), so nothing is held that can never become whole.
   */
  static int completePrefix(byte[] bytes) {
    int n = bytes.length;
    for (int i = n - 1; i >= Math.max(0, n - 4); i--) {
      int b = bytes[i] & 0xFF;
      if ((b & 0xC0) == 0x80) {
        continue; // continuation byte: look further back for the lead
      }
      if (b >= 0xC2 && b <= 0xF4) {
        int need = Unicode.utf8Length(b);
        if (n - i < need) {
          for (int j = i + 1; j < n; j++) {
            if ((bytes[j] & 0xC0) != 0x80) {
              return n;
            }
          }
          return i;
        }
      }
      return n;
    }
    return n;
  }
}
