package dev.loupe.rag.chat;

import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The chats the engine remembers, least recently used first. Conversations are cheap (their
 * messages); their KV caches are not, so the caches live within a memory budget: attaching one to
 * a chat evicts the caches of the least recently used idle chats until it fits, and an evicted
 * chat simply prefills its whole conversation again at its next turn. Past {@code
 * maxConversations} the least recently used idle chat is forgotten altogether.
 *
 * <p>Thread-safe: every method holds the instance's monitor; a chat answering a question (its lock
 * held) is never evicted or forgotten.
 */
public final class ChatSessions {
  /** Counts for health and tests. */
  public record Stats(int conversations, int liveCaches, long cacheBytes, long budgetBytes, long evictions) {}

  private final long budgetBytes;
  private final int maxConversations;
  private final LinkedHashMap<String, Conversation> chats = new LinkedHashMap<>(16, 0.75f, true);
  private long usedBytes;
  private long evictions;

  /**
   * @param budgetBytes the most bytes the KV caches of all chats may take together
   * @param maxConversations the most chats remembered
   */
  public ChatSessions(long budgetBytes, int maxConversations) {
    if (budgetBytes < 1 || maxConversations < 1) {
      throw new IllegalArgumentException("chat sessions need a positive memory budget (" + budgetBytes
          + " bytes) and room for at least one conversation (" + maxConversations + ")");
    }
    this.budgetBytes = budgetBytes;
    this.maxConversations = maxConversations;
  }

  synchronized Conversation create(List<ChatMessage> initial) {
    Iterator<Conversation> it = chats.values().iterator();
    while (chats.size() >= maxConversations && it.hasNext()) {
      Conversation c = it.next();
      if (!c.lock.isLocked()) {
        release(c);
        it.remove();
      }
    }
    Conversation c = new Conversation(UUID.randomUUID().toString(), initial);
    chats.put(c.id, c);
    return c;
  }

  /** @throws NoSuchElementException naming the id when no chat has it (never had, dropped or forgotten) */
  synchronized Conversation get(String id) {
    Conversation c = chats.get(id);
    if (c == null) {
      throw new NoSuchElementException("no chat session has the id '" + id + "'; it ended or was forgotten: start a new chat");
    }
    return c;
  }

  /** Forgets chat {@code id}; false when there was none. */
  public synchronized boolean drop(String id) {
    Conversation c = chats.remove(id);
    if (c == null) return false;
    release(c);
    return true;
  }

  /**
   * Gives {@code c} a session of {@code bytes} when it has none, evicting idle chats' caches (least
   * recently used first) until it fits.
   *
   * @throws IllegalStateException when busy chats hold so much that it cannot fit
   */
  synchronized void attach(Conversation c, long bytes, Supplier<? extends LanguageModelState> open) {
    if (c.session != null) return;
    List<Conversation> idle = new ArrayList<>();
    for (Conversation other : chats.values()) {
      if (other != c && other.session != null && !other.lock.isLocked()) idle.add(other);
    }
    for (int i = 0; usedBytes + bytes > budgetBytes && i < idle.size(); i++) {
      release(idle.get(i));
      evictions++;
    }
    if (usedBytes + bytes > budgetBytes) {
      throw new IllegalStateException("the chat memory budget of " + (budgetBytes >> 20) + " MiB is taken by chats answering"
          + " right now; try again when one has finished");
    }
    c.forgetCache();
    c.session = open.get();
    usedBytes += bytes;
    cost.put(c.id, bytes);
  }

  /** After {@code c}'s turn (its lock released): closes a session forgotten while the turn used it. */
  synchronized void afterTurn(Conversation c) {
    c.closeOrphan();
  }

  /** Forgets every chat and closes their sessions (the engine is closing; no turn may be running). */
  synchronized void clear() {
    for (Conversation c : chats.values()) {
      release(c);
      c.closeOrphan();
    }
    chats.clear();
  }

  /** Drops {@code c}'s cache (its turn failed half-way); its next turn prefills everything again. */
  synchronized void forget(Conversation c) {
    release(c);
  }

  /** Each live cache's bytes, by chat id. */
  private final java.util.Map<String, Long> cost = new java.util.HashMap<>();

  private void release(Conversation c) {
    Long b = cost.remove(c.id);
    if (b != null) usedBytes -= b;
    c.forgetCache();
  }

  public synchronized Stats stats() {
    int live = (int) chats.values().stream().filter(c -> c.session != null).count();
    return new Stats(chats.size(), live, usedBytes, budgetBytes, evictions);
  }
}
