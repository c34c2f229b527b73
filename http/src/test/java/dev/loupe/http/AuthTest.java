package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real server (Main's composition, a data folder without models) bound beyond loopback: which
 * requests need a bearer token, the 401/403 split, and keys revoked while it runs.
 */
class AuthTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;

  /** A response: status, headers of interest and body. */
  private record Answer(int status, Optional<String> challenge, Optional<String> allowOrigin, String body) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }
  }

  private static Answer get(URI base, String path, String authorization) throws Exception {
    return send(base, path, "GET", authorization, null);
  }

  private static Answer send(URI base, String path, String method, String authorization, String origin) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).method(method, HttpRequest.BodyPublishers.noBody());
      if (authorization != null) {
        request.header("Authorization", authorization);
      }
      if (origin != null) {
        request.header("Origin", origin);
      }
      HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.headers().firstValue("WWW-Authenticate"),
          r.headers().firstValue("Access-Control-Allow-Origin"), r.body());
    }
  }

  private LoupeServer serve(String host) throws IOException {
    return Main.start(new ServerConfig(host, 0, data, data.resolve("inbox")));
  }

  /** The server behind {@code 0.0.0.0}, reached through loopback: the peer is local, the bind address is not. */
  private static URI viaLoopback(LoupeServer server) {
    return URI.create("http://127.0.0.1:" + server.port() + "/");
  }

  private static void assertUnauthorized(Answer a, String message) throws IOException {
    assertEquals(401, a.status(), a.body());
    assertEquals(Optional.of("Bearer realm=\"loupe\""), a.challenge());
    assertEquals(401, a.json().get("status").asInt());
    assertEquals(message, a.json().get("error").asText());
  }

  private static void assertForbidden(Answer a) throws IOException {
    assertEquals(403, a.status(), a.body());
    assertEquals(403, a.json().get("status").asInt());
    assertEquals("the API key is not valid: unknown or revoked", a.json().get("error").asText());
  }

  @Test
  void a_server_bound_to_every_interface_needs_a_bearer_token_even_from_loopback() throws Exception {
    ApiKeys keys = ApiKeys.in(data);
    String token = keys.create("laptop").token();
    String other = ApiKeys.in(Files.createDirectories(data.resolve("elsewhere"))).create(null).token();

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);

      assertUnauthorized(get(base, "/api/ingest/status", null),
          "this server needs an API key: send Authorization: Bearer TOKEN (./loupe keys create makes one)");
      assertUnauthorized(get(base, "/api/ingest/status", "Basic " + token), "the Authorization header must be Bearer TOKEN");
      assertUnauthorized(get(base, "/api/ingest/status", "Bearer"), "the Authorization header must be Bearer TOKEN");
      assertUnauthorized(get(base, "/api/ingest/status", "Bearer not a token"), "the bearer token is malformed");
      assertForbidden(get(base, "/api/ingest/status", "Bearer " + other));
      char last = token.charAt(token.length() - 1);
      String altered = token.substring(0, token.length() - 1) + (last == 'A' ? 'B' : 'A'); // one character off, whatever the last one is
      assertForbidden(get(base, "/api/ingest/status", "Bearer " + altered));
      assertForbidden(send(base, "/api/ingest/pause", "POST", "Bearer " + other, null));

      Answer ok = get(base, "/api/ingest/status", "Bearer " + token);
      assertEquals(200, ok.status(), ok.body());
      assertEquals("running", ok.json().get("state").asText());
      assertEquals(200, get(base, "/api/ingest/status", "bearer " + token).status(), "the scheme is case-insensitive");
    }
  }

  @Test
  void revoking_a_key_while_the_server_runs_locks_its_token_out_at_the_next_request() throws Exception {
    ApiKeys keys = ApiKeys.in(data);
    String first = keys.create("first").token();
    String second = keys.create("second").token();

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);
      assertEquals(200, get(base, "/api/ingest/status", "Bearer " + first).status());

      keys.revoke("first");

      assertForbidden(get(base, "/api/ingest/status", "Bearer " + first));
      assertEquals(200, get(base, "/api/ingest/status", "Bearer " + second).status(), "other keys keep working");

      String third = keys.create("third").token();
      assertEquals(200, get(base, "/api/ingest/status", "Bearer " + third).status(), "a new key works at once");

      Files.delete(keys.file());
      assertForbidden(get(base, "/api/ingest/status", "Bearer " + second));
    }
  }

  @Test
  void a_damaged_key_file_refuses_every_token_until_it_is_fixed() throws Exception {
    ApiKeys keys = ApiKeys.in(data);
    String token = keys.create("laptop").token();
    String good = Files.readString(keys.file());

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);
      Files.writeString(keys.file(), good.replace("laptop", "laptoq"));

      Answer refused = get(base, "/api/ingest/status", "Bearer " + token);
      assertEquals(503, refused.status(), refused.body());
      assertEquals(503, refused.json().get("status").asInt());
      assertTrue(refused.json().get("error").asText().contains("API key file"), refused.body());

      Files.writeString(keys.file(), good);
      assertEquals(200, get(base, "/api/ingest/status", "Bearer " + token).status());
    }
  }

  @Test
  void health_without_a_key_says_only_ok_and_with_one_the_whole_report() throws Exception {
    String token = ApiKeys.in(data).create(null).token();

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);

      Answer open = get(base, "/api/health", null);
      assertEquals(200, open.status(), open.body());
      assertEquals("{\"status\":\"ok\"}", open.body());

      Answer full = get(base, "/api/health", "Bearer " + token);
      assertEquals(200, full.status());
      assertEquals(data.toString(), full.json().get("data").asText());

      assertForbidden(get(base, "/api/health", "Bearer " + token + "x"));
    }
  }

  @Test
  void other_spellings_of_a_protected_path_do_not_slip_past() throws Exception {
    ApiKeys.in(data).create(null);

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);
      for (String path : new String[] {"/api/ingest/status/", "//api/ingest/status", "/api//ingest/status",
          "/%61pi/ingest/status", "/api/ingest/%73tatus", "/api/./ingest/status", "/x/../api/ingest/status",
          "/api/ingest/status;x=1", "/API/ingest/status", "/v1/models", "/metrics"}) {
        int status = rawStatus(server.port(), "GET " + path + " HTTP/1.1");
        assertNotEquals(200, status, path);
        assertFalse(status >= 500, path + " answered " + status);
      }
      assertUnauthorized(get(base, "/api/ingest/status/", null),
          "this server needs an API key: send Authorization: Bearer TOKEN (./loupe keys create makes one)");
    }
  }

  /** Sends one request line as written (HttpClient would normalize it) and returns the status. */
  private static int rawStatus(int port, String requestLine) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      OutputStream out = socket.getOutputStream();
      out.write((requestLine + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      assertTrue(head.startsWith("HTTP/1.1 "), requestLine + " got " + head);
      return Integer.parseInt(head.substring(9, 12));
    }
  }

  @Test
  void no_cors_headers_are_sent_to_a_cross_origin_request() throws Exception {
    String token = ApiKeys.in(data).create(null).token();

    try (LoupeServer server = serve("0.0.0.0")) {
      URI base = viaLoopback(server);
      Answer answer = send(base, "/api/ingest/status", "GET", "Bearer " + token, "https://evil.example");
      assertEquals(200, answer.status());
      assertEquals(Optional.empty(), answer.allowOrigin());

      Answer preflight = send(base, "/api/ingest/status", "OPTIONS", null, "https://evil.example");
      assertEquals(Optional.empty(), preflight.allowOrigin(), "preflight answered " + preflight.status());
    }
    try (LoupeServer server = serve("127.0.0.1")) {
      Answer answer = send(server.url(), "/api/health", "GET", null, "https://evil.example");
      assertEquals(200, answer.status());
      assertEquals(Optional.empty(), answer.allowOrigin());
    }
  }

  @Test
  void a_server_on_a_lan_address_needs_a_key() throws Exception {
    InetAddress lan = nonLoopbackAddress();
    assumeTrue(lan != null, "this machine has no non-loopback IPv4 interface that is up; skipping the LAN-address test");
    String token = ApiKeys.in(data).create("lan").token();

    try (LoupeServer server = serve(lan.getHostAddress())) {
      assertEquals(lan, server.address().getAddress());
      URI base = server.url();

      assertUnauthorized(get(base, "/api/ingest/status", null),
          "this server needs an API key: send Authorization: Bearer TOKEN (./loupe keys create makes one)");
      assertForbidden(get(base, "/api/ingest/status", "Bearer " + token + "x"));
      assertEquals(200, get(base, "/api/ingest/status", "Bearer " + token).status());
    }
  }

  private static InetAddress nonLoopbackAddress() throws SocketException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress address : Collections.list(nic.getInetAddresses())) {
        if (address instanceof Inet4Address && !address.isLoopbackAddress() && !address.isLinkLocalAddress()) {
          return address;
        }
      }
    }
    return null;
  }

  @Test
  void on_loopback_no_key_is_needed_even_when_keys_exist() throws Exception {
    ApiKeys.in(data).create(null);

    try (LoupeServer server = serve("127.0.0.1")) {
      Answer answer = get(server.url(), "/api/ingest/status", null);
      assertEquals(200, answer.status(), answer.body());
    }
  }

  @Test
  void starting_beyond_loopback_without_a_key_is_refused_before_binding() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> serve("0.0.0.0"));

    assertEquals("host '0.0.0.0' is not a loopback address, so clients need an API key, but "
        + data.resolve("keys.json") + " holds none: run ./loupe keys create --data " + data
        + " first, or serve on 127.0.0.1", e.getMessage());
  }

  @Test
  void only_data_routes_are_protected() {
    assertTrue(Auth.protects("/api/health"));
    assertTrue(Auth.protects("/api/items/{id}"));
    assertTrue(Auth.protects("/v1/embeddings"));
    assertTrue(Auth.protects("/metrics"));
    assertFalse(Auth.protects("/"));
    assertFalse(Auth.protects("/openapi.json"));
  }
}
