package dev.loupe.llm.tokenizer;

/**
 * One turn of a conversation: {@code system}, {@code user}, {@code assistant} or {@code tool}, and its text.
 *
 * @param role who speaks; not blank
 * @param content what is said; may be empty, not null
 */
public record ChatMessage(String role, String content) {
  public ChatMessage {
    if (role == null || role.isBlank()) {
      throw new IllegalArgumentException("chat message role '" + role + "' is blank");
    }
    if (content == null) {
      throw new IllegalArgumentException("chat message content is null for role " + role);
    }
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }

  public static ChatMessage tool(String content) {
    return new ChatMessage("tool", content);
  }
}
