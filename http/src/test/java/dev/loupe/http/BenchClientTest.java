package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BenchClientTest {
  private HttpServer server;
  private URI base;
  private final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/fixed", ex -> {
      clientPorts.add(ex.getRemoteAddress().getPort());
      byte[] body = ("fixed " + ex.getRequestURI().getRawQuery() + " " + ex.getRequestHeaders().getFirst("Authorization"))
          .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    });
    server.createContext("/chunked", ex -> {
      ex.sendResponseHeaders(404, 0); // length 0: chunked transfer coding
      try (OutputStream out = ex.getResponseBody()) {
        for (int i = 0; i < 3; i++) {
          out.write(("part " + i + ";").getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      }
    });
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void answers_framed_by_length_or_by_chunks_arrive_whole_over_one_kept_alive_connection() throws IOException {
    try (BenchClient client = new BenchClient(base, "k1", 5_000)) {
      BenchClient.Response a = client.get("/fixed?q=a%20b");
      assertEquals(200, a.status());
      assertEquals("fixed q=a%20b Bearer k1", a.text());
      BenchClient.Response b = client.get("/chunked");
      assertEquals(404, b.status());
      assertEquals("part 0;part 1;part 2;", b.text());
      assertEquals("fixed q=2 Bearer k1", client.get("/fixed?q=2").text());
    }
    assertEquals(1, clientPorts.size(), "sequential requests reuse one connection: " + clientPorts);
  }

  @Test
  void a_connection_the_server_closed_is_replaced_and_a_dead_server_is_an_io_error() throws IOException {
    try (BenchClient client = new BenchClient(base, null, 5_000)) {
      assertEquals("fixed x null", client.get("/fixed?x").text());
      server.stop(0); // closes the kept-alive connection
      assertThrows(IOException.class, () -> client.get("/fixed?y"));
    }
    assertThrows(IllegalArgumentException.class, () -> new BenchClient(URI.create("https://127.0.0.1:1/"), null, 1_000));
  }
}
