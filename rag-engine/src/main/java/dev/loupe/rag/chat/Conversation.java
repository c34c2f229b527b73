package dev.loupe.rag.chat;

import dev.loupe.llm.generate.GenerationResult;
import dev.loupe.llm.generate.LanguageModelState;
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
  LanguageModelState session;
  /** A closeable session forgotten while a turn was using it; that turn closes it when it ends. */
  private LanguageModelState orphan;
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

  /**
   * Forgets the KV cache: the next turn prefills the whole conversation again. A session holding
   * native memory (a GPU session) is closed, at once when no turn holds {@link #lock}, else by that
   * turn's {@link #closeOrphan} when it ends (the turn may still be generating with it, even on
   * this thread). Called under {@link ChatSessions}' monitor.
   */
  void forgetCache() {
    LanguageModelState old = session;
    session = null;
    held = new int[0];
    last = null;
    if (old instanceof AutoCloseable) {
      if (lock.isLocked()) {
        orphan = old;
      } else {
        close(old);
      }
    }
  }

  /** Closes the session {@link #forgetCache} left to this turn, if any. Called under {@link ChatSessions}' monitor. */
  void closeOrphan() {
    if (orphan != null) {
      close(orphan);
      orphan = null;
    }
  }

  private void close(LanguageModelState state) {
    try {
      ((AutoCloseable) state).close();
    } catch (Exception e) {
      throw new IllegalStateException("the model session of chat " + id + " did not close: " + e.getMessage(), e);
    }
  }
}
