package dev.loupe.rag.chat;

import dev.loupe.rag.Source;
import java.util.List;

/**
 * What a chat turn streams, in this order: {@link Sources} once, then {@link Token}s with {@link
 * Tool}s among them where the model called one, then {@link Done} once (also after a cancel).
 */
public sealed interface ChatEvent {

  /** The evidence retrieved for the question, before any token. */
  record Sources(String chatId, List<Source> sources, double retrievalMillis, List<String> notes) implements ChatEvent {
    public Sources {
      sources = List.copyOf(sources);
      notes = List.copyOf(notes);
    }
  }

  /** Answer text, in order; concatenated they are the answer. */
  record Token(String text) implements ChatEvent {}

  /**
   * A tool the model called mid-answer and what it answered.
   *
   * @param sources the sources a search added (numbered after the question's), empty for other tools
   */
  record Tool(String tool, String argument, String result, List<Source> sources, double millis) implements ChatEvent {
    public Tool {
      sources = List.copyOf(sources);
    }
  }

  /**
   * The end of the turn.
   *
   * @param answer the whole answer text (tool calls left out)
   * @param citations the sources the answer cites, in order of first citation
   * @param unknownCitations {@code [n]} numbers the answer wrote that name no source
   * @param finishReason why generation ended ({@code stop}, {@code length}, {@code cancelled}, …)
   */
  record Done(String chatId, String answer, List<Source> citations, List<Integer> unknownCitations, String finishReason,
      Timings timings) implements ChatEvent {
    public Done {
      citations = List.copyOf(citations);
      unknownCitations = List.copyOf(unknownCitations);
    }
  }

  /**
   * What a turn cost.
   *
   * @param retrievalMillis the question's retrieval
   * @param cachedTokens tokens of earlier turns the KV cache already held
   * @param prefillTokens tokens prefilled: the new part of the prompt and any injected tool answers
   * @param prefillMillis time in those prefills
   * @param firstTokenMillis from the start of the turn to the first answer token
   * @param decodeTokens tokens decoded one at a time
   * @param decodeMillis time in those steps
   * @param toolMillis time in tools (searches included)
   * @param totalMillis the whole turn
   */
  record Timings(double retrievalMillis, int cachedTokens, int prefillTokens, double prefillMillis, double firstTokenMillis,
      int decodeTokens, double decodeMillis, double toolMillis, double totalMillis) {

    /** Decode speed in tokens per second (0 when nothing was decoded). */
    public double tokensPerSecond() {
      return decodeMillis == 0 ? 0 : decodeTokens * 1000 / decodeMillis;
    }
  }
}
