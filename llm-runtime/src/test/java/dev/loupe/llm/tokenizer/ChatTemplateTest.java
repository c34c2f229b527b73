package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The real chat templates of Llama 3 / 3.2, Qwen2.5, SmolLM2, TinyLlama and Mistral through Jinjava. */
class ChatTemplateTest {
  private static final Clock JULY_15_2025 = Clock.fixed(Instant.parse("2025-07-15T10:00:00Z"), ZoneOffset.UTC);

  /** llama.cpp's test conversation (tests/test-chat-template.cpp). */
  private static final List<ChatMessage> CONVERSATION = List.of(
      ChatMessage.system("You are a helpful assistant"),
      ChatMessage.user("Hello"),
      ChatMessage.assistant("Hi there"),
      ChatMessage.user("Who are you"),
      ChatMessage.assistant("   I am an assistant   "),
      ChatMessage.user("Another question"));

  private static final String CHATML_CONVERSATION = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
      + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
      + "<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an assistant   <|im_end|>\n"
      + "<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n";

  private static final String LLAMA3_TURNS = "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
      + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
      + "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
      + "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
      + "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
      + "<|start_header_id|>assistant<|end_header_id|>\n\n";

  static String template(String name) throws IOException {
    try (InputStream in = ChatTemplateTest.class.getResourceAsStream("templates/" + name)) {
      if (in == null) {
        throw new IOException("test resource templates/" + name + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static ChatTemplate jinja(String name, ChatFormat fallback, String bos, String eos) throws IOException {
    return new ChatTemplate(template(name), fallback, bos, eos, JULY_15_2025);
  }

  @Test
  void renders_the_llama_3_template_with_trimmed_contents_and_the_bos_token() throws IOException {
    ChatTemplate t = jinja("llama-3-instruct.jinja", ChatFormat.LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
        + LLAMA3_TURNS, t.render(CONVERSATION, true));
  }

  @Test
  void renders_the_llama_3_2_template_with_its_date_from_strftime_now() throws IOException {
    ChatTemplate t = jinja("llama-3.2-instruct.jinja", ChatFormat.LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        + "Cutting Knowledge Date: December 2023\nToday Date: 15 Jul 2025\n\n"
        + "You are a helpful assistant<|eot_id|>" + LLAMA3_TURNS, t.render(CONVERSATION, true));
  }

  @Test
  void renders_the_qwen_2_5_template_with_and_without_a_system_message_and_with_tool_results() throws IOException {
    ChatTemplate t = jinja("qwen2.5-instruct.jinja", ChatFormat.CHATML, "", "<|im_end|>");
    assertEquals(CHATML_CONVERSATION, t.render(CONVERSATION, true));
    assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.render(List.of(ChatMessage.user("Hi")), true));
    assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n"
        + "<|im_start|>assistant\nLet me look.<|im_end|>\n"
        + "<|im_start|>user\n<tool_response>\n22°C\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n",
        t.render(List.of(ChatMessage.system("S"), ChatMessage.user("Weather?"), ChatMessage.assistant("Let me look."),
            ChatMessage.tool("22°C"), ChatMessage.tool("sunny")), false));
  }

  @Test
  void renders_the_smollm2_template_adding_its_default_system_prompt() throws IOException {
    ChatTemplate t = jinja("smollm2-instruct.jinja", ChatFormat.CHATML, "<|im_start|>", "<|im_end|>");
    assertEquals(CHATML_CONVERSATION, t.render(CONVERSATION, true));
    assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        + "<|im_start|>user\nHi<|im_end|>\n", t.render(List.of(ChatMessage.user("Hi")), false));
  }

  @Test
  void renders_the_tinyllama_zephyr_template_with_trim_blocks() throws IOException {
    ChatTemplate t = jinja("tinyllama-zephyr.jinja", ChatFormat.ZEPHYR, "<s>", "</s>");
    String expected = "<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n"
        + "<|user|>\nWho are you</s>\n<|assistant|>\n   I am an assistant   </s>\n<|user|>\nAnother question</s>\n"
        + "<|assistant|>\n";
    assertEquals(expected, t.render(CONVERSATION, true));
    assertEquals(expected, ChatFormat.ZEPHYR.render(CONVERSATION, true, "</s>"), "the built-in format agrees");
  }

  @Test
  void surfaces_raise_exception_from_the_template_as_an_error_naming_its_message() throws IOException {
    ChatTemplate t = jinja("mistral-instruct-v0.2.jinja", ChatFormat.LLAMA2, "<s>", "</s>");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(CONVERSATION, true));
    assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    assertEquals("<s>[INST] Hello [/INST]Hi there</s>[INST] Who are you [/INST]",
        t.render(CONVERSATION.subList(1, 4), true));
  }

  @Test
  void falls_back_to_the_built_in_format_when_the_template_cannot_be_rendered() {
    ChatTemplate broken = new ChatTemplate("{% for m in messages %}{{ m.content ", ChatFormat.CHATML, "", "", JULY_15_2025);
    assertEquals(CHATML_CONVERSATION, broken.render(CONVERSATION, true));
  }

  @Test
  void uses_the_built_in_formats_without_a_template() {
    assertEquals(CHATML_CONVERSATION, new ChatTemplate(null, ChatFormat.CHATML, "", "", JULY_15_2025)
        .render(CONVERSATION, true));
    assertEquals("<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>" + LLAMA3_TURNS,
        ChatFormat.LLAMA3.render(CONVERSATION, true, "<|eot_id|>"));
    assertEquals("[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>"
        + "<s>[INST] Who are you [/INST]    I am an assistant    </s><s>[INST] Another question [/INST]",
        ChatFormat.LLAMA2.render(CONVERSATION, true, "</s>"));
  }
}
