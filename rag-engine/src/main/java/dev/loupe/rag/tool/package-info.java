/**
 * Tools the model calls in the middle of an answer: the call's syntax (a marker, then one JSON
 * object constrained to {@link dev.loupe.rag.tool.ToolCall#SCHEMA}), the constraint that enforces
 * it, and the small tools themselves (search, time, arithmetic).
 */
package dev.loupe.rag.tool;
