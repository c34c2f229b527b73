package dev.loupe.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What the two tokenizer families share, as llama.cpp's {@code llama_vocab::impl}: splitting special tokens out
 * of the text ({@code tokenizer_st_partition}), adding BOS/EOS, token pieces and detokenization. Immutable.
 */
abstract sealed class VocabularyTokenizer implements Tokenizer permits SentencePieceTokenizer, BytePairTokenizer {
  final Vocabulary vocab;

  VocabularyTokenizer(Vocabulary vocab) {
    this.vocab = vocab;
  }

  @Override
  public Vocabulary vocabulary() {
    return vocab;
  }

  /** Tokenizes one piece of raw text (no special tokens inside) into {@code out}. */
  abstract void encodeText(String text, boolean afterSpecial, IntList out);

  @Override
  public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
    IntList out = new IntList();
    if (addSpecial && vocab.addBos()) {
      out.add(vocab.bos());
    }
    boolean afterSpecial = true; // the start of text counts as "after a special token"
    for (Object fragment : partition(text, parseSpecial)) {
      if (fragment instanceof String raw) {
        encodeText(raw, afterSpecial, out);
        afterSpecial = false;
      } else {
        out.add((Integer) fragment);
        afterSpecial = true;
      }
    }
    if (addSpecial && vocab.addEos()) {
      out.add(vocab.eos());
    }
    return out.toArray();
  }

  /**
   * The text cut into raw strings and special token ids: each special token, longest first, is found in every
   * raw piece left by the ones before it.
   */
  List<Object> partition(String text, boolean parseSpecial) {
    List<Object> fragments = new ArrayList<>();
    if (text.isEmpty()) {
      return fragments;
    }
    fragments.add(text);
    for (int id : vocab.specialTokens()) {
      int attrs = vocab.attrs(id);
      if (!parseSpecial && (attrs & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
        continue; // user-defined tokens are matched even when specials are not parsed
      }
      String special = vocab.text(id);
      List<Object> next = null;
      for (int f = 0; f < fragments.size(); f++) {
        Object fragment = fragments.get(f);
        int at = fragment instanceof String raw ? raw.indexOf(special) : -1;
        if (at < 0) {
          if (next != null) {
            next.add(fragment);
          }
          continue;
        }
        if (next == null) {
          next = new ArrayList<>(fragments.subList(0, f));
        }
        String raw = (String) fragment;
        int from = 0;
        while (at >= 0) {
          if (at > from) {
            next.add(raw.substring(from, at));
          }
          next.add(id);
          from = at + special.length();
          at = raw.indexOf(special, from);
        }
        if (from < raw.length()) {
          next.add(raw.substring(from));
        }
      }
      if (next != null) {
        fragments = next;
      }
    }
    return fragments;
  }

  @Override
  public byte[] tokenBytes(int token, boolean renderSpecial) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    piece(token, renderSpecial, out);
    return out.toByteArray();
  }

  /** llama.cpp's {@code token_to_piece} without lstrip. */
  void piece(int token, boolean renderSpecial, ByteArrayOutputStream out) {
    int attrs = vocab.attrs(checkToken(token));
    String text = vocab.text(token);
    if (!renderSpecial && (attrs & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL)) != 0) {
      return;
    }
    if ((attrs & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED)) != 0) {
      out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    } else if ((attrs & Vocabulary.ATTR_NORMAL) != 0) {
      normalPiece(text, out);
    } else if ((attrs & Vocabulary.ATTR_BYTE) != 0) {
      out.write(byteOf(token));
    }
    // undefined and unused tokens render as nothing, as in llama.cpp
  }

  /** The bytes of a normal token's text. */
  abstract void normalPiece(String text, ByteArrayOutputStream out);

  int byteOf(int token) {
    String text = vocab.text(token);
    if (text.length() != 6 || !text.startsWith("<0x") || !text.endsWith(">")) {
      throw new IllegalStateException("byte token " + token + " is '" + text + "', not of the form <0xXX>");
    }
    return Integer.parseInt(text.substring(3, 5), 16);
  }

  @Override
  public String decode(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
    return new String(decodeBytes(tokens, removeSpecial, unparseSpecial), StandardCharsets.UTF_8);
  }

  /** llama.cpp's {@code detokenize}, as bytes. */
  byte[] decodeBytes(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
    int from = 0;
    int to = tokens.length;
    boolean removeSpace = vocab.addSpacePrefix();
    if (removeSpecial && vocab.addBos() && to > 0 && tokens[0] == vocab.bos()) {
      removeSpace = false;
      from++;
    }
    if (removeSpecial && vocab.addEos() && to > from && tokens[to - 1] == vocab.eos()) {
      to--;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream piece = new ByteArrayOutputStream();
    for (int i = from; i < to; i++) {
      piece.reset();
      piece(tokens[i], unparseSpecial, piece);
      byte[] bytes = piece.toByteArray();
      int skip = removeSpace && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
      removeSpace = false;
      out.write(bytes, skip, bytes.length - skip);
    }
    byte[] text = out.toByteArray();
    return vocab.cleanSpaces() ? cleanSpaces(text) : text;
  }

  /** llama.cpp's three clean-up passes: " ?", " !", " .", " ," lose the space; " ' " and " 's", " 'm"... too. */
  static byte[] cleanSpaces(byte[] text) {
    int total = text.length;
    // first pass: space before ? ! . ,
    int total1 = total;
    total = total > 0 ? 1 : 0;
    for (int i = 1; i < total1; i++) {
      byte x = text[i];
      if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
        total--;
      }
      text[total++] = x;
    }
    // second pass: a single apostrophe between spaces
    int total2 = total;
    total = total > 0 ? 1 : 0;
    for (int i = 1; i < total2; i++) {
      byte x = text[i];
      if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
        total--;
        text[++i] = 0;
      }
      text[total++] = x;
    }
    // third pass: contractions
    int total3 = total;
    total = total > 0 ? 1 : 0;
    for (int i = 1; i < total3; i++) {
      byte x = text[i];
      if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
        byte x1 = text[i + 1];
        if (x1 == 't' || x1 == 'd') {
          // kept, as in llama.cpp
        } else if (x1 == 's' || x1 == 'm') {
          total--;
        } else if (i + 2 < total3) {
          byte x2 = text[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
            total--;
          }
        }
      }
      text[total++] = x;
    }
    return java.util.Arrays.copyOf(text, total);
  }

  private int checkToken(int token) {
    if (token < 0 || token >= vocab.size()) {
      throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + vocab.size()
          + " tokens");
    }
    return token;
  }

  /** A growable int array. */
  static final class IntList {
    private int[] values = new int[16];
    private int size;

    void add(int value) {
      if (size == values.length) {
        values = java.util.Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }

    int[] toArray() {
      return java.util.Arrays.copyOf(values, size);
    }
  }
}
