package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code <data>/serve.json}: written, read back, rejected when damaged, deleted only by its writer. */
class ServeFileTest {
  @TempDir Path data;

  private final ServeFile serve = new ServeFile(4242, URI.create("http://127.0.0.1:8123/"), Instant.parse("2026-01-02T03:04:05.123456789Z"));

  @Test
  void reads_back_what_was_written_and_leaves_no_temporary_file() throws IOException {
    serve.write(data);

    assertEquals(Optional.of(serve), ServeFile.read(data));
    try (var files = Files.list(data)) {
      assertEquals(java.util.List.of(data.resolve("serve.json")), files.toList());
    }
  }

  @Test
  void a_missing_file_reads_as_empty() throws IOException {
    assertEquals(Optional.empty(), ServeFile.read(data));
  }

  @Test
  void a_damaged_or_foreign_file_is_named_with_what_to_do() throws IOException {
    for (String content : new String[] {"{\"pid\": 1", "{\"format\":\"other\",\"version\":1}",
        "{\"format\":\"loupe-serve\",\"version\":2,\"pid\":1,\"url\":\"http://127.0.0.1:1/\",\"started\":\"2026-01-01T00:00:00Z\"}",
        "{\"format\":\"loupe-serve\",\"version\":1,\"pid\":1,\"url\":\"ftp://x/\",\"started\":\"2026-01-01T00:00:00Z\"}"}) {
      Files.writeString(data.resolve("serve.json"), content);

      IOException e = assertThrows(IOException.class, () -> ServeFile.read(data), content);

      assertTrue(e.getMessage().startsWith(data.resolve("serve.json").toString()), e.getMessage());
      assertTrue(e.getMessage().contains("delete it if no `loupe serve` runs on " + data), e.getMessage());
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
  }

  @Test
  void a_server_deletes_only_its_own_file() throws IOException {
    ServeFile other = new ServeFile(4243, URI.create("http://127.0.0.1:8124/"), Instant.parse("2026-01-02T03:04:06Z"));
    other.write(data);

    serve.deleteIfMine(data);
    assertTrue(Files.exists(data.resolve("serve.json")), "another server's file stays");

    other.deleteIfMine(data);
    assertFalse(Files.exists(data.resolve("serve.json")));
  }

  @Test
  void rejects_a_pid_or_url_that_cannot_be_a_server() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    assertThrows(IllegalArgumentException.class, () -> new ServeFile(0, URI.create("http://127.0.0.1:1/"), now));
    assertThrows(IllegalArgumentException.class, () -> new ServeFile(1, URI.create("http://127.0.0.1/"), now));
    assertThrows(IllegalArgumentException.class, () -> new ServeFile(1, URI.create("file:///tmp"), now));
  }

  @Test
  void a_wildcard_bind_address_is_reached_on_ipv4_loopback() {
    assertEquals(URI.create("http://127.0.0.1:8080/"), LoupeServer.localUrl(new InetSocketAddress("0.0.0.0", 8080)));
    assertEquals(URI.create("http://127.0.0.1:8080/"), LoupeServer.localUrl(new InetSocketAddress("::", 8080)));
    assertEquals(URI.create("http://127.0.0.1:8080/"), LoupeServer.localUrl(new InetSocketAddress("127.0.0.1", 8080)));
    assertEquals(URI.create("http://[0:0:0:0:0:0:0:1]:8080/"), LoupeServer.localUrl(new InetSocketAddress("::1", 8080)));
  }
}
