package dev.loupe.indexer.chunk;

/** {@link TokenCounter#approximate()}. */
final class ApproximateTokenCounter implements TokenCounter {
  static final ApproximateTokenCounter INSTANCE = new ApproximateTokenCounter();
  /** Characters of a word per token; see {@link TokenCounter#approximate()}. */
  static final int CHARS_PER_TOKEN = 4;

  private ApproximateTokenCounter() {}

  @Override
  public int count(String text) {
    int tokens = 0, run = 0;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      boolean mark = isMark(cp);
      if (mark && run > 0) {
        continue; // an accent on a letter: "é" counts the same composed or not
      }
      if (Character.isLetterOrDigit(cp) && !isIdeographLike(cp)) {
        run++;
        continue;
      }
      tokens += (run + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
      run = 0;
      if (!Character.isWhitespace(cp) && !mark) {
        tokens++;
      }
    }
    return tokens + (run + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
  }

  private static boolean isMark(int cp) {
    int type = Character.getType(cp);
    return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK || type == Character.ENCLOSING_MARK;
  }

  /** Scripts written without spaces between words, one token a character in BERT-style tokenizers. */
  private static boolean isIdeographLike(int cp) {
    Character.UnicodeScript script = Character.UnicodeScript.of(cp);
    return script == Character.UnicodeScript.HAN || script == Character.UnicodeScript.HIRAGANA
        || script == Character.UnicodeScript.KATAKANA || script == Character.UnicodeScript.HANGUL;
  }
}
