package dev.loupe.llm.tokenizer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A model's vocabulary as its GGUF metadata describes it: the token texts, scores and types, the BPE merges,
 * the special token ids and the flags that steer tokenization. Built by {@link #fromMetadata(Map)} with the
 * defaults and the end-of-generation detection of llama.cpp's {@code llama_vocab::load} (mid 2025).
 *
 * <p>Immutable and safe to share between threads.
 */
public final class Vocabulary {
  /** The tokenizer family ({@code tokenizer.ggml.model}). */
  public enum Model {
    /** SentencePiece-style BPE over scores with byte fallback: GGUF's {@code "llama"}. */
    SENTENCEPIECE("llama"),
    /** GPT-2 byte-level BPE over merge ranks: GGUF's {@code "gpt2"}. */
    BYTE_PAIR("gpt2");

    private final String ggufName;

    Model(String ggufName) {
      this.ggufName = ggufName;
    }

    /** The value of {@code tokenizer.ggml.model} that selects this family. */
    public String ggufName() {
      return ggufName;
    }
  }

  public static final String KEY_MODEL = "tokenizer.ggml.model";
  public static final String KEY_PRE = "tokenizer.ggml.pre";
  public static final String KEY_TOKENS = "tokenizer.ggml.tokens";
  public static final String KEY_SCORES = "tokenizer.ggml.scores";
  public static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
  public static final String KEY_MERGES = "tokenizer.ggml.merges";
  public static final String KEY_BOS = "tokenizer.ggml.bos_token_id";
  public static final String KEY_EOS = "tokenizer.ggml.eos_token_id";
  public static final String KEY_EOT = "tokenizer.ggml.eot_token_id";
  public static final String KEY_EOM = "tokenizer.ggml.eom_token_id";
  public static final String KEY_UNK = "tokenizer.ggml.unknown_token_id";
  public static final String KEY_PAD = "tokenizer.ggml.padding_token_id";
  public static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
  public static final String KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";
  public static final String KEY_ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
  public static final String KEY_CHAT_TEMPLATE = "tokenizer.chat_template";

  /** No such token. */
  public static final int NONE = -1;

  // Token attribute bits, as llama.cpp's llama_token_attr.
  static final int ATTR_UNKNOWN = 1;
  static final int ATTR_UNUSED = 1 << 1;
  static final int ATTR_NORMAL = 1 << 2;
  static final int ATTR_CONTROL = 1 << 3;
  static final int ATTR_USER_DEFINED = 1 << 4;
  static final int ATTR_BYTE = 1 << 5;

  /** Token texts llama.cpp takes for end of turn when no eot id is given (its list, mid 2025). */
  private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
      "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
  /** Token texts llama.cpp treats as end of generation wherever they are in the vocabulary (mid 2025). */
  private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
      "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<|return|>",
      "<|call|>");

  private final Model model;
  private final PreTokenizer preTokenizer;
  private final String[] tokens;
  private final float[] scores;
  private final int[] attrs;
  private final Map<String, Integer> ids;
  private final Map<String, Integer> mergeRanks;
  private final int bos;
  private final int eos;
  private final int eot;
  private final int eom;
  private final int unk;
  private final int pad;
  private final boolean addBos;
  private final boolean addEos;
  private final boolean addSpacePrefix;
  private final boolean ignoreMerges;
  private final boolean cleanSpaces;
  private final BitSet endOfGeneration;
  private final int[] specialTokens;
  private final String chatTemplate;

  private Vocabulary(Builder b) {
    this.model = b.model;
    this.preTokenizer = b.pre;
    this.tokens = b.tokens;
    this.scores = b.scores;
    this.attrs = b.attrs;
    this.ids = b.ids;
    this.mergeRanks = b.mergeRanks;
    this.bos = b.bos;
    this.eos = b.eos;
    this.eot = b.eot;
    this.eom = b.eom;
    this.unk = b.unk;
    this.pad = b.pad;
    this.addBos = b.addBos;
    this.addEos = b.addEos;
    this.addSpacePrefix = b.addSpacePrefix;
    this.ignoreMerges = b.ignoreMerges;
    this.cleanSpaces = b.cleanSpaces;
    this.endOfGeneration = b.eog;
    this.specialTokens = b.special;
    this.chatTemplate = b.chatTemplate;
  }

  /**
   * The vocabulary the GGUF metadata describes (keys and Java value types as {@code GgufFile} exposes them).
   *
   * @throws IllegalArgumentException naming the key when a required key is missing, has the wrong type or
   *     disagrees with the others
   */
  public static Vocabulary fromMetadata(Map<String, Object> metadata) {
    Builder b = new Builder();
    String modelName = string(metadata, KEY_MODEL);
    if (modelName == null) {
      throw new IllegalArgumentException(KEY_MODEL + " is missing: the GGUF file carries no tokenizer");
    }
    b.model = switch (modelName) {
      case "llama" -> Model.SENTENCEPIECE;
      case "gpt2" -> Model.BYTE_PAIR;
      default -> throw new IllegalArgumentException(KEY_MODEL + " '" + modelName
          + "' is not supported; supported tokenizer models: llama (SentencePiece), gpt2 (byte-level BPE)");
    };

    Object tokenList = metadata.get(KEY_TOKENS);
    if (tokenList == null) {
      throw new IllegalArgumentException(KEY_TOKENS + " is missing: the GGUF file carries no vocabulary");
    }
    if (!(tokenList instanceof String[] texts)) {
      throw new IllegalArgumentException(KEY_TOKENS + " must be an array of strings, not " + typeName(tokenList));
    }
    if (texts.length == 0) {
      throw new IllegalArgumentException(KEY_TOKENS + " is empty");
    }
    int n = texts.length;
    b.tokens = new String[n];
    b.ids = HashMap.newHashMap(n);
    for (int i = 0; i < n; i++) {
      String word = texts[i];
      if (word == null || word.isEmpty()) {
        word = "[EMPTY_" + i + "]"; // llama.cpp's name for an empty entry
      }
      Integer previous = b.ids.putIfAbsent(word, i);
      if (previous != null) {
        throw new IllegalArgumentException(KEY_TOKENS + " has the token '" + word + "' twice, at ids " + previous
            + " and " + i);
      }
      b.tokens[i] = word;
    }

    b.scores = new float[n];
    Object scores = metadata.get(KEY_SCORES);
    if (scores instanceof float[] f) {
      requireLength(KEY_SCORES, f.length, n);
      System.arraycopy(f, 0, b.scores, 0, n);
    } else if (scores instanceof int[] ints) {
      requireLength(KEY_SCORES, ints.length, n);
      for (int i = 0; i < n; i++) {
        b.scores[i] = ints[i];
      }
    } else if (scores != null) {
      throw new IllegalArgumentException(KEY_SCORES + " must be an array of float32 or int32, not " + typeName(scores));
    }

    b.attrs = new int[n];
    Object types = metadata.get(KEY_TOKEN_TYPE);
    if (types instanceof int[] t) {
      requireLength(KEY_TOKEN_TYPE, t.length, n);
      for (int i = 0; i < n; i++) {
        b.attrs[i] = switch (TokenType.of(t[i])) {
          case UNDEFINED -> 0;
          case NORMAL -> ATTR_NORMAL;
          case UNKNOWN -> ATTR_UNKNOWN;
          case CONTROL -> ATTR_CONTROL;
          case USER_DEFINED -> ATTR_USER_DEFINED;
          case UNUSED -> ATTR_UNUSED;
          case BYTE -> ATTR_BYTE;
        };
      }
    } else if (types != null) {
      throw new IllegalArgumentException(KEY_TOKEN_TYPE + " must be an array of int32, not " + typeName(types));
    } else {
      java.util.Arrays.fill(b.attrs, ATTR_NORMAL);
    }

    int defaultBos;
    int defaultEos;
    int defaultUnk;
    if (b.model == Model.SENTENCEPIECE) {
      defaultBos = 1;
      defaultEos = 2;
      defaultUnk = 0;
      b.addSpacePrefix = true;
      b.addBos = true;
      b.addEos = false;
      b.cleanSpaces = false;
      b.mergeRanks = Map.of();
    } else {
      defaultBos = 11;
      defaultEos = 11;
      defaultUnk = NONE;
      b.addSpacePrefix = false;
      b.addBos = false;
      b.addEos = false;
      b.mergeRanks = merges(metadata);
      String preName = string(metadata, KEY_PRE);
      b.pre = PreTokenizer.forName(preName);
      b.cleanSpaces = PreTokenizer.cleansSpaces(preName);
      if (b.pre == PreTokenizer.LLAMA3) {
        b.ignoreMerges = true;
        b.addBos = true;
      }
    }
    Boolean spacePrefix = bool(metadata, KEY_ADD_SPACE_PREFIX);
    if (spacePrefix != null) {
      b.addSpacePrefix = spacePrefix;
    }

    b.bos = specialId(metadata, KEY_BOS, defaultBos, n);
    b.eos = specialId(metadata, KEY_EOS, defaultEos, n);
    b.eot = specialId(metadata, KEY_EOT, NONE, n);
    b.eom = specialId(metadata, KEY_EOM, NONE, n);
    b.unk = specialId(metadata, KEY_UNK, defaultUnk, n);
    b.pad = specialId(metadata, KEY_PAD, NONE, n);

    Boolean addBos = bool(metadata, KEY_ADD_BOS);
    if (addBos != null) {
      b.addBos = addBos;
    }
    Boolean addEos = bool(metadata, KEY_ADD_EOS);
    if (addEos != null) {
      b.addEos = addEos;
    }
    if (b.addBos && b.bos == NONE) {
      throw new IllegalArgumentException(KEY_ADD_BOS + " is true, but " + KEY_BOS + " is not set");
    }
    if (b.addEos && b.eos == NONE) {
      throw new IllegalArgumentException(KEY_ADD_EOS + " is true, but " + KEY_EOS + " is not set");
    }

    // llama.cpp finds the end-of-turn token by its text when the file names none, and marks every
    // end-of-generation looking token as a control token (so it is split out of text when parsing specials).
    // It walks an unordered map; we walk the ids in order, which picks the lowest id where several match.
    if (b.eot == NONE) {
      for (int i = 0; i < n && b.eot == NONE; i++) {
        if (EOT_TEXTS.contains(b.tokens[i])) {
          b.eot = i;
          b.attrs[i] |= ATTR_CONTROL;
        }
      }
    }
    if (b.eom == NONE) {
      Integer eom = b.ids.get("<|eom_id|>");
      if (eom != null) {
        b.eom = eom;
        b.attrs[eom] |= ATTR_CONTROL;
      }
    }
    b.eog = new BitSet(n);
    for (int i = 0; i < n; i++) {
      if (EOG_TEXTS.contains(b.tokens[i])) {
        b.eog.set(i);
        b.attrs[i] |= ATTR_CONTROL;
      }
    }
    for (int id : new int[] {b.eos, b.eot, b.eom}) {
      if (id != NONE) {
        b.eog.set(id);
      }
    }

    List<Integer> special = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if ((b.attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
        special.add(i);
      }
    }
    // Longest first, so a special token that contains another is matched whole.
    String[] t = b.tokens;
    special.sort(Comparator.comparingInt((Integer i) -> t[i].length()).reversed());
    b.special = special.stream().mapToInt(Integer::intValue).toArray();

    Object template = metadata.get(KEY_CHAT_TEMPLATE);
    if (template != null && !(template instanceof String)) {
      throw new IllegalArgumentException(KEY_CHAT_TEMPLATE + " must be a string, not " + typeName(template));
    }
    b.chatTemplate = (String) template;
    return new Vocabulary(b);
  }

  private static Map<String, Integer> merges(Map<String, Object> metadata) {
    Object merges = metadata.get(KEY_MERGES);
    if (merges == null) {
      throw new IllegalArgumentException(KEY_MERGES + " is missing: a gpt2 tokenizer needs its BPE merges");
    }
    if (!(merges instanceof String[] list)) {
      throw new IllegalArgumentException(KEY_MERGES + " must be an array of strings, not " + typeName(merges));
    }
    Map<String, Integer> ranks = HashMap.newHashMap(list.length);
    for (int i = 0; i < list.length; i++) {
      String word = list[i];
      int space = word.indexOf(' ', 1);
      // As llama.cpp: a merge without a separating space is kept as the pair ("", "").
      String key = space < 0 ? " " : word.substring(0, space) + " " + word.substring(space + 1);
      ranks.putIfAbsent(key, i);
    }
    return Map.copyOf(ranks);
  }

  private static int specialId(Map<String, Object> metadata, String key, int fallback, int n) {
    Object value = metadata.get(key);
    if (value == null) {
      return fallback >= 0 && fallback < n ? fallback : NONE;
    }
    if (!(value instanceof Number number) || value instanceof Float || value instanceof Double) {
      throw new IllegalArgumentException(key + " must be an integer, not " + typeName(value));
    }
    long id = number.longValue();
    if (value instanceof Integer i) {
      id = Integer.toUnsignedLong(i); // GGUF stores token ids as uint32
    }
    if (id < 0 || id >= n) {
      throw new IllegalArgumentException(key + " " + id + " is outside the vocabulary of " + n + " tokens");
    }
    return (int) id;
  }

  private static void requireLength(String key, int length, int n) {
    if (length < n) {
      throw new IllegalArgumentException(key + " has " + length + " entries but " + KEY_TOKENS + " has " + n);
    }
  }

  private static String string(Map<String, Object> metadata, String key) {
    Object value = metadata.get(key);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String s)) {
      throw new IllegalArgumentException(key + " must be a string, not " + typeName(value));
    }
    return s;
  }

  private static Boolean bool(Map<String, Object> metadata, String key) {
    Object value = metadata.get(key);
    if (value == null) {
      return null;
    }
    if (!(value instanceof Boolean flag)) {
      throw new IllegalArgumentException(key + " must be a boolean, not " + typeName(value));
    }
    return flag;
  }

  private static String typeName(Object value) {
    return value.getClass().getSimpleName();
  }

  /** The tokenizer family. */
  public Model model() {
    return model;
  }

  /** The pre-tokenizer of a byte-level BPE vocabulary; {@code null} for SentencePiece. */
  public PreTokenizer preTokenizer() {
    return preTokenizer;
  }

  /** Number of tokens. */
  public int size() {
    return tokens.length;
  }

  /** The text of token {@code id} as the vocabulary stores it (with '▁' or GPT-2 byte characters). */
  public String text(int id) {
    return tokens[checkId(id)];
  }

  /** The score of token {@code id} (0 where the file has no scores). */
  public float score(int id) {
    return scores[checkId(id)];
  }

  /** The type of token {@code id}, after llama.cpp's promotion of end-of-generation tokens to control. */
  public TokenType type(int id) {
    int a = attrs[checkId(id)];
    if ((a & ATTR_BYTE) != 0) {
      return TokenType.BYTE;
    }
    if ((a & ATTR_UNUSED) != 0) {
      return TokenType.UNUSED;
    }
    if ((a & ATTR_CONTROL) != 0) {
      return TokenType.CONTROL;
    }
    if ((a & ATTR_USER_DEFINED) != 0) {
      return TokenType.USER_DEFINED;
    }
    if ((a & ATTR_UNKNOWN) != 0) {
      return TokenType.UNKNOWN;
    }
    if ((a & ATTR_NORMAL) != 0) {
      return TokenType.NORMAL;
    }
    return TokenType.UNDEFINED;
  }

  /** The id of the token whose stored text is {@code text}, or {@link #NONE}. */
  public int id(String text) {
    Integer id = ids.get(text);
    return id == null ? NONE : id;
  }

  public int bos() {
    return bos;
  }

  public int eos() {
    return eos;
  }

  /** The end-of-turn token (given, or found by its text), or {@link #NONE}. */
  public int eot() {
    return eot;
  }

  public int unk() {
    return unk;
  }

  public int pad() {
    return pad;
  }

  /** Whether encoding with special tokens starts with BOS ({@code add_bos_token} or the family default). */
  public boolean addBos() {
    return addBos;
  }

  /** Whether encoding with special tokens ends with EOS. */
  public boolean addEos() {
    return addEos;
  }

  /** Whether SentencePiece puts a space before text at the start or after a special token. */
  public boolean addSpacePrefix() {
    return addSpacePrefix;
  }

  /** Whether token {@code id} ends generation: eos, eot, eom and the end-of-turn tokens llama.cpp knows. */
  public boolean isEndOfGeneration(int id) {
    return id >= 0 && endOfGeneration.get(id);
  }

  /** The model's own Jinja chat template, if the file carries one. */
  public Optional<String> chatTemplate() {
    return Optional.ofNullable(chatTemplate);
  }

  int attrs(int id) {
    return attrs[id];
  }

  boolean ignoreMerges() {
    return ignoreMerges;
  }

  boolean cleanSpaces() {
    return cleanSpaces;
  }

  /** The merge rank of the pair, or -1. */
  int mergeRank(String left, String right) {
    Integer rank = mergeRanks.get(left + " " + right);
    return rank == null ? -1 : rank;
  }

  /** Control, user-defined and unknown tokens, longest text first. */
  int[] specialTokens() {
    return specialTokens;
  }

  private int checkId(int id) {
    if (id < 0 || id >= tokens.length) {
      throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + tokens.length + " tokens");
    }
    return id;
  }

  private static final class Builder {
    Model model;
    PreTokenizer pre;
    String[] tokens;
    float[] scores;
    int[] attrs;
    Map<String, Integer> ids;
    Map<String, Integer> mergeRanks;
    int bos;
    int eos;
    int eot;
    int eom;
    int unk;
    int pad;
    boolean addBos;
    boolean addEos;
    boolean addSpacePrefix;
    boolean ignoreMerges;
    boolean cleanSpaces;
    BitSet eog;
    int[] special;
    String chatTemplate;
  }
}
