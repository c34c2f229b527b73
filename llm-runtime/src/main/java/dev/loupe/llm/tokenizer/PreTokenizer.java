package dev.loupe.llm.tokenizer;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The word splitter a byte-level BPE vocabulary names in {@code tokenizer.ggml.pre}: the regex cascade llama.cpp
 * runs before the merges ({@code llm_tokenizer_bpe}, mid 2025). Each step splits every piece of the previous
 * step; text between matches stays a piece of its own. The GPT-2 and Llama 3 expressions run as hand-written
 * scanners, exactly as llama.cpp's {@code unicode_regex_split_custom_*} do; the others run as Java regular
 * expressions with Unicode classes, which agree with llama.cpp's category-collapsed {@code std::regex}.
 *
 * <p>Immutable and safe to share between threads.
 */
public enum PreTokenizer {
  /** llama.cpp's fallback cascade, for files without a pre-tokenizer name. */
  DEFAULT(List.of(Step.regex("[\\p{P}\\$\\+<=>\\^~\\|]+"), Step.GPT2, Step.regex("\\p{N}+"),
      Step.regex("[0-9][0-9][0-9]"))),
  /** GPT-2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)}. */
  GPT2(List.of(Step.GPT2)),
  /** Llama 3: case-insensitive contractions, numbers in groups of up to three, newline runs apart. */
  LLAMA3(List.of(Step.LLAMA3)),
  /** Qwen2 / Qwen2.5: as Llama 3 but every digit a piece of its own. */
  QWEN2(List.of(Step.regex("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
      + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"))),
  /** SmolLM / StarCoder: every digit apart, then GPT-2. */
  SMOLLM(List.of(Step.regex("\\p{N}"), Step.GPT2));

  private static final System.Logger LOG = System.getLogger(PreTokenizer.class.getName());

  /** Known {@code tokenizer.ggml.pre} names: which cascade, and whether decoding cleans spaces (llama.cpp's table). */
  private record Known(PreTokenizer kind, boolean cleanSpaces) {}

  private static final Map<String, Known> NAMES = new TreeMap<>(Map.ofEntries(
      Map.entry("default", new Known(DEFAULT, true)),
      Map.entry("gpt-2", new Known(GPT2, true)),
      Map.entry("gpt2", new Known(GPT2, true)),
      Map.entry("phi-2", new Known(GPT2, true)),
      Map.entry("mpt", new Known(GPT2, true)),
      Map.entry("olmo", new Known(GPT2, true)),
      Map.entry("jais", new Known(GPT2, true)),
      Map.entry("llama3", new Known(LLAMA3, true)),
      Map.entry("llama-v3", new Known(LLAMA3, true)),
      Map.entry("llama-bpe", new Known(LLAMA3, true)),
      Map.entry("falcon3", new Known(LLAMA3, true)),
      Map.entry("pixtral", new Known(LLAMA3, true)),
      Map.entry("dbrx", new Known(LLAMA3, true)),
      Map.entry("smaug-bpe", new Known(LLAMA3, true)),
      Map.entry("qwen2", new Known(QWEN2, false)),
      Map.entry("deepseek-r1-qwen", new Known(QWEN2, false)),
      Map.entry("stablelm2", new Known(QWEN2, true)),
      Map.entry("megrez", new Known(QWEN2, true)),
      Map.entry("smollm", new Known(SMOLLM, false)),
      Map.entry("starcoder", new Known(SMOLLM, true)),
      Map.entry("refact", new Known(SMOLLM, true)),
      Map.entry("command-r", new Known(SMOLLM, false)),
      Map.entry("codeshell", new Known(SMOLLM, true)),
      Map.entry("exaone", new Known(SMOLLM, true)),
      Map.entry("minerva-7b", new Known(SMOLLM, true))));

  private final List<Step> steps;

  PreTokenizer(List<Step> steps) {
    this.steps = steps;
  }

  /**
   * The pre-tokenizer a {@code tokenizer.ggml.pre} value names; {@code null} or empty gives {@link #DEFAULT}
   * with a warning, as llama.cpp does.
   *
   * @throws IllegalArgumentException for a name this engine does not know, listing the known ones
   */
  public static PreTokenizer forName(String name) {
    if (name == null || name.isEmpty()) {
      LOG.log(Level.WARNING, Vocabulary.KEY_PRE + " is missing; using the 'default' pre-tokenizer, which splits "
          + "words differently from the model's own (re-convert the model with a current llama.cpp to fix this)");
      return DEFAULT;
    }
    Known known = NAMES.get(name);
    if (known == null) {
      throw new IllegalArgumentException(Vocabulary.KEY_PRE + " '" + name + "' is not a known pre-tokenizer; known: "
          + String.join(", ", NAMES.keySet()));
    }
    return known.kind();
  }

  /** Whether llama.cpp cleans spaces before punctuation when decoding for this pre-tokenizer name. */
  static boolean cleansSpaces(String name) {
    Known known = name == null || name.isEmpty() ? null : NAMES.get(name);
    return known == null || known.cleanSpaces();
  }

  /** The words of {@code text}, in order; their concatenation is {@code text}. */
  public List<String> split(String text) {
    int[] cpts = text.codePoints().toArray();
    List<Integer> lengths = new ArrayList<>();
    lengths.add(cpts.length);
    for (Step step : steps) {
      lengths = step.split(text, cpts, lengths);
    }
    List<String> words = new ArrayList<>(lengths.size());
    int start = 0;
    for (int length : lengths) {
      if (length > 0) {
        words.add(new String(cpts, start, length));
      }
      start += length;
    }
    return words;
  }

  /** One splitting pass over pieces given as code point lengths. */
  private interface Step {
    List<Integer> split(String text, int[] cpts, List<Integer> pieces);

    Step GPT2 = (text, cpts, pieces) -> {
      List<Integer> out = new ArrayList<>();
      int start = 0;
      for (int piece : pieces) {
        new Scanner(cpts, start, start + piece, out).gpt2();
        start += piece;
      }
      return out;
    };

    Step LLAMA3 = (text, cpts, pieces) -> {
      List<Integer> out = new ArrayList<>();
      int start = 0;
      for (int piece : pieces) {
        new Scanner(cpts, start, start + piece, out).llama3();
        start += piece;
      }
      return out;
    };

    static Step regex(String expression) {
      Pattern pattern = Pattern.compile(expression, Pattern.UNICODE_CHARACTER_CLASS);
      return (text, cpts, pieces) -> {
        List<Integer> out = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int cpStart = 0;
        int charStart = 0;
        for (int piece : pieces) {
          int charEnd = charStart;
          for (int i = cpStart; i < cpStart + piece; i++) {
            charEnd += Character.charCount(cpts[i]);
          }
          // Opaque bounds: a lookahead cannot see past the piece, as with llama.cpp's per-piece iterator.
          m.region(charStart, charEnd);
          int previous = charStart;
          while (m.find()) {
            if (m.start() > previous) {
              out.add(text.codePointCount(previous, m.start()));
            }
            out.add(text.codePointCount(m.start(), m.end()));
            previous = m.end();
          }
          if (previous < charEnd) {
            out.add(text.codePointCount(previous, charEnd));
          }
          cpStart += piece;
          charStart = charEnd;
        }
        return out;
      };
    }
  }

  /** The hand-written scanners, one piece at a time; positions are code point indexes. */
  private static final class Scanner {
    private static final int OUT_OF_RANGE = -1;
    private final int[] cpts;
    private final int ini;
    private final int end;
    private final List<Integer> out;
    private int prevEnd;

    Scanner(int[] cpts, int ini, int end, List<Integer> out) {
      this.cpts = cpts;
      this.ini = ini;
      this.end = end;
      this.out = out;
      this.prevEnd = ini;
    }

    private int cpt(int pos) {
      return pos >= ini && pos < end ? cpts[pos] : OUT_OF_RANGE;
    }

    private boolean letter(int pos) {
      int c = cpt(pos);
      return c != OUT_OF_RANGE && Character.isLetter(c);
    }

    private boolean number(int pos) {
      int c = cpt(pos);
      return c != OUT_OF_RANGE && Unicode.isNumber(c);
    }

    private boolean space(int pos) {
      int c = cpt(pos);
      return c != OUT_OF_RANGE && Unicode.isWhitespace(c);
    }

    /** Has any category at all (llama.cpp's {@code flags.as_uint() != 0}). */
    private boolean defined(int pos) {
      int c = cpt(pos);
      return c != OUT_OF_RANGE && (Character.getType(c) != Character.UNASSIGNED || Unicode.isWhitespace(c));
    }

    /** Not whitespace, letter or number, but some category: {@code [^\s\p{L}\p{N}]}. */
    private boolean other(int pos) {
      return !(space(pos) || letter(pos) || number(pos)) && defined(pos);
    }

    private int add(int to) {
      int length = to - prevEnd;
      if (length > 0) {
        out.add(length);
      }
      prevEnd = to;
      return to;
    }

    void gpt2() {
      int pos = ini;
      while (pos < end) {
        int cpt = cpt(pos);
        if (cpt == '\'' && pos + 1 < end) {
          int next = cpt(pos + 1);
          if (next == 's' || next == 't' || next == 'm' || next == 'd') {
            pos = add(pos + 2);
            continue;
          }
          if (pos + 2 < end) {
            int nextNext = cpt(pos + 2);
            if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
              pos = add(pos + 3);
              continue;
            }
          }
        }
        int look = cpt == ' ' ? pos + 1 : pos;
        if (letter(look)) { // <space>?\p{L}+
          pos = look;
          while (letter(pos)) {
            pos++;
          }
          add(pos);
          continue;
        }
        if (number(look)) { // <space>?\p{N}+
          pos = look;
          while (number(pos)) {
            pos++;
          }
          add(pos);
          continue;
        }
        if (other(look)) { // <space>?[^\s\p{L}\p{N}]+
          pos = look;
          while (other(pos)) {
            pos++;
          }
          add(pos);
          continue;
        }
        int spaces = 0;
        while (space(pos + spaces)) {
          spaces++;
        }
        if (spaces > 1 && cpt(pos + spaces) != OUT_OF_RANGE) { // \s+(?!\S)
          pos = add(pos + spaces - 1);
          continue;
        }
        if (spaces > 0) { // \s+
          pos = add(pos + spaces);
          continue;
        }
        pos = add(pos + 1);
      }
    }

    void llama3() {
      int pos = ini;
      while (pos < end) {
        int cpt = cpt(pos);
        if (cpt == '\'' && pos + 1 < end) { // (?i:'s|'t|'re|'ve|'m|'ll|'d)
          int next = Unicode.toLower(cpt(pos + 1));
          if (next == 's' || next == 't' || next == 'm' || next == 'd') {
            pos = add(pos + 2);
            continue;
          }
          if (pos + 2 < end) {
            int nextNext = Unicode.toLower(cpt(pos + 2));
            if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
              pos = add(pos + 3);
              continue;
            }
          }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (!(cpt == '\r' || cpt == '\n' || number(pos))) {
          if (letter(pos) || letter(pos + 1)) {
            pos++;
            while (letter(pos)) {
              pos++;
            }
            add(pos);
            continue;
          }
        }
        if (number(pos)) { // \p{N}{1,3}
          int first = pos;
          while (number(pos)) {
            if (++pos - first >= 3) {
              add(pos);
              first = pos;
            }
          }
          add(pos);
          continue;
        }
        // <space>?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests the first code point's category, not the looked-at one)
        int look = cpt == ' ' ? pos + 1 : pos;
        if (!(space(look) || letter(look) || number(look)) && defined(pos)) {
          pos = look;
          while (other(pos)) {
            pos++;
          }
          int c = cpt(pos);
          while (c == '\r' || c == '\n') {
            c = cpt(++pos);
          }
          add(pos);
          continue;
        }
        int spaces = 0;
        int lastNewlineEnd = 0;
        while (space(pos + spaces)) {
          int c = cpt(pos + spaces);
          if (c == '\r' || c == '\n') {
            lastNewlineEnd = pos + spaces + 1;
          }
          spaces++;
        }
        if (lastNewlineEnd > 0) { // \s*[\r\n]+
          pos = add(lastNewlineEnd);
          continue;
        }
        if (spaces > 1 && cpt(pos + spaces) != OUT_OF_RANGE) { // \s+(?!\S)
          pos = add(pos + spaces - 1);
          continue;
        }
        if (spaces > 0) { // \s+
          pos = add(pos + spaces);
          continue;
        }
        pos = add(pos + 1);
      }
    }
  }
}
