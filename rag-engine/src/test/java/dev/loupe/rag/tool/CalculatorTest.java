package dev.loupe.rag.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CalculatorTest {

  @Test
  void evaluates_arithmetic_with_precedence_parentheses_and_powers() {
    assertEquals("50", Calculator.format(Calculator.evaluate("12.5*4")));
    assertEquals("14", Calculator.format(Calculator.evaluate("2 + 3 * 4")));
    assertEquals("20", Calculator.format(Calculator.evaluate("(2 + 3) * 4")));
    assertEquals("512", Calculator.format(Calculator.evaluate("2^3^2")));
    assertEquals("-1.5", Calculator.format(Calculator.evaluate("-3 / 2")));
    assertEquals("1234567", Calculator.format(Calculator.evaluate("1,234,567")));
    assertEquals("0.333333333333", Calculator.format(Calculator.evaluate("1/3")));
  }

  @Test
  void rejects_what_is_not_arithmetic_naming_the_position() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Calculator.evaluate("2 + x"));
    assertTrue(e.getMessage().contains("'2 + x' at position 4"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Calculator.evaluate("(1 + 2"));
    assertThrows(IllegalArgumentException.class, () -> Calculator.evaluate("3 *"));
  }
}
