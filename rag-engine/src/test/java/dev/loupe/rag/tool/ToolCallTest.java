package dev.loupe.rag.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ToolCallTest {

  @Test
  void parses_the_compact_calls_the_schema_allows() {
    String search = "{\"tool\":\"search\",\"query\":\"tax \\\"2023\\\"\"}";
    assertTrue(ToolCall.SCHEMA.accepts(search));
    ToolCall call = ToolCall.parse(search);
    assertEquals("search", call.tool());
    assertEquals("tax \"2023\"", call.argument());
    assertEquals("", ToolCall.parse("{\"tool\":\"time\"}").argument());
    assertEquals("1+2", ToolCall.parse("{\"tool\":\"calc\",\"expression\":\"1+2\"}").argument());
  }

  @Test
  void the_schema_refuses_unknown_tools_and_a_forced_search_requires_its_query() {
    assertFalse(ToolCall.SCHEMA.accepts("{\"tool\":\"shell\"}"));
    assertFalse(ToolCall.schema(List.of("search")).accepts("{\"tool\":\"search\"}"));
    assertThrows(IllegalArgumentException.class, () -> ToolCall.parse("{\"tool\":\"shell\"}"));
    assertThrows(IllegalArgumentException.class, () -> ToolCall.parse("{\"query\":\"x\"}"));
    assertThrows(IllegalArgumentException.class, () -> ToolCall.parse("{\"tool\":\"time\""));
  }
}
