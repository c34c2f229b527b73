package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile paths against the real server on a loopback port, over a data folder with a real
 * ingested text file: item ids that spell paths, the browser UI's static files asked for with
 * {@code ..} in every spelling, and symbolic links that point out of the watch folder. Requests
 * go out as raw request lines on a plain socket, so no client normalizes them first. Nothing may
 * answer with a file that is neither indexed content nor a UI asset.
 */
class PathSafetyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "pathsafety-secret-7c1e: this file lies outside every root";

  private record Answer(int status, String head, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.ISO_8859_1);
    }
  }

  /** One request, the request line sent byte for byte as given. */
  private static Answer raw(LoupeServer server, String target) throws IOException {
    try (Socket socket = new Socket(server.address().getAddress(), server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      byte[] all;
      try (InputStream in = socket.getInputStream()) {
        all = in.readAllBytes();
      }
      String response = new String(all, StandardCharsets.ISO_8859_1);
      int end = response.indexOf("\r\n\r\n");
      assertTrue(response.startsWith("HTTP/1.1 ") && end > 0, "not an HTTP response to " + target + ": " + response);
      int status = Integer.parseInt(response.substring(9, 12));
      byte[] body = java.util.Arrays.copyOfRange(all, end + 4, all.length);
      return new Answer(status, response.substring(0, end), body);
    }
  }

  /** The first line of /etc/passwd that names root, as this machine has it; null when there is none to read. */
  private static String passwdRoot() throws IOException {
    Path passwd = Path.of("/etc/passwd");
    if (!Files.isReadable(passwd)) return null;
    return Files.readAllLines(passwd).stream().filter(l -> l.startsWith("root:")).findFirst().orElse(null);
  }

  private static JsonNode search(LoupeServer server, String q) throws IOException {
    Answer a = raw(server, "/api/search?q=" + URLEncoder.encode(q, StandardCharsets.UTF_8) + "&k=50");
    assertEquals(200, a.status(), a.text());
    return JSON.readTree(dechunk(a));
  }

  /** The body, with chunked transfer coding removed when the server used it. */
  private static String dechunk(Answer a) {
    String body = new String(a.body(), StandardCharsets.UTF_8);
    if (!a.head().toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) return body;
    StringBuilder out = new StringBuilder();
    int at = 0;
    while (true) {
      int eol = body.indexOf("\r\n", at);
      int size = Integer.parseInt(body.substring(at, eol).strip(), 16);
      if (size == 0) return out.toString();
      out.append(body, eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  private static void assertRefused(Answer a, String target, Set<Integer> allowed, String... forbidden) {
    assertTrue(allowed.contains(a.status()), target + " answered " + a.status() + ": " + a.text());
    for (String f : forbidden) {
      if (f != null) assertFalse(a.text().contains(f), target + " served a file outside the roots: " + a.text());
    }
  }

  @Test
  void item_ids_that_spell_paths_are_unknown_items_and_serve_no_file(@TempDir Path tmp) throws Exception {
    String root = passwdRoot();
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
    Path outside = Files.writeString(tmp.resolve("outside.txt"), SECRET);
    Fixtures.ingest(data, inbox);

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      JsonNode hits = search(server, "harbour master").get("hits");
      assertEquals(1, hits.size(), hits.toString());
      String id = hits.get(0).get("id").asText();
      String sha = id.substring(0, id.indexOf('#'));
      Answer real = raw(server, "/api/items/" + sha + "%230/content");
      assertEquals(200, real.status(), "the indexed file itself is served: " + real.text());
      assertTrue(real.text().contains("harbour master"), real.text());

      String abs = outside.toString();
      List<String> ids = new ArrayList<>(List.of(
          "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "..%252F..%252Fetc%252Fpasswd",
          "..%5C..%5Cetc%5Cpasswd", "..\\..\\etc\\passwd", "%2Fetc%2Fpasswd", "%2F%2Fetc%2Fpasswd",
          URLEncoder.encode(abs, StandardCharsets.UTF_8), "file:%2F%2F%2Fetc%2Fpasswd",
          "%00", sha + "%00", sha + "%230%00..%2F..%2Fetc%2Fpasswd", sha + "%23..%2F..%2Fetc%2Fpasswd",
          sha + "%230%2F..%2F..%2F..%2Fetc%2Fpasswd", sha + "%23-1", sha + "%239999999999", sha.toUpperCase() + "%230",
          "a".repeat(4000), sha + "%230" + "%2F..".repeat(500)));
      Set<Integer> refused = Set.of(400, 404);
      for (String hostile : ids) {
        for (String suffix : List.of("", "/content", "/thumbnail")) {
          String target = "/api/items/" + hostile + suffix;
          assertRefused(raw(server, target), target, refused, root, SECRET);
        }
      }
      // Beyond the header limits Jetty answers before any route: 414 or 431, still no file.
      String huge = "/api/items/" + "..%2F".repeat(6000) + "etc%2Fpasswd/content";
      assertRefused(raw(server, huge), "a 30 kB id", Set.of(400, 404, 414, 431), root, SECRET);
      // The path segments around the id, too: ../ that climbs out of /api/items/ lands on no route.
      for (String target : List.of("/api/items/../../etc/passwd", "/api/items/%2e%2e/%2e%2e/etc/passwd",
          "/api/items/x/../../../etc/passwd/content", "/api/items//etc/passwd/content")) {
        assertRefused(raw(server, target), target, refused, root, SECRET);
      }
    } finally {
      server.close();
    }
  }

  @Test
  void the_browser_ui_serves_its_own_assets_and_nothing_above_them(@TempDir Path tmp) throws Exception {
    String root = passwdRoot();
    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, tmp.resolve("data"), tmp.resolve("watch")));
    try {
      Answer page = raw(server, "/index.html");
      assertEquals(200, page.status(), page.text());
      // Class-path resources next to the UI's folder must stay out of reach too.
      String properties = "Filled in by Maven resource filtering";
      String serverClass = "dev/loupe/http/LoupeServer";
      for (String target : List.of("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%5c..%5cetc/passwd", "/..%2F..%2Fetc%2Fpasswd",
          "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/....//....//etc/passwd", "/..\\..\\etc\\passwd", "//etc/passwd", "/etc/passwd",
          "/file:///etc/passwd", "/%252e%252e/%252e%252e/etc/passwd", "/index.html%00/../../etc/passwd",
          "/..;/..;/etc/passwd", "/./../.././etc/passwd",
          "/../../http/loupe.properties", "/%2e%2e/%2e%2e/http/loupe.properties", "/..%2F..%2Fhttp%2Floupe.properties",
          "/..%5c..%5chttp%5cloupe.properties", "/../../../../../dev/loupe/http/loupe.properties",
          "/../../http/LoupeServer.class", "/%2e%2e/%2e%2e/http/LoupeServer.class")) {
        assertRefused(raw(server, target), target, Set.of(400, 404), root, properties, serverClass);
      }
    } finally {
      server.close();
    }
  }

  @Test
  void a_symbolic_link_out_of_the_watch_folder_is_not_ingested_and_its_target_is_not_served(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Path outside = Files.writeString(tmp.resolve("outside.txt"), SECRET);
    Files.writeString(inbox.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
    try {
      Files.createSymbolicLink(inbox.resolve("secret.txt"), outside);
      Files.createSymbolicLink(inbox.resolve("passwd.txt"), Path.of("/etc/passwd"));
      Files.createSymbolicLink(inbox.resolve("up"), tmp);
    } catch (UnsupportedOperationException | IOException e) {
      assumeTrue(false, "this file system cannot make symbolic links: " + e);
    }
    Fixtures.ingest(data, inbox);
    String root = passwdRoot();

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      assertEquals(0, search(server, "pathsafety secret outside roots").get("hits").size(), "the link's target was indexed");
      if (root != null) assertEquals(0, search(server, "root bin bash").get("hits").size(), "/etc/passwd was indexed");
      JsonNode hits = search(server, "harbour master").get("hits");
      assertEquals(1, hits.size(), "only the real file, not again through the link to its folder: " + hits);
      String id = hits.get(0).get("id").asText();
      Answer content = raw(server, "/api/items/" + id.replace("#", "%23") + "/content");
      assertEquals(200, content.status(), content.text());
      assertArrayEquals(Files.readAllBytes(inbox.resolve("harbour.txt")), content.body());
    } finally {
      server.close();
    }
  }

  @Test
  void an_indexed_file_replaced_by_a_link_out_of_the_roots_is_not_served_through_it(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Path outside = Files.writeString(tmp.resolve("outside.txt"), SECRET);
    Path file = Files.writeString(inbox.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
    Fixtures.ingest(data, inbox);
    // While no watcher looks (the server watches another folder), the file becomes a link out.
    Files.delete(file);
    try {
      Files.createSymbolicLink(file, outside);
    } catch (UnsupportedOperationException | IOException e) {
      assumeTrue(false, "this file system cannot make symbolic links: " + e);
    }

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      JsonNode hits = search(server, "harbour master").get("hits");
      assertEquals(1, hits.size(), hits.toString());
      String id = hits.get(0).get("id").asText();
      Answer content = raw(server, "/api/items/" + id.replace("#", "%23") + "/content");
      assertRefused(content, "the content of an item whose file is now a link", Set.of(404), SECRET);
    } finally {
      server.close();
    }
  }

  @Test
  void an_indexed_folder_replaced_by_a_link_out_of_the_roots_is_not_served_through_it(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Path folder = Files.createDirectories(inbox.resolve("reports"));
    Files.writeString(folder.resolve("harbour.txt"), "The harbour master counts the fishing boats at dawn.");
    Fixtures.ingest(data, inbox);
    // The folder is moved away and a link to a folder outside the roots takes its name, where a
    // file of the same name holds a secret: the recorded path now reaches it through the link.
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    Files.writeString(elsewhere.resolve("harbour.txt"), SECRET);
    Files.move(folder, tmp.resolve("moved-away"));
    try {
      Files.createSymbolicLink(folder, elsewhere);
    } catch (UnsupportedOperationException | IOException e) {
      assumeTrue(false, "this file system cannot make symbolic links: " + e);
    }

    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    try {
      JsonNode hits = search(server, "harbour master").get("hits");
      assertEquals(1, hits.size(), hits.toString());
      String id = hits.get(0).get("id").asText();
      Answer content = raw(server, "/api/items/" + id.replace("#", "%23") + "/content");
      assertRefused(content, "the content of an item whose folder is now a link", Set.of(404), SECRET);
    } finally {
      server.close();
    }
  }
}
