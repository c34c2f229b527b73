package dev.loupe.llm.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes a conversation as the prompt text a model was trained on, with the model's own Jinja
 * {@code tokenizer.chat_template} rendered by Jinjava the way Hugging Face renders it (trim_blocks and
 * lstrip_blocks on, {@code bos_token}, {@code eos_token}, {@code add_generation_prompt}, {@code raise_exception},
 * {@code strftime_now}). Where the model has no template, or Jinjava cannot render it, a built-in
 * {@link ChatFormat} of the family stands in; a failed template is logged once, naming the fallback.
 *
 * <p>Thread-safe: rendering shares only the immutable template text and a thread-safe Jinjava engine.
 */
public final class ChatTemplate {
  private static final System.Logger LOG = System.getLogger(ChatTemplate.class.getName());
  private static final ThreadLocal<Clock> CLOCK = new ThreadLocal<>();

  private final String source;
  private final ChatFormat fallback;
  private final String bosToken;
  private final String eosToken;
  private final Clock clock;
  private final Jinjava jinjava;
  private final AtomicBoolean warned = new AtomicBoolean();

  /**
   * @param source the Jinja template, or {@code null} to use {@code fallback} alone
   * @param fallback the built-in format used without a template or when it cannot be rendered
   * @param bosToken the text of the BOS token, bound as {@code bos_token}
   * @param eosToken the text of the EOS token, bound as {@code eos_token}
   * @param clock the time {@code strftime_now} reads (a fixed clock makes renders reproducible)
   */
  public ChatTemplate(String source, ChatFormat fallback, String bosToken, String eosToken, Clock clock) {
    if (fallback == null) {
      throw new IllegalArgumentException("a chat template needs a fallback format");
    }
    this.source = source == null || source.isBlank() ? null : source;
    this.fallback = fallback;
    this.bosToken = bosToken == null ? "" : bosToken;
    this.eosToken = eosToken == null ? "" : eosToken;
    this.clock = clock == null ? Clock.systemDefaultZone() : clock;
    this.jinjava = this.source == null ? null : newJinjava();
  }

  /** The template the vocabulary carries, with the family's built-in format as fallback. */
  public static ChatTemplate of(Vocabulary vocabulary, Clock clock) {
    String source = vocabulary.chatTemplate().orElse(null);
    String bos = vocabulary.bos() == Vocabulary.NONE ? "" : vocabulary.text(vocabulary.bos());
    String eos = vocabulary.eos() == Vocabulary.NONE ? "" : vocabulary.text(vocabulary.eos());
    return new ChatTemplate(source, ChatFormat.detect(source, vocabulary), bos, eos, clock);
  }

  /** The model's Jinja template, if any. */
  public java.util.Optional<String> source() {
    return java.util.Optional.ofNullable(source);
  }

  /** The built-in format used without a template or when it cannot be rendered. */
  public ChatFormat fallback() {
    return fallback;
  }

  /**
   * The prompt text for {@code messages}.
   *
   * @param addGenerationPrompt end with the header that opens the assistant's answer
   * @throws IllegalArgumentException when the model's template rejects the conversation with
   *     {@code raise_exception} (for example roles that do not alternate), with the template's message
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    if (messages.isEmpty()) {
      throw new IllegalArgumentException("a chat needs at least one message");
    }
    if (source == null) {
      return fallback.render(messages, addGenerationPrompt, eosToken);
    }
    String failure;
    try {
      failure = null;
      RenderResult result = renderJinja(messages, addGenerationPrompt);
      for (TemplateError error : result.getErrors()) {
        Raised raised = raised(error.getException());
        if (raised != null) {
          throw new IllegalArgumentException("the model's chat template rejects this conversation: "
              + raised.getMessage(), raised);
        }
        if (error.getSeverity() == TemplateError.ErrorType.FATAL && failure == null) {
          failure = error.getMessage();
        }
      }
      if (failure == null) {
        return result.getOutput();
      }
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      Raised raised = raised(e);
      if (raised != null) {
        throw new IllegalArgumentException("the model's chat template rejects this conversation: "
            + raised.getMessage(), raised);
      }
      failure = e.toString();
    }
    if (warned.compareAndSet(false, true)) {
      LOG.log(Level.WARNING, "the model's chat template cannot be rendered (" + failure + "); using the built-in "
          + fallback.name().toLowerCase(Locale.ROOT) + " format instead");
    }
    return fallback.render(messages, addGenerationPrompt, eosToken);
  }

  private RenderResult renderJinja(List<ChatMessage> messages, boolean addGenerationPrompt) {
    List<Map<String, Object>> list = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("role", m.role());
      map.put("content", m.content());
      list.add(map);
    }
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", list);
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("bos_token", bosToken);
    bindings.put("eos_token", eosToken);
    // Functions are not variables to Jinjava, but templates ask "strftime_now is defined" before calling it.
    bindings.put("strftime_now", true);
    CLOCK.set(clock);
    try {
      return jinjava.renderForResult(source, bindings);
    } finally {
      CLOCK.remove();
    }
  }

  private static Jinjava newJinjava() {
    JinjavaConfig config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        // Jinja2's own parsing, as Hugging Face renders templates: '{{-' trims whitespace, filters bind tighter
        // than '+', backslashes escape only inside quotes. (LegacyOverrides.ALL also demands spaces inside
        // '{{ }}', which SmolLM2's template does not have, and drops a trailing newline.)
        .withLegacyOverrides(LegacyOverrides.newBuilder()
            .withParseWhitespaceControlStrictly(true)
            .withUseNaturalOperatorPrecedence(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withHandleBackslashInQuotesOnly(true)
            .build())
        .build();
    Jinjava jinjava = new Jinjava(config);
    jinjava.getGlobalContext().registerFunction(
        new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    jinjava.getGlobalContext().registerFunction(
        new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    return jinjava;
  }

  private static Raised raised(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof Raised r) {
        return r;
      }
    }
    return null;
  }

  /** Thrown by a template's {@code raise_exception(message)}. */
  static final class Raised extends RuntimeException {
    Raised(String message) {
      super(message);
    }
  }

  /** The template function {@code raise_exception(message)}: public for Jinjava's reflection. */
  public static String raiseException(String message) {
    throw new Raised(message);
  }

  /** The template function {@code strftime_now(format)} over the render's clock: public for Jinjava's reflection. */
  public static String strftimeNow(String format) {
    Clock clock = CLOCK.get();
    ZonedDateTime now = ZonedDateTime.now(clock == null ? Clock.systemDefaultZone() : clock);
    return strftime(format, now);
  }

  /** Python's {@code strftime} for the directives chat templates use. */
  static String strftime(String format, ZonedDateTime time) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      String pattern = switch (d) {
        case 'd' -> "dd";
        case 'm' -> "MM";
        case 'Y' -> "yyyy";
        case 'y' -> "yy";
        case 'b' -> "MMM";
        case 'B' -> "MMMM";
        case 'a' -> "EEE";
        case 'A' -> "EEEE";
        case 'H' -> "HH";
        case 'I' -> "hh";
        case 'M' -> "mm";
        case 'S' -> "ss";
        case 'p' -> "a";
        case 'j' -> "DDD";
        default -> null;
      };
      if (d == '%') {
        out.append('%');
      } else if (pattern == null) {
        out.append('%').append(d);
      } else {
        out.append(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH).format(time));
      }
    }
    return out.toString();
  }
}
