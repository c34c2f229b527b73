package dev.loupe.llm.generate;

import dev.loupe.llm.generate.JsonSchema.ArrayNode;
import dev.loupe.llm.generate.JsonSchema.LiteralNode;
import dev.loupe.llm.generate.JsonSchema.LiteralTrie;
import dev.loupe.llm.generate.JsonSchema.Node;
import dev.loupe.llm.generate.JsonSchema.NumberNode;
import dev.loupe.llm.generate.JsonSchema.ObjectNode;
import dev.loupe.llm.generate.JsonSchema.StringNode;

/**
 * The byte-level pushdown recogniser of a {@link JsonSchema}'s compact documents. States are immutable values
 * (a persistent stack of frames) with value equality, so they can be shared while walking a token trie and used
 * as cache keys. {@link #step} returns null for a byte that cannot continue the document; every prefix it accepts
 * can be completed (the schema's bounds see to that), so masking with it never leads into a dead end.
 */
final class JsonAutomaton {
  private JsonAutomaton() {}

  static final int MAX_INT_DIGITS = 15;
  static final int MAX_FRAC_DIGITS = 15;
  static final int MAX_EXP_DIGITS = 2;

  /** A stack of frames; {@code below} is null under the root frame. */
  record State(Frame top, State below) {}

  sealed interface Frame permits Root, Obj, Arr, Str, Num, Lit {}

  /** The document: {@code done} once its value has started (the value's frames sit above it). */
  record Root(Node node, boolean done) implements Frame {}

  /** An object; {@code next} is the first property not yet passed, {@code aux} the key trie node or key. */
  record Obj(ObjectNode node, int phase, int next, int aux) implements Frame {}

  record Arr(ArrayNode node, int phase, int count) implements Frame {}

  /** A string; {@code chars} is capped at what still matters for the bounds, {@code need} continuation bytes. */
  record Str(StringNode node, int phase, int chars, int need, int lo, int hi) implements Frame {}

  record Num(NumberNode node, int phase, int digits) implements Frame {}

  record Lit(LiteralTrie trie, int node) implements Frame {}

  // object phases
  private static final int O_OPEN = 0;
  private static final int O_FIRST = 1;
  private static final int O_KEY = 2;
  private static final int O_IN_KEY = 3;
  private static final int O_COLON = 4;
  private static final int O_AFTER = 5;
  // array phases
  private static final int A_OPEN = 0;
  private static final int A_FIRST = 1;
  private static final int A_AFTER = 2;
  private static final int A_NEXT = 3;
  // string phases
  private static final int S_OPEN = 0;
  private static final int S_IN = 1;
  private static final int S_ESCAPE = 2;
  private static final int S_HEX = 3; // S_HEX + i: i hex digits read
  // number phases
  private static final int N_START = 0;
  private static final int N_MINUS = 1;
  private static final int N_ZERO = 2;
  private static final int N_INT = 3;
  private static final int N_DOT = 4;
  private static final int N_FRAC = 5;
  private static final int N_E = 6;
  private static final int N_EXP_SIGN = 7;
  private static final int N_EXP = 8;

  static State initial(JsonSchema schema) {
    return new State(new Root(schema.root(), false), null);
  }

  /** Whether the document is whole at this state (an end of input is accepted). */
  static boolean isComplete(State s) {
    while (s != null) {
      switch (s.top()) {
        case Root r -> {
          return r.done();
        }
        case Num n when accepting(n) -> s = s.below();
        case Lit l when l.trie().terminal(l.node()) >= 0 -> s = s.below();
        default -> {
          return false;
        }
      }
    }
    return false;
  }

  /** The state after byte {@code b} (0..255), or null when {@code b} cannot continue the document. */
  static State step(State s, int b) {
    State below = s.below();
    return switch (s.top()) {
      case Root r -> r.done() ? null : step(new State(start(r.node()), new State(new Root(r.node(), true), below)), b);
      case Obj o -> object(o, below, b);
      case Arr a -> array(a, below, b);
      case Str t -> string(t, below, b);
      case Num n -> number(n, below, b);
      case Lit l -> {
        int child = l.trie().next(l.node(), b);
        if (child >= 0) {
          yield l.trie().isLeaf(child) ? below : new State(new Lit(l.trie(), child), below);
        }
        yield l.trie().terminal(l.node()) >= 0 ? step(below, b) : null;
      }
    };
  }

  private static Frame start(Node node) {
    return switch (node) {
      case ObjectNode o -> new Obj(o, O_OPEN, 0, 0);
      case ArrayNode a -> new Arr(a, A_OPEN, 0);
      case StringNode t -> new Str(t, S_OPEN, 0, 0, 0, 0);
      case NumberNode n -> new Num(n, N_START, 0);
      case LiteralNode l -> new Lit(l.trie, 0);
    };
  }

  private static State object(Obj o, State below, int b) {
    ObjectNode node = o.node();
    switch (o.phase()) {
      case O_OPEN -> {
        return b == '{' ? new State(new Obj(node, O_FIRST, 0, 0), below) : null;
      }
      case O_FIRST, O_KEY -> {
        if (b == '}' && o.phase() == O_FIRST) {
          return node.mayClose(o.next()) ? below : null;
        }
        return key(o, below, b, 0);
      }
      case O_IN_KEY -> {
        return key(o, below, b, o.aux());
      }
      case O_COLON -> {
        if (b != ':') {
          return null;
        }
        int key = o.aux();
        return new State(start(node.values[key]), new State(new Obj(node, O_AFTER, key + 1, 0), below));
      }
      case O_AFTER -> {
        if (b == '}') {
          return node.mayClose(o.next()) ? below : null;
        }
        return b == ',' && o.next() < node.names.length ? new State(new Obj(node, O_KEY, o.next(), 0), below) : null;
      }
      default -> throw new AssertionError(o);
    }
  }

  private static State key(Obj o, State below, int b, int trieNode) {
    LiteralTrie keys = o.node().keys[o.next()];
    int child = keys.next(trieNode, b);
    if (child < 0) {
      return null;
    }
    int key = keys.terminal(child);
    // Keys are quoted, so no key is a prefix of another: a key's end is a leaf.
    return new State(key >= 0 ? new Obj(o.node(), O_COLON, o.next(), key)
        : new Obj(o.node(), O_IN_KEY, o.next(), child), below);
  }

  private static State array(Arr a, State below, int b) {
    ArrayNode node = a.node();
    switch (a.phase()) {
      case A_OPEN -> {
        return b == '[' ? new State(new Arr(node, A_FIRST, 0), below) : null;
      }
      case A_FIRST, A_NEXT -> {
        if (b == ']' && a.phase() == A_FIRST) {
          return node.minItems == 0 ? below : null;
        }
        if (a.count() >= node.maxItems) {
          return null;
        }
        return step(new State(start(node.items), new State(new Arr(node, A_AFTER, a.count() + 1), below)), b);
      }
      case A_AFTER -> {
        if (b == ']') {
          return a.count() >= node.minItems ? below : null;
        }
        return b == ',' && a.count() < node.maxItems ? new State(new Arr(node, A_NEXT, a.count()), below) : null;
      }
      default -> throw new AssertionError(a);
    }
  }

  private static State string(Str t, State below, int b) {
    StringNode node = t.node();
    int phase = t.phase();
    if (phase == S_OPEN) {
      return b == '"' ? new State(new Str(node, S_IN, 0, 0, 0, 0), below) : null;
    }
    if (phase == S_ESCAPE) {
      if ("\"\\/bfnrt".indexOf(b) >= 0) {
        return new State(new Str(node, S_IN, t.chars(), 0, 0, 0), below);
      }
      return b == 'u' ? new State(new Str(node, S_HEX, t.chars(), 0, 0, 0), below) : null;
    }
    if (phase >= S_HEX) {
      int digits = phase - S_HEX;
      int value = Character.digit(b, 16);
      if (value < 0 || b > 'f') {
        return null;
      }
      // No lone surrogates: a first digit d is followed by 0-7 (U+D000..U+D7FF).
      if (digits == 1 && t.lo() == 1 && value > 7) {
        return null;
      }
      int flag = digits == 0 && value == 0xD ? 1 : t.lo();
      return new State(new Str(node, digits == 3 ? S_IN : phase + 1, t.chars(), 0, digits == 3 ? 0 : flag, 0), below);
    }
    // S_IN
    if (t.need() > 0) {
      if (b < t.lo() || b > t.hi()) {
        return null;
      }
      return new State(new Str(node, S_IN, t.chars(), t.need() - 1, 0x80, 0xBF), below);
    }
    if (b == '"') {
      return t.chars() >= node.minLength ? below : null;
    }
    if (t.chars() >= node.maxLength || b < 0x20) {
      return null;
    }
    int chars = t.chars() + 1;
    if (node.maxLength == JsonSchema.UNBOUNDED) {
      chars = Math.min(chars, node.minLength); // beyond the minimum the count no longer matters
    }
    if (b == '\\') {
      return new State(new Str(node, S_ESCAPE, chars, 0, 0, 0), below);
    }
    if (b < 0x80) {
      return new State(new Str(node, S_IN, chars, 0, 0, 0), below);
    }
    // UTF-8 lead bytes and the range of the byte after them (RFC 3629: no overlongs, no surrogates).
    int need;
    int lo = 0x80;
    int hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      lo = b == 0xE0 ? 0xA0 : 0x80;
      hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      lo = b == 0xF0 ? 0x90 : 0x80;
      hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
      return null;
    }
    return new State(new Str(node, S_IN, chars, need, lo, hi), below);
  }

  private static boolean accepting(Num n) {
    int p = n.phase();
    return p == N_ZERO || p == N_INT || p == N_FRAC || p == N_EXP;
  }

  private static State number(Num n, State below, int b) {
    NumberNode node = n.node();
    boolean digit = b >= '0' && b <= '9';
    boolean real = !node.integer;
    int next = -1;
    int digits = 0;
    switch (n.phase()) {
      case N_START, N_MINUS -> {
        if (b == '-' && n.phase() == N_START) {
          next = N_MINUS;
        } else if (b == '0') {
          next = N_ZERO;
        } else if (digit) {
          next = N_INT;
          digits = 1;
        }
      }
      case N_ZERO, N_INT -> {
        if (digit && n.phase() == N_INT && n.digits() < MAX_INT_DIGITS) {
          next = N_INT;
          digits = n.digits() + 1;
        } else if (real && b == '.') {
          next = N_DOT;
        } else if (real && (b == 'e' || b == 'E')) {
          next = N_E;
        }
      }
      case N_DOT -> {
        if (digit) {
          next = N_FRAC;
          digits = 1;
        }
      }
      case N_FRAC -> {
        if (digit && n.digits() < MAX_FRAC_DIGITS) {
          next = N_FRAC;
          digits = n.digits() + 1;
        } else if (b == 'e' || b == 'E') {
          next = N_E;
        }
      }
      case N_E, N_EXP_SIGN -> {
        if ((b == '+' || b == '-') && n.phase() == N_E) {
          next = N_EXP_SIGN;
        } else if (digit) {
          next = N_EXP;
          digits = 1;
        }
      }
      case N_EXP -> {
        if (digit && n.digits() < MAX_EXP_DIGITS) {
          next = N_EXP;
          digits = n.digits() + 1;
        }
      }
      default -> throw new AssertionError(n);
    }
    if (next >= 0) {
      return new State(new Num(node, next, digits), below);
    }
    return accepting(n) ? step(below, b) : null; // the byte after a number belongs to what contains it
  }
}
