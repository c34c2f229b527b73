package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe keys create|list|revoke} through {@link Main#run}, and the key file they keep. */
class KeysCommandTest {

  @TempDir Path data;

  private record Output(int code, String out, String err) {
    String firstErrLine() {
      return err.lines().findFirst().orElse("");
    }
  }

  /** Runs {@code loupe ARGS} with {@code LOUPE_DATA} pointing at the test's data folder. */
  private Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = Main.run(args, Map.of("LOUPE_DATA", data.toString()), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static String idOf(String listing, String name) {
    return listing.lines().filter(l -> l.matches("[0-9a-f]{12}\\s+" + name + "\\s+.*")).findFirst()
        .orElseThrow(() -> new AssertionError("no key " + name + " in\n" + listing)).substring(0, 12);
  }

  @Test
  void create_prints_the_token_once_and_list_shows_id_name_and_time_but_never_the_token() throws Exception {
    Output created = run("keys", "create", "--name", "laptop");

    assertEquals(0, created.code(), created.err());
    String token = created.out().strip();
    assertTrue(token.matches("loupe_[A-Za-z0-9_-]{43}"), token);
    assertTrue(created.err().startsWith("created API key "), created.err());
    assertTrue(created.err().contains("(laptop) in " + data.resolve("keys.json")), created.err());
    assertTrue(created.err().contains("shown only this once"), created.err());

    Output listed = run("keys", "list");
    assertEquals(0, listed.code(), listed.err());
    assertTrue(listed.out().startsWith("ID            NAME    CREATED\n"), listed.out());
    String id = idOf(listed.out(), "laptop");
    Instant createdAt = Instant.parse(listed.out().lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow().split("\\s+")[2]);
    assertEquals(0, createdAt.getNano(), "to the second");
    assertFalse(listed.out().contains(token.substring(6)), listed.out());
    assertTrue(listed.out().contains("key file: " + data.resolve("keys.json")), listed.out());

    Output unnamed = run("keys", "create", "--data", data.toString());
    assertEquals(0, unnamed.code(), unnamed.err());
    assertNotEquals(token, unnamed.out().strip(), "every token is new");
    assertTrue(run("keys", "list").out().lines().anyMatch(l -> l.matches("[0-9a-f]{12}\\s+-\\s+\\S+Z")));
  }

  @Test
  void the_key_file_holds_only_the_tokens_sha256_and_is_readable_by_its_owner_only() throws Exception {
    String token = run("keys", "create", "--name", "ci").out().strip();
    Path file = data.resolve("keys.json");

    String text = Files.readString(file);
    assertFalse(text.contains(token.substring(6)), text);
    JsonNode root = new ObjectMapper().readTree(text);
    assertEquals("loupe-keys", root.get("format").asText());
    assertEquals(1, root.get("version").asInt());
    assertEquals(HexFormat.of().formatHex(ApiKeys.sha256(token)), root.at("/keys/0/sha256").asText());
    assertEquals("ci", root.at("/keys/0/name").asText());
    assertEquals(List.of("keys.json", "keys.lock"), Files.list(data).map(p -> p.getFileName().toString()).sorted().toList(),
        "no temporary file is left behind");

    assumeTrue(Files.getFileStore(data).supportsFileAttributeView("posix"), "no POSIX permissions on this file system");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    run("keys", "create");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "after a rewrite too");
  }

  @Test
  void revoke_takes_an_id_or_a_name() throws Exception {
    run("keys", "create", "--name", "one");
    run("keys", "create", "--name", "two");
    run("keys", "create", "--name", "three");
    String id = idOf(run("keys", "list").out(), "one");

    Output byId = run("keys", "revoke", id);
    assertEquals(0, byId.code(), byId.err());
    assertEquals("revoked API key " + id + " (one); a running server refuses its token from the next request", byId.out().strip());

    Output byName = run("keys", "revoke", "two");
    assertEquals(0, byName.code(), byName.err());

    String listing = run("keys", "list").out();
    assertFalse(listing.contains(" one "), listing);
    assertFalse(listing.contains(" two "), listing);
    idOf(listing, "three");
  }

  @Test
  void an_unknown_key_is_one_line_and_exit_1() throws Exception {
    run("keys", "create", "--name", "one");

    Output r = run("keys", "revoke", "0123456789ab");

    assertEquals(1, r.code());
    assertEquals("loupe keys: no API key has the id or name '0123456789ab' in " + data.resolve("keys.json")
        + "; ./loupe keys list shows them\n", r.err());
  }

  @Test
  void a_name_in_use_is_refused_and_no_key_is_made() throws Exception {
    run("keys", "create", "--name", "laptop");

    Output r = run("keys", "create", "--name", "laptop");

    assertEquals(1, r.code());
    assertEquals("", r.out(), "no token for a key that was not made");
    assertEquals("loupe keys: a key named 'laptop' exists already; choose another name or revoke it first\n", r.err());
    assertEquals(1, ApiKeys.in(data).list().size());
  }

  @Test
  void bad_names_are_refused_with_the_rule() throws Exception {
    assertEquals("loupe keys: key name 'my laptop' must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        run("keys", "create", "--name", "my laptop").firstErrLine());
    assertEquals("loupe keys: key name 'abcdef012345' looks like a key id (12 hex digits); choose another",
        run("keys", "create", "--name", "abcdef012345").firstErrLine());
  }

  @Test
  void a_damaged_key_file_is_named_in_one_line() throws Exception {
    Path file = data.resolve("keys.json");
    Files.writeString(file, "{not json");

    Output r = run("keys", "list");

    assertEquals(1, r.code());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.firstErrLine().startsWith("loupe keys: API key file " + file + " is damaged: it is not JSON"), r.err());
    assertTrue(r.firstErrLine().endsWith("move it away and create keys again with ./loupe keys create"), r.err());

    run("keys", "create", "--name", "x"); // refused: the file is not overwritten
    assertEquals("{not json", Files.readString(file));
  }

  @Test
  void an_edited_key_file_fails_its_checksum() throws Exception {
    run("keys", "create", "--name", "laptop");
    Path file = data.resolve("keys.json");
    Files.writeString(file, Files.readString(file).replace("laptop", "laptoq"));

    Output r = run("keys", "list");

    assertEquals(1, r.code());
    assertTrue(r.firstErrLine().contains("is damaged: its checksum"), r.err());
  }

  @Test
  void list_without_keys_says_how_to_make_one() throws Exception {
    Output r = run("keys", "list");

    assertEquals(0, r.code());
    assertEquals("no API keys in " + data.resolve("keys.json") + "; ./loupe keys create makes one\n", r.out());
  }

  @Test
  void a_bad_keys_command_line_exits_2_with_the_keys_usage() throws Exception {
    for (String[] args : new String[][] {
        {"keys"}, {"keys", "rotate"}, {"keys", "revoke"}, {"keys", "list", "extra"}, {"keys", "create", "--name"},
        {"keys", "list", "--name", "x"}, {"keys", "create", "--force"}}) {
      Output r = run(args);
      assertEquals(2, r.code(), String.join(" ", args));
      assertTrue(r.firstErrLine().startsWith("loupe keys: "), r.err());
      assertTrue(r.err().contains("Usage: loupe keys <command>"), r.err());
    }
    assertEquals("loupe keys: revoke needs the id or name of a key: loupe keys revoke ID|NAME",
        run("keys", "revoke").firstErrLine());
  }

  @Test
  void serving_beyond_loopback_without_a_key_exits_2_with_one_line() throws Exception {
    Output r = run("serve", "--host", "0.0.0.0", "--port", "0");

    assertEquals(2, r.code());
    assertEquals("loupe: host '0.0.0.0' is not a loopback address, so clients need an API key, but "
        + data.resolve("keys.json") + " holds none: run ./loupe keys create --data " + data
        + " first, or serve on 127.0.0.1\n", r.err());
    assertEquals("", r.out());
  }

  @Test
  void help_lists_the_keys_command() throws Exception {
    assertTrue(run("help").out().contains("keys create [--name NAME] | list | revoke ID|NAME"));
    assertEquals(0, run("keys", "help").code());
  }
}
