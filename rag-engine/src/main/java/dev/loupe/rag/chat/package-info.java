/**
 * Chat over the documents: {@link dev.loupe.rag.chat.ChatEngine} retrieves, prompts the local
 * model, streams {@link dev.loupe.rag.chat.ChatEvent}s, runs the tools the model calls mid-answer
 * and keeps each conversation's KV cache between turns in {@link dev.loupe.rag.chat.ChatSessions}.
 */
package dev.loupe.rag.chat;
