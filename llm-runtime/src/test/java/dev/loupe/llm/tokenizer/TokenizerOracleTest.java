package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.TestData;
import dev.loupe.llm.convert.Llama2cConverter;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufWriter;
import dev.loupe.llm.peer.LlamaCppOracle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loupe's tokenizer against llama.cpp's ({@code llama_tokenize}, {@code llama_token_to_piece},
 * {@code llama_detokenize}) on the same GGUF vocabulary, for both kinds: SentencePiece (the real
 * stories260K and Llama 2 vocabularies) and byte-level BPE (a vocabulary trained here with seeded
 * merges, under each pre-tokenizer both sides know). Every text of a multilingual set (scripts,
 * emoji with joiners and skin tones, whitespace runs, digit runs, punctuation, special-token text)
 * and of a seeded random set must give identical ids with BOS on and off and special-token parsing
 * on and off; every token must render to the same bytes and every tokenization must detokenize to
 * the same text. Runs in its own forked JVM.
 */
class TokenizerOracleTest {
  /** Texts the fixed samples lack: ZWJ sequences, digit runs, special-token text, mixed whitespace. */
  static final List<String> EXTRA = List.of(
      "",
      "👨‍👩‍👧‍👦 family, 👩🏿‍💻 coder, 🏳️‍🌈 flag, ❤️‍🔥 heart, 👋🏻👋🏼👋🏽👋🏾👋🏿",
      "digits 0 12 345 6789 01234 567890 12345678901234567890",
      "<s>Hello</s> <unk> <s> </s>",
      "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|><|endoftext|>",
      "<|im_start|> spaced <|im_end|>  <|endoftext|>\n<|tool|>call<|tool|>",
      "I'LL be there, you'VE seen it, she'S gone, they'RE here, don't, can't, won't",
      "  \t \n \r\n\r\n\n\n    \t\t\tindented\n        deeper",
      "Ünïcödé ÀÉÎÕÜ ßẞ ǅ ﬁﬂ Å (A\u030A) Ω (Ω)",
      "!!!??? ... --- *** ((())) [[[]]] {{{}}} <<<>>> \"quoted\" 'single' «guillemets» „deutsch“",
      "mixed日本語English中文123한국어!");

  @TempDir static Path dir;

  @Test
  void stories260k_sentencepiece_vocabulary_tokenizes_as_llama_cpp_does() throws IOException {
    Path gguf = dir.resolve("stories260K.gguf");
    Llama2cConverter.convert(TestData.stories260K(), TestData.tok512(), gguf);
    compare(gguf, "stories260K (SentencePiece, 512 tokens)");
  }

  @Test
  void llama2_sentencepiece_vocabulary_tokenizes_as_llama_cpp_does() throws IOException {
    Path gguf = dir.resolve("llama2-vocab.gguf");
    writeVocabulary(Llama2cVocabulary.metadata(), gguf);
    compare(gguf, "Llama 2 (SentencePiece with byte fallback, 32000 tokens)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama-bpe", "qwen2", "smollm", "gpt-2", "default"})
  void trained_byte_level_bpe_vocabulary_tokenizes_as_llama_cpp_does(String pre) throws IOException {
    Path gguf = dir.resolve("bpe-" + pre + ".gguf");
    writeVocabulary(BpeTrainer.vocabulary(pre, 3000, 20250601L), gguf);
    compare(gguf, "trained byte-level BPE, pre-tokenizer " + pre);
  }

  /** Every sample text and mode, every token's piece, every detokenization; all mismatches are listed. */
  static void compare(Path gguf, String what) throws IOException {
    Tokenizer loupe;
    try (GgufFile file = GgufFile.open(gguf)) {
      loupe = Tokenizer.fromMetadata(file.metadata());
    }
    List<String> failures = new ArrayList<>();
    int checks = 0;
    long textBytes = 0, textTokens = 0;
    try (LlamaCppOracle cpp = LlamaCppOracle.loadVocabulary(gguf)) {
      for (int id = 0; id < cpp.vocabSize(); id++) {
        for (boolean special : new boolean[] {false, true}) {
          byte[] expected = cpp.piece(id, special);
          byte[] actual = loupe.tokenBytes(id, special);
          checks++;
          if (!Arrays.equals(expected, actual)) {
            failures.add("piece of token " + id + " (special " + special + "): llama.cpp " + Arrays.toString(expected)
                + ", Loupe " + Arrays.toString(actual));
          }
        }
      }
      for (String text : texts()) {
        for (boolean addSpecial : new boolean[] {false, true}) {
          for (boolean parseSpecial : new boolean[] {false, true}) {
            int[] expected = cpp.tokenize(text, addSpecial, parseSpecial);
            int[] actual = loupe.encode(text, addSpecial, parseSpecial);
            checks++;
            textBytes += text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            textTokens += expected.length;
            if (!Arrays.equals(expected, actual)) {
              failures.add("tokenize(\"" + escape(text) + "\", addSpecial " + addSpecial + ", parseSpecial " + parseSpecial
                  + "): llama.cpp " + Arrays.toString(expected) + ", Loupe " + Arrays.toString(actual));
            }
            for (boolean removeSpecial : new boolean[] {false, true}) {
              for (boolean unparseSpecial : new boolean[] {false, true}) {
                String expectedText = cpp.detokenize(expected, removeSpecial, unparseSpecial);
                String actualText = loupe.decode(expected, removeSpecial, unparseSpecial);
                checks++;
                if (!expectedText.equals(actualText)) {
                  failures.add("detokenize(" + Arrays.toString(expected) + ", removeSpecial " + removeSpecial + ", unparseSpecial "
                      + unparseSpecial + "): llama.cpp \"" + escape(expectedText) + "\", Loupe \"" + escape(actualText) + "\"");
                }
              }
            }
          }
        }
      }
    }
    System.out.printf("%s: %d comparisons (%.2f bytes per token), %d differ%n", what, checks, (double) textBytes / textTokens,
        failures.size());
    failures.stream().limit(40).forEach(f -> System.out.println("  " + f));
    int checked = checks;
    assertTrue(failures.isEmpty(), () -> what + ": " + failures.size() + " of " + checked
        + " comparisons differ from llama.cpp; first: " + failures.getFirst());
  }

  /** The fixed samples, the extra cases and 60 seeded random strings. */
  static List<String> texts() {
    List<String> all = new ArrayList<>(TextSamples.MULTILINGUAL);
    all.addAll(EXTRA);
    Random r = new Random(6);
    for (int i = 0; i < 60; i++) {
      all.add(RandomText.next(r, 8 + r.nextInt(30)));
    }
    return all;
  }

  static String escape(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints().forEach(cp -> {
      if (cp == '\n') b.append("\\n");
      else if (cp == '\r') b.append("\\r");
      else if (cp == '\t') b.append("\\t");
      else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) b.append(String.format("\\u%04X", cp));
      else b.appendCodePoint(cp);
    });
    return b.toString();
  }

  /**
   * Writes a GGUF holding only a vocabulary (the metadata map's keys) and the llama architecture
   * keys llama.cpp's loader requires; no tensors.
   */
  static void writeVocabulary(Map<String, Object> metadata, Path out) throws IOException {
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", "llama")
        .putUInt32("llama.context_length", 2048)
        .putUInt32("llama.embedding_length", 64)
        .putUInt32("llama.block_count", 1)
        .putUInt32("llama.feed_forward_length", 128)
        .putUInt32("llama.attention.head_count", 4)
        .putUInt32("llama.attention.head_count_kv", 4)
        .putUInt32("llama.rope.dimension_count", 16)
        .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    for (Map.Entry<String, Object> e : new TreeMap<>(metadata).entrySet()) {
      String k = e.getKey();
      switch (e.getValue()) {
        case String s -> w.putString(k, s);
        case String[] a -> w.putStrings(k, a);
        case float[] a -> w.putFloats(k, a);
        case int[] a -> w.putInt32s(k, a);
        case Boolean b -> w.putBoolean(k, b);
        case Integer i -> w.putUInt32(k, i);
        case Long l -> w.putUInt32(k, Math.toIntExact(l));
        default -> throw new IllegalArgumentException("metadata " + k + " has a value of " + e.getValue().getClass());
      }
    }
    w.write(out);
  }

  /** Seeded random text drawn from many scripts, emoji sequences, digits, punctuation and whitespace runs. */
  static final class RandomText {
    private RandomText() {}

    private static final String[] WORDS = {"the", "The", "hello", "world", "token", "llama", "Qwen", "naïve", "café",
        "über", "日本", "中文", "한국어", "русский", "ελληνικά", "عربي", "हिन्दी", "ไทย", "'s", "'ll", "n't", "<s>", "</s>",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|tool|>", "http://example.com/a?b=c&d=e", "x86_64", "C++",
        "e-mail", "3.14", "1,000", "2025-06-01", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🦙"};
    private static final int[][] RANGES = {{0x41, 0x5A}, {0x61, 0x7A}, {0xC0, 0xFF}, {0x391, 0x3C9}, {0x410, 0x44F},
        {0x627, 0x64A}, {0x905, 0x939}, {0x93E, 0x94D}, {0x3041, 0x3096}, {0x4E00, 0x4FFF}, {0xAC00, 0xAD00},
        {0x1F600, 0x1F64F}, {0x1F3FB, 0x1F3FF}, {0x200D, 0x200D}, {0xFE0F, 0xFE0F}, {0x21, 0x2F}, {0x3A, 0x40},
        {0x2010, 0x2027}, {0x660, 0x669}};
    private static final String[] SPACES = {" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\t\t", "\u00A0", "\u3000",
        "      "};

    static String next(Random r, int units) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < units; i++) {
        switch (r.nextInt(6)) {
          case 0, 1 -> b.append(WORDS[r.nextInt(WORDS.length)]);
          case 2 -> {
            int[] range = RANGES[r.nextInt(RANGES.length)];
            int n = 1 + r.nextInt(4);
            for (int j = 0; j < n; j++) b.appendCodePoint(range[0] + r.nextInt(range[1] - range[0] + 1));
          }
          case 3 -> {
            int n = 1 + r.nextInt(12);
            for (int j = 0; j < n; j++) b.append((char) ('0' + r.nextInt(10)));
          }
          default -> b.append(SPACES[r.nextInt(SPACES.length)]);
        }
      }
      return b.toString();
    }
  }

  /**
   * A seeded byte-level BPE trainer: words split by the pre-tokenizer, mapped to GPT-2's byte
   * characters, then the most frequent adjacent pair merged (ties to the smaller pair) until the
   * number of merges is reached or no pair occurs twice.
   */
  static final class BpeTrainer {
    private BpeTrainer() {}

    static final List<String> CONTROL = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    static final String USER_DEFINED = "<|tool|>";

    private static List<String> trained;

    /** Merges trained once (words split as Llama 3 splits them) and shared by every pre-tokenizer's vocabulary. */
    static synchronized List<String> merges(int merges, long seed) {
      if (trained == null) {
        List<String> corpus = new ArrayList<>(texts());
        Random r = new Random(seed);
        for (int i = 0; i < 300; i++) {
          corpus.add(RandomText.next(r, 20 + r.nextInt(40)));
        }
        trained = train(corpus, PreTokenizer.LLAMA3, merges);
      }
      return trained;
    }

    /**
     * GGUF tokenizer metadata naming pre-tokenizer {@code pre}: the 256 byte characters, the merged
     * tokens, three control and one user-defined token; BOS added.
     */
    static Map<String, Object> vocabulary(String pre, int merges, long seed) {
      List<String> mergeList = merges(merges, seed);
      List<String> tokens = new ArrayList<>();
      List<Integer> types = new ArrayList<>();
      Map<String, Integer> ids = new HashMap<>();
      for (int b = 0; b < 256; b++) {
        add(tokens, types, ids, BytePairTokenizerTest.byteChar(b), TokenType.NORMAL.id());
      }
      for (String m : mergeList) {
        add(tokens, types, ids, m.replace(" ", ""), TokenType.NORMAL.id());
      }
      for (String c : CONTROL) {
        add(tokens, types, ids, c, TokenType.CONTROL.id());
      }
      add(tokens, types, ids, USER_DEFINED, TokenType.USER_DEFINED.id());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put(Vocabulary.KEY_MODEL, "gpt2");
      m.put(Vocabulary.KEY_PRE, pre);
      m.put(Vocabulary.KEY_TOKENS, tokens.toArray(String[]::new));
      m.put(Vocabulary.KEY_TOKEN_TYPE, types.stream().mapToInt(Integer::intValue).toArray());
      m.put(Vocabulary.KEY_MERGES, mergeList.toArray(String[]::new));
      m.put(Vocabulary.KEY_BOS, ids.get("<|endoftext|>"));
      m.put(Vocabulary.KEY_EOS, ids.get("<|im_end|>"));
      m.put(Vocabulary.KEY_ADD_BOS, true);
      return m;
    }

    private static void add(List<String> tokens, List<Integer> types, Map<String, Integer> ids, String token, int type) {
      if (ids.putIfAbsent(token, tokens.size()) == null) {
        tokens.add(token);
        types.add(type);
      }
    }

    static List<String> train(List<String> corpus, PreTokenizer pre, int merges) {
      Map<String, Integer> counts = new TreeMap<>();
      for (String text : corpus) {
        for (String piece : pre.split(text)) {
          counts.merge(Unicode.byteEncode(piece), 1, Integer::sum);
        }
      }
      List<List<String>> words = new ArrayList<>();
      int[] weight = new int[counts.size()];
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        List<String> symbols = new ArrayList<>();
        e.getKey().codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
        weight[words.size()] = e.getValue();
        words.add(symbols);
      }
      List<String> result = new ArrayList<>();
      while (result.size() < merges) {
        Map<String, Integer> pairs = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
          List<String> s = words.get(w);
          for (int i = 0; i + 1 < s.size(); i++) {
            pairs.merge(s.get(i) + " " + s.get(i + 1), weight[w], Integer::sum);
          }
        }
        String best = null;
        int bestCount = 1;
        for (Map.Entry<String, Integer> e : pairs.entrySet()) {
          if (e.getValue() > bestCount || (e.getValue() == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
            best = e.getKey();
            bestCount = e.getValue();
          }
        }
        if (best == null) break;
        result.add(best);
        int space = best.indexOf(' ');
        String left = best.substring(0, space), right = best.substring(space + 1), joined = left + right;
        for (List<String> s : words) {
          for (int i = 0; i + 1 < s.size(); i++) {
            if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
              s.set(i, joined);
              s.remove(i + 1);
            }
          }
        }
      }
      return result;
    }
  }
}
