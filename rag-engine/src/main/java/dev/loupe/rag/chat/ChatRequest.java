package dev.loupe.rag.chat;

import dev.loupe.llm.generate.SamplerSettings;
import dev.loupe.llm.tokenizer.ChatMessage;
import dev.loupe.rag.RetrievalOptions;
import java.util.List;

/**
 * One question to the {@link ChatEngine}.
 *
 * @param chatId the conversation to continue, or null for a new one
 * @param question what the user asks; not blank, at most {@link #MAX_QUESTION} characters
 * @param history earlier turns a client keeps itself (OpenAI's stateless messages), for a new
 *     conversation only; user and assistant messages
 * @param retrieve whether to search the documents for the question
 * @param retrieval how much evidence, within which budget
 * @param sampler how tokens are chosen
 * @param maxTokens the most answer tokens
 * @param tools whether the model may call tools mid-answer
 * @param forceTool a tool the answer must start by calling, or null (tests; clients that want a search first)
 * @param keep whether the conversation stays for a follow-up (false for one-shot questions)
 */
public record ChatRequest(String chatId, String question, List<ChatMessage> history, boolean retrieve,
    RetrievalOptions retrieval, SamplerSettings sampler, int maxTokens, boolean tools, String forceTool, boolean keep) {
  /** The longest question accepted, in characters. */
  public static final int MAX_QUESTION = 8_000;
  /** The most answer tokens any request may ask for. */
  public static final int MAX_TOKENS = 4_096;

  public ChatRequest {
    if (question == null || question.isBlank()) {
      throw new IllegalArgumentException("the question must not be blank");
    }
    if (question.length() > MAX_QUESTION) {
      throw new IllegalArgumentException("question of " + question.length() + " characters is longer than " + MAX_QUESTION);
    }
    history = history == null ? List.of() : List.copyOf(history);
    for (ChatMessage m : history) {
      if (!m.role().equals("user") && !m.role().equals("assistant")) {
        throw new IllegalArgumentException("history message role '" + m.role() + "' is not user or assistant");
      }
    }
    if (chatId != null && !history.isEmpty()) {
      throw new IllegalArgumentException("a continued chat " + chatId + " keeps its own history; send history only for a new one");
    }
    if (retrieval == null || sampler == null) {
      throw new IllegalArgumentException("retrieval options and sampler settings are required");
    }
    if (maxTokens < 1 || maxTokens > MAX_TOKENS) {
      throw new IllegalArgumentException("max tokens " + maxTokens + " is outside [1, " + MAX_TOKENS + "]");
    }
  }

  /** A new, kept conversation: retrieval with {@code retrieval}, greedy, tools on, {@code maxTokens}. */
  public static ChatRequest of(String question, RetrievalOptions retrieval, int maxTokens) {
    return new ChatRequest(null, question, List.of(), true, retrieval, SamplerSettings.greedy(), maxTokens, true, null, true);
  }

  public ChatRequest inChat(String id) {
    return new ChatRequest(id, question, history, retrieve, retrieval, sampler, maxTokens, tools, forceTool, keep);
  }

  public ChatRequest withQuestion(String q) {
    return new ChatRequest(chatId, q, history, retrieve, retrieval, sampler, maxTokens, tools, forceTool, keep);
  }

  public ChatRequest withRetrieve(boolean on) {
    return new ChatRequest(chatId, question, history, on, retrieval, sampler, maxTokens, tools, forceTool, keep);
  }

  public ChatRequest withTools(boolean on, String force) {
    return new ChatRequest(chatId, question, history, retrieve, retrieval, sampler, maxTokens, on, force, keep);
  }

  public ChatRequest withSampler(SamplerSettings s) {
    return new ChatRequest(chatId, question, history, retrieve, retrieval, s, maxTokens, tools, forceTool, keep);
  }

  public ChatRequest withHistory(List<ChatMessage> h, boolean keepIt) {
    return new ChatRequest(chatId, question, h, retrieve, retrieval, sampler, maxTokens, tools, forceTool, keepIt);
  }
}
