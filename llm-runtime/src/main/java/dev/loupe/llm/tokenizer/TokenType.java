package dev.loupe.llm.tokenizer;

/**
 * The kind of a vocabulary entry, as GGUF's {@code tokenizer.ggml.token_type} numbers it (llama.cpp's
 * {@code llama_token_type}). Immutable.
 */
public enum TokenType {
  UNDEFINED(0),
  NORMAL(1),
  UNKNOWN(2),
  CONTROL(3),
  USER_DEFINED(4),
  UNUSED(5),
  BYTE(6);

  private final int id;

  TokenType(int id) {
    this.id = id;
  }

  /** The number GGUF stores for this type. */
  public int id() {
    return id;
  }

  /** The type GGUF's number {@code id} names; numbers outside 0..6 read as {@link #UNDEFINED}, as in llama.cpp. */
  public static TokenType of(int id) {
    return id >= 0 && id < values().length ? values()[id] : UNDEFINED;
  }
}
