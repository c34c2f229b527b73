package dev.loupe.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Code point classes and byte maps shared by the tokenizers. Stateless. */
final class Unicode {
  private Unicode() {}

  /** GPT-2's byte → printable character map (bytes_to_unicode). */
  private static final char[] BYTE_TO_CHAR = new char[256];
  /** The inverse of {@link #BYTE_TO_CHAR}, -1 where a character is no byte's. */
  private static final int[] CHAR_TO_BYTE = new int[512];

  static {
    java.util.Arrays.fill(CHAR_TO_BYTE, -1);
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char c = printable ? (char) b : (char) (256 + n++);
      BYTE_TO_CHAR[b] = c;
      CHAR_TO_BYTE[c] = b;
    }
  }

  /** Unicode White_Space, the set llama.cpp's {@code is_whitespace} uses. */
  static boolean isWhitespace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
  }

  /** Categories Nd, Nl and No: {@code \p{N}}. */
  static boolean isNumber(int cp) {
    int type = Character.getType(cp);
    return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER || type == Character.OTHER_NUMBER;
  }

  static int toLower(int cp) {
    return cp < 0 ? cp : Character.toLowerCase(cp);
  }

  /** The GPT-2 byte-level form of {@code text}: each UTF-8 byte as its printable character. */
  static String byteEncode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
    }
    return new String(chars);
  }

  /**
   * The bytes a GPT-2 byte-level token text stands for; a character outside the map is written as llama.cpp's
   * {@code llama_decode_text} writes it ({@code [UNK_BYTE_0x..<text>]}).
   */
  static void byteDecode(String tokenText, ByteArrayOutputStream out) {
    for (int i = 0; i < tokenText.length(); ) {
      int cp = tokenText.codePointAt(i);
      i += Character.charCount(cp);
      if (cp < CHAR_TO_BYTE.length && CHAR_TO_BYTE[cp] >= 0) {
        out.write(CHAR_TO_BYTE[cp]);
      } else {
        StringBuilder unknown = new StringBuilder("[UNK_BYTE_0x");
        for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
          unknown.append(String.format("%02x", b & 0xFF));
        }
        unknown.append(tokenText).append(']');
        out.writeBytes(unknown.toString().getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  /** Length of the UTF-8 sequence a lead byte starts (llama.cpp's {@code unicode_len_utf8}). */
  static int utf8Length(int lead) {
    int high = (lead & 0xFF) >> 4;
    return high < 12 ? 1 : high < 14 ? 2 : high == 14 ? 3 : 4;
  }
}
