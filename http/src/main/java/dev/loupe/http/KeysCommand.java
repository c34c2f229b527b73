package dev.loupe.http;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code loupe keys}: create, list and revoke the API keys that clients on other machines need
 * (see {@link ApiKeys} and {@link Auth}). Exit codes: 0 done; 1 failed (an unknown key, a name in
 * use, a damaged key file: one line naming it); 2 bad command line (one line, then the usage).
 *
 * <p>{@code create} prints the token alone on {@code out}, so {@code TOKEN=$(./loupe keys create)}
 * works; everything meant for people goes to {@code err}.
 */
final class KeysCommand {

  static final String USAGE =
      """
      Usage: loupe keys <command> [--data DIR]

      Commands:
        create [--name NAME]   make a key and print its bearer token, once: only its
                               SHA-256 is kept, in DIR/keys.json
        list                   id, name and creation time of every key (never tokens)
        revoke ID|NAME         delete a key; a running server refuses its token from
                               the next request on
        help                   this text

      Options:
        --data DIR             the data folder (default as for serve)
        --name NAME            1 to 64 letters, digits, '.', '_', '@' or '-'

      Keys are needed to serve beyond loopback (serve --host 0.0.0.0 or a LAN
      address); clients then send Authorization: Bearer TOKEN.
      """;

  private KeysCommand() {}

  /** A parsed command line; {@code operand} is the name for create, the id or name for revoke. */
  private record Line(String command, Path data, String operand) {}

  /** Runs {@code loupe keys ARGS} ({@code --data DIR} among them) and returns the exit code. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    Line line;
    try {
      line = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe keys: " + e.getMessage());
      err.println();
      err.print(USAGE);
      return 2;
    }
    ApiKeys keys = ApiKeys.in(line.data());
    try {
      switch (line.command()) {
        case "help" -> out.print(USAGE);
        case "create" -> {
          ApiKeys.Created created = keys.create(line.operand());
          out.println(created.token());
          err.println("created API key " + describe(created.key()) + " in " + keys.file()
              + ". The token above is shown only this once; clients send it as Authorization: Bearer TOKEN.");
        }
        case "list" -> list(keys, out);
        case "revoke" -> {
          ApiKeys.Key key = keys.revoke(line.operand());
          out.println("revoked API key " + describe(key) + "; a running server refuses its token from the next request");
        }
        default -> throw new AssertionError(line.command());
      }
      return 0;
    } catch (IllegalArgumentException | IOException e) {
      err.println("loupe keys: " + e.getMessage());
      return 1;
    }
  }

  private static void list(ApiKeys keys, PrintStream out) throws IOException {
    List<ApiKeys.Key> all = keys.list();
    if (all.isEmpty()) {
      out.println("no API keys in " + keys.file() + "; ./loupe keys create makes one");
      return;
    }
    int width = Math.max(4, all.stream().mapToInt(k -> k.name() == null ? 1 : k.name().length()).max().orElse(0));
    out.printf("%-12s  %-" + width + "s  %s%n", "ID", "NAME", "CREATED");
    for (ApiKeys.Key k : all) {
      out.printf("%-12s  %-" + width + "s  %s%n", k.id(), k.name() == null ? "-" : k.name(), k.created());
    }
    out.println("key file: " + keys.file());
  }

  private static String describe(ApiKeys.Key key) {
    return key.id() + (key.name() == null ? "" : " (" + key.name() + ")");
  }

  private static Line parse(List<String> args) {
    String command = null;
    Path data = null;
    String name = null;
    List<String> operands = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (flag) {
        case "--data", "--name" -> {
          if (value == null) {
            if (i + 1 >= args.size()) {
              throw new IllegalArgumentException("option " + flag + " needs a value");
            }
            value = args.get(++i);
          }
          if (value.isBlank()) {
            throw new IllegalArgumentException("option " + flag + " needs a value, got ''");
          }
          if (flag.equals("--data")) {
            data = Path.of(value);
          } else {
            name = value;
          }
        }
        case "--help", "-h" -> command = "help";
        default -> {
          if (arg.startsWith("-")) {
            throw new IllegalArgumentException("unknown option '" + arg + "'");
          }
          if (command == null) {
            command = arg;
          } else {
            operands.add(arg);
          }
        }
      }
    }
    if (command == null) {
      throw new IllegalArgumentException("no command given; expected create, list or revoke");
    }
    if (data == null && !command.equals("help")) {
      throw new IllegalArgumentException("--data DIR is missing"); // Command adds the default
    }
    return switch (command) {
      case "help" -> new Line(command, data, null);
      case "create" -> {
        requireOperands(command, operands, 0);
        yield new Line(command, data, name);
      }
      case "list" -> {
        requireNoName(command, name);
        requireOperands(command, operands, 0);
        yield new Line(command, data, null);
      }
      case "revoke" -> {
        requireNoName(command, name);
        if (operands.isEmpty()) {
          throw new IllegalArgumentException("revoke needs the id or name of a key: loupe keys revoke ID|NAME");
        }
        requireOperands(command, operands, 1);
        yield new Line(command, data, operands.getFirst());
      }
      default -> throw new IllegalArgumentException("unknown command '" + command + "'; expected create, list or revoke");
    };
  }

  private static void requireOperands(String command, List<String> operands, int count) {
    if (operands.size() > count) {
      throw new IllegalArgumentException("unexpected argument '" + operands.get(count) + "' for " + command);
    }
  }

  private static void requireNoName(String command, String name) {
    if (name != null) {
      throw new IllegalArgumentException("--name is for create, not " + command);
    }
  }
}
