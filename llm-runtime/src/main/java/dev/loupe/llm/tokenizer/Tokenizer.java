package dev.loupe.llm.tokenizer;

import java.util.Map;

/**
 * Text to token ids and back, with the behaviour of llama.cpp's {@code llama_tokenize} and
 * {@code llama_detokenize} for the vocabulary's family: SentencePiece-style ({@code llama}) or byte-level BPE
 * ({@code gpt2}). Built with {@link #fromMetadata(Map)} or {@link #of(Vocabulary)}.
 *
 * <p>Implementations are immutable and safe to share between threads; every call allocates its own scratch.
 */
public sealed interface Tokenizer permits VocabularyTokenizer {

  /** The tokenizer for the vocabulary the GGUF metadata describes; see {@link Vocabulary#fromMetadata(Map)}. */
  static Tokenizer fromMetadata(Map<String, Object> metadata) {
    return of(Vocabulary.fromMetadata(metadata));
  }

  /** The tokenizer of the vocabulary's family. */
  static Tokenizer of(Vocabulary vocabulary) {
    return switch (vocabulary.model()) {
      case SENTENCEPIECE -> new SentencePieceTokenizer(vocabulary);
      case BYTE_PAIR -> new BytePairTokenizer(vocabulary);
    };
  }

  /** The vocabulary this tokenizer reads. */
  Vocabulary vocabulary();

  /**
   * The token ids of {@code text}, as llama.cpp's {@code llama_tokenize(text, add_special, parse_special)}.
   *
   * @param addSpecial add the leading BOS and trailing EOS the vocabulary asks for ({@code add_bos_token},
   *     {@code add_eos_token}); a vocabulary that does not add BOS adds none even when this is true
   * @param parseSpecial match control tokens written in the text (such as {@code <|im_end|>}) as those tokens;
   *     when false they are tokenized as plain text (user-defined tokens are always matched)
   */
  int[] encode(String text, boolean addSpecial, boolean parseSpecial);

  /**
   * The bytes token {@code token} stands for, as llama.cpp's {@code llama_token_to_piece}: a byte token gives
   * its byte, a SentencePiece '▁' gives a space, a control or unknown token gives its text when
   * {@code renderSpecial} and nothing otherwise. Not always whole UTF-8: see {@link StreamingDecoder}.
   */
  byte[] tokenBytes(int token, boolean renderSpecial);

  /** {@link #tokenBytes(int, boolean)} with control tokens rendered as their text. */
  default byte[] tokenBytes(int token) {
    return tokenBytes(token, true);
  }

  /**
   * The text of {@code tokens}, as llama.cpp's {@code llama_detokenize(tokens, remove_special, unparse_special)}:
   * the leading space SentencePiece added is dropped, and byte-level BPE vocabularies that ask for it have
   * spaces before punctuation cleaned. Invalid UTF-8 becomes U+FFFD.
   */
  String decode(int[] tokens, boolean removeSpecial, boolean unparseSpecial);

  /** {@link #decode(int[], boolean, boolean)} keeping BOS/EOS in place but rendering no control token. */
  default String decode(int[] tokens) {
    return decode(tokens, false, false);
  }

  /** Whether {@code token} ends generation (eos, eot and end-of-turn tokens such as {@code <|im_end|>}). */
  default boolean isEndOfGeneration(int token) {
    return vocabulary().isEndOfGeneration(token);
  }

  /**
   * A decoder for a stream of generated tokens that yields text as soon as it is whole UTF-8.
   *
   * @param startOfText whether the first token starts the text (then the SentencePiece leading space is
   *     dropped, as {@link #decode(int[])} does); false to continue a text, such as an answer after its prompt
   */
  default StreamingDecoder streamingDecoder(boolean startOfText) {
    return new StreamingDecoder(this, startOfText, false);
  }
}
