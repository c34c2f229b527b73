package dev.loupe.rag.tool;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * The {@code calc} tool: evaluates arithmetic over decimal numbers with {@code + - * / ^ %} and
 * parentheses, in double precision, and writes the result without a trailing {@code .0}.
 * Stateless and thread-safe.
 */
public final class Calculator {
  private final String text;
  private int at;

  private Calculator(String text) {
    this.text = text;
  }

  /**
   * The value of {@code expression}.
   *
   * @throws IllegalArgumentException naming the expression and the position it cannot read
   */
  public static double evaluate(String expression) {
    Calculator c = new Calculator(expression.replace(",", ""));
    double v = c.sum();
    c.skip();
    if (c.at != c.text.length()) {
      throw c.error("unexpected '" + c.text.charAt(c.at) + "'");
    }
    return v;
  }

  /** {@link #evaluate} written for the model: an integer without decimals, else 12 significant digits. */
  public static String format(double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return String.valueOf(value);
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return new BigDecimal(value).round(new MathContext(12)).stripTrailingZeros().toPlainString();
  }

  private double sum() {
    double v = product();
    while (true) {
      skip();
      if (eat('+')) v += product();
      else if (eat('-')) v -= product();
      else return v;
    }
  }

  private double product() {
    double v = power();
    while (true) {
      skip();
      if (eat('*')) v *= power();
      else if (eat('/')) v /= power();
      else if (eat('%')) v %= power();
      else return v;
    }
  }

  private double power() {
    double base = unary();
    skip();
    return eat('^') ? Math.pow(base, power()) : base;
  }

  private double unary() {
    skip();
    if (eat('-')) return -unary();
    if (eat('+')) return unary();
    if (eat('(')) {
      double v = sum();
      skip();
      if (!eat(')')) throw error("a ')' is missing");
      return v;
    }
    int start = at;
    while (at < text.length() && (Character.isDigit(text.charAt(at)) || text.charAt(at) == '.')) at++;
    if (start == at) {
      throw error(at < text.length() ? "unexpected '" + text.charAt(at) + "'" : "a number is missing at the end");
    }
    try {
      return Double.parseDouble(text.substring(start, at));
    } catch (NumberFormatException e) {
      throw error("'" + text.substring(start, at) + "' is not a number");
    }
  }

  private void skip() {
    while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
  }

  private boolean eat(char c) {
    if (at < text.length() && text.charAt(at) == c) {
      at++;
      return true;
    }
    return false;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("cannot evaluate '" + text + "' at position " + at + ": " + what);
  }
}
