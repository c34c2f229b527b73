package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The streaming decoder never splits a UTF-8 character and adds up to the whole-text decode. */
class StreamingDecoderTest {

  @Test
  void holds_a_byte_split_emoji_until_it_is_whole() throws IOException {
    Tokenizer llama2 = Tokenizer.fromMetadata(Llama2cVocabulary.metadata());
    StreamingDecoder stream = llama2.streamingDecoder(true);
    List<String> pieces = new ArrayList<>();
    for (int token : llama2.encode("🦙!", false, false)) { // ▁, <0xF0>, <0x9F>, <0xA6>, <0x99>, !
      pieces.add(stream.append(token));
    }
    assertEquals(List.of("", "", "", "", "🦙", "!"), pieces, "the leading ▁ is dropped at the start of text");
    assertFalse(stream.hasPending());
  }

  @Test
  void keeps_the_leading_space_when_continuing_a_text() throws IOException {
    Tokenizer llama2 = Tokenizer.fromMetadata(Llama2cVocabulary.metadata());
    StreamingDecoder stream = llama2.streamingDecoder(false);
    assertEquals(" Hello", stream.append(15043));
    assertEquals(" world", stream.append(3186));
  }

  @Test
  void adds_up_to_the_whole_text_decode_for_every_sample() throws IOException {
    Tokenizer llama2 = Tokenizer.fromMetadata(Llama2cVocabulary.metadata());
    Tokenizer qwen = Tokenizer.fromMetadata(BytePairTokenizerTest.metadata("qwen2"));
    for (Tokenizer t : List.of(llama2, qwen)) {
      for (String text : TextSamples.MULTILINGUAL) {
        for (boolean bos : new boolean[] {false, true}) {
          int[] tokens = t.encode(text, bos, false);
          StreamingDecoder stream = t.streamingDecoder(true);
          StringBuilder streamed = new StringBuilder();
          for (int token : tokens) {
            String piece = stream.append(token);
            assertFalse(!piece.isEmpty() && Character.isLowSurrogate(piece.charAt(0)), "a piece starts mid-character");
            assertFalse(piece.contains("\uFFFD"), "a piece holds a broken character: " + piece);
            streamed.append(piece);
          }
          streamed.append(stream.finish());
          assertEquals(t.decode(tokens), streamed.toString(), "streamed " + SentencePieceTokenizerTest.escape(text));
        }
      }
    }
  }

  @Test
  void finishes_an_unfinished_character_as_a_replacement_character() {
    Tokenizer qwen = Tokenizer.fromMetadata(BytePairTokenizerTest.metadata("qwen2"));
    StreamingDecoder stream = qwen.streamingDecoder(true);
    assertEquals("", stream.append(0xF0));
    assertEquals("", stream.append(0x9F));
    assertTrue(stream.hasPending());
    assertEquals("\uFFFD", stream.finish());
    assertEquals("a", stream.append('a'), "the decoder goes on after finish");
  }

  @Test
  void does_not_hold_bytes_that_can_never_complete_a_character() {
    assertEquals(2, StreamingDecoder.completePrefix(new byte[] {(byte) 0x80, (byte) 0x80}));
    assertEquals(1, StreamingDecoder.completePrefix(new byte[] {'a', (byte) 0xE2, (byte) 0x96}));
    assertEquals(4, StreamingDecoder.completePrefix(new byte[] {'a', (byte) 0xE2, (byte) 0x96, (byte) 0x81}));
  }
}
