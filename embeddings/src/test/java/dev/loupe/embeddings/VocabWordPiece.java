package dev.loupe.embeddings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's uncased WordPiece written out from its definition, over a {@code vocab.txt} (the id of a
 * token is its line number, from 0): an independent oracle for the ids of plain ASCII text.
 * Lower-cases, splits on whitespace and around punctuation, then takes the longest vocabulary
 * prefix of each word, continuing with {@code ##} pieces; a word that cannot be split is [UNK].
 */
public final class VocabWordPiece {
  private final Map<String, Integer> ids = new HashMap<>();

  public VocabWordPiece(Path vocabTxt) throws IOException {
    List<String> lines = Files.readAllLines(vocabTxt);
    for (int i = 0; i < lines.size(); i++) {
      ids.putIfAbsent(lines.get(i), i);
    }
  }

  public int id(String token) {
    Integer id = ids.get(token);
    if (id == null) {
      throw new IllegalArgumentException("'" + token + "' is not in the vocabulary");
    }
    return id;
  }

  /** {@code [CLS] pieces… [SEP]} for ASCII text. */
  public long[] encode(String text) {
    for (char c : text.toCharArray()) {
      if (c > 127) {
        throw new IllegalArgumentException("this oracle handles ASCII only, not '" + c + "'");
      }
    }
    List<Long> out = new ArrayList<>();
    out.add((long) id("[CLS]"));
    for (String word : basicTokens(text.toLowerCase(java.util.Locale.ROOT))) {
      List<Long> pieces = new ArrayList<>();
      int start = 0;
      boolean unknown = false;
      while (start < word.length()) {
        int end = word.length();
        Integer found = null;
        while (end > start) {
          String piece = (start > 0 ? "##" : "") + word.substring(start, end);
          found = ids.get(piece);
          if (found != null) {
            break;
          }
          end--;
        }
        if (found == null) {
          unknown = true;
          break;
        }
        pieces.add((long) found);
        start = end;
      }
      if (unknown) {
        out.add((long) id("[UNK]"));
      } else {
        out.addAll(pieces);
      }
    }
    out.add((long) id("[SEP]"));
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  private static List<String> basicTokens(String text) {
    List<String> tokens = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    for (char c : text.toCharArray()) {
      if (Character.isWhitespace(c) || isPunctuation(c)) {
        if (!word.isEmpty()) {
          tokens.add(word.toString());
          word.setLength(0);
        }
        if (isPunctuation(c)) {
          tokens.add(String.valueOf(c));
        }
      } else {
        word.append(c);
      }
    }
    if (!word.isEmpty()) {
      tokens.add(word.toString());
    }
    return tokens;
  }

  private static boolean isPunctuation(char c) {
    // BERT counts every non-alphanumeric printable ASCII character as punctuation.
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  }
}
