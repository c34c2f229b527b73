package dev.loupe.llm.tokenizer;

import java.util.List;

/**
 * Built-in chat formats of the known model families, used when a model carries no {@code tokenizer.chat_template}
 * or when the Jinja engine cannot render it. Each writes what llama.cpp's built-in template of that name writes
 * (without the BOS the tokenizer adds). Stateless.
 */
public enum ChatFormat {
  /** Llama 2 chat: {@code [INST] <<SYS>>\n...\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] ...}. */
  LLAMA2,
  /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
  LLAMA3,
  /** ChatML, as Qwen and SmolLM use: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
  CHATML,
  /** Zephyr, as TinyLlama chat uses: {@code <|role|>\ncontent</s>\n}. */
  ZEPHYR;

  /** The family whose markers the template text or the vocabulary shows; Llama 2 for plain SentencePiece. */
  static ChatFormat detect(String template, Vocabulary vocabulary) {
    if (template != null) {
      if (template.contains("<|start_header_id|>")) {
        return LLAMA3;
      }
      if (template.contains("<|im_start|>")) {
        return CHATML;
      }
      if (template.contains("<|user|>")) {
        return ZEPHYR;
      }
      if (template.contains("[INST]")) {
        return LLAMA2;
      }
    }
    if (vocabulary.id("<|start_header_id|>") != Vocabulary.NONE) {
      return LLAMA3;
    }
    if (vocabulary.id("<|im_start|>") != Vocabulary.NONE) {
      return CHATML;
    }
    return vocabulary.model() == Vocabulary.Model.SENTENCEPIECE ? LLAMA2 : CHATML;
  }

  /**
   * The conversation in this format.
   *
   * @param eosToken the text of the end-of-sequence token, for the formats that close turns with it
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt, String eosToken) {
    StringBuilder out = new StringBuilder();
    switch (this) {
      case LLAMA2 -> {
        String system = null;
        boolean firstUser = true;
        for (ChatMessage m : messages) {
          switch (m.role()) {
            case "system" -> system = m.content();
            case "assistant" -> out.append(' ').append(m.content()).append(' ').append(eosToken);
            default -> { // user and tool
              if (!firstUser) {
                out.append("<s>");
              }
              out.append("[INST] ");
              if (system != null) {
                out.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
                system = null;
              }
              out.append(m.content()).append(" [/INST]");
              firstUser = false;
            }
          }
        }
      }
      case LLAMA3 -> {
        for (ChatMessage m : messages) {
          out.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
              .append(m.content().strip()).append("<|eot_id|>");
        }
        if (addGenerationPrompt) {
          out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        }
      }
      case CHATML -> {
        for (ChatMessage m : messages) {
          out.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
        }
        if (addGenerationPrompt) {
          out.append("<|im_start|>assistant\n");
        }
      }
      case ZEPHYR -> {
        for (ChatMessage m : messages) {
          out.append("<|").append(m.role()).append("|>\n").append(m.content()).append(eosToken).append('\n');
        }
        if (addGenerationPrompt) {
          out.append("<|assistant|>\n");
        }
      }
    }
    return out.toString();
  }
}
