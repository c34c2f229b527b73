package dev.loupe.rag.chat;

import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One chat: its messages and, while {@link ChatSessions} lets it keep one, its model session with
 * the KV cache of everything said so far. Guarded by {@link #lock}: one turn at a time.
 */
final class Conversation {
  final String id;
  final List<ChatMessage> messages = new ArrayList<>();
  final ReentrantLock lock = new ReentrantLock();
  /** The live session, or null before the first turn and after eviction. */
  Session session;
  /** The session's tokens plus the last answer token (sampled, never appended); empty without a session. */
  int[] held = new int[0];
  /** The last turn's generation, whose last token {@link #held} ends with; null when the next turn starts afresh. */
  GenerationResult last;
  /** The last answer as kept in {@link #messages} (tool calls left out). */
  String lastAnswer = "";

  Conversation(String id, List<ChatMessage> initial) {
    this.id = id;
    messages.addAll(initial);
  }

  /** Forgets the KV cache: the next turn prefills the whole conversation again. */
  void forgetCache() {
    session = null;
    held = new int[0];
    last = null;
  }
}
