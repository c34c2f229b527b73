package dev.loupe.rag;

import dev.loupe.rag.tool.ToolCall;
import java.util.List;

/**
 * Writes the words the model reads: the system prompt (answer from the numbered sources, cite them
 * as {@code [n]}, say so when they do not hold the answer, and the tools it may call), each
 * question with its sources, and a tool's answer. Sources go with each question rather than in
 * the system prompt, so earlier turns stay as they were and a follow-up reuses the KV cache.
 *
 * <p>Stateless and thread-safe.
 */
public final class PromptBuilder {
  /** What the model is told when the search found nothing. */
  public static final String NO_SOURCES = "No sources were found for this question in the user's documents. "
      + "Say that you do not know the answer from the documents; do not make one up.";
  /** Opens a tool's answer in the context. */
  public static final String RESULT_OPEN = "<tool_result>";
  /** Closes a tool's answer. */
  public static final String RESULT_CLOSE = "</tool_result>";

  private PromptBuilder() {}

  /** The system prompt; {@code tools} adds the declaration of the tools and how to call them. */
  public static String system(boolean tools) {
    StringBuilder s = new StringBuilder("""
        You are Loupe, an assistant that answers questions from the user's own documents, images and videos.
        Answer only from the numbered sources given with the question. Cite the source of every statement \
        with its number in square brackets, like [1] or [2][3]. If the sources do not contain the answer, \
        say that you do not know; never invent facts or citations.""");
    if (tools) {
      s.append("\n\nYou can call a tool by writing ").append(ToolCall.MARKER).append("""
           followed by one JSON object, then wait for its result:
          {"tool":"search","query":"words"} searches the user's documents again and returns more numbered sources;
          {"tool":"time"} returns the current date and time;
          {"tool":"calc","expression":"12.5*4"} evaluates arithmetic over numbers from the sources.""");
    }
    return s.toString();
  }

  /** The user's turn: the numbered sources (or {@link #NO_SOURCES}), then the question. */
  public static String question(String question, List<Source> sources) {
    if (question == null || question.isBlank()) {
      throw new IllegalArgumentException("the question must not be blank");
    }
    StringBuilder s = new StringBuilder();
    if (sources.isEmpty()) {
      s.append(NO_SOURCES);
    } else {
      s.append("Sources:\n");
      sources(s, sources);
    }
    s.append("\n\nQuestion: ").append(question.strip());
    return s.toString();
  }

  /** A tool's answer as injected after the call: {@code <tool_result>text</tool_result>}. */
  public static String toolResult(String text) {
    return "\n" + RESULT_OPEN + "\n" + text.strip() + "\n" + RESULT_CLOSE + "\n";
  }

  /** Sources found by a mid-answer search, in the same numbered form as the question's. */
  public static String searchResult(List<Source> sources) {
    if (sources.isEmpty()) {
      return "No further sources were found.";
    }
    StringBuilder s = new StringBuilder();
    sources(s, sources);
    return s.toString();
  }

  private static void sources(StringBuilder s, List<Source> sources) {
    for (int i = 0; i < sources.size(); i++) {
      Source src = sources.get(i);
      if (i > 0) s.append("\n\n");
      s.append('[').append(src.n()).append("] ").append(src.title()).append('\n').append(src.text());
    }
  }
}
