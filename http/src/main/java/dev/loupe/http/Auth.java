package dev.loupe.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.ForbiddenResponse;
import io.javalin.http.ServiceUnavailableResponse;
import io.javalin.http.UnauthorizedResponse;
import io.javalin.router.Endpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer-token access control for a server bound beyond loopback: every route under {@code
 * /api/} and {@code /v1/}, and {@code /metrics}, needs {@code Authorization: Bearer TOKEN} with
 * the token of a key in {@link ApiKeys}.
 *
 * <ul>
 *   <li>No {@code Authorization} header, another scheme, or a token that is not an RFC 6750
 *       {@code b64token}: 401 with {@code WWW-Authenticate: Bearer realm="loupe"}, since the
 *       client has not authenticated yet.
 *   <li>A well-formed token that matches no key (never made, or revoked): 403. The client did
 *       present credentials; they grant nothing. (RFC 6750 would answer 401 {@code
 *       invalid_token}; the issue asks for both codes, and the split lets a client tell "send a
 *       key" from "this key is no good".)
 *   <li>{@code GET /api/health} without a header answers {@code {"status": "ok"}} and nothing
 *       else, so load balancers and uptime checks need no key; with a valid key it is the full
 *       health report (data folder, watch folders, counts), which is not for strangers.
 *   <li>Static files (the browser UI) are not routes and stay open; they hold no data.
 * </ul>
 *
 * <p>The decision looks at the path the matched route was declared with, not at the request's
 * URI, so no spelling of a URI ({@code //api}, percent-encoding) reaches a handler unchecked.
 * Token hashes are compared with {@link java.security.MessageDigest#isEqual} against every key.
 *
 * <p>Keys created or revoked while the server runs count from the next request: each request
 * stats the key file and reads it again when its file key (inode), modification time or size
 * changed; {@link ApiKeys} replaces the file by rename, so each change is a new inode.
 *
 * <p>Thread-safe: the parsed keys are an immutable snapshot swapped under a lock.
 */
final class Auth {
  private static final Logger log = LoggerFactory.getLogger(Auth.class);

  /** RFC 6750 section 2.1: {@code b64token}. */
  private static final Pattern B64TOKEN = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");

  static final String CHALLENGE = "Bearer realm=\"loupe\"";

  /** The file as last read: its identity, and its keys or why they could not be read. */
  private record Snapshot(Object fileKey, FileTime modified, long size, List<ApiKeys.Key> keys, String problem) {}

  /** {@code GET /api/health} for a client without a key. */
  record OpenHealth(String status) {}

  private final Path file;
  private volatile Snapshot snapshot;

  private Auth(Path file) {
    this.file = file;
  }

  /**
   * The access control {@code config} needs: null on loopback, where anyone who can connect is
   * already on this machine; bearer tokens elsewhere.
   *
   * @throws IllegalArgumentException when the host is not loopback and no key exists
   * @throws IOException when the key file cannot be read (the message names it)
   */
  static Auth forServer(ServerConfig config) throws IOException {
    if (config.loopback()) {
      return null;
    }
    ApiKeys keys = ApiKeys.in(config.dataDir());
    if (keys.list().isEmpty()) {
      throw new IllegalArgumentException(noKeysMessage(config));
    }
    Auth auth = new Auth(keys.file());
    auth.current(); // the first request should not pay for the parse
    return auth;
  }

  /** The line {@code loupe serve} prints when it must not bind beyond loopback: there is no key. */
  static String noKeysMessage(ServerConfig config) {
    return "host '" + config.host() + "' is not a loopback address, so clients need an API key, but "
        + config.dataDir().resolve(ApiKeys.FILE_NAME) + " holds none: run ./loupe keys create --data "
        + config.dataDir() + " first, or serve on 127.0.0.1";
  }

  /** Installs the check in front of every matched route. */
  static void routes(RoutesConfig routes, Auth auth) {
    routes.beforeMatched(auth::check);
  }

  void check(Context ctx) {
    Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
    if (endpoint == null || !protects(endpoint.path)) {
      return;
    }
    String header = ctx.header("Authorization");
    boolean health = endpoint.path.equals("/api/health");
    if (header == null && health) {
      ctx.json(new OpenHealth("ok"));
      ctx.skipRemainingHandlers();
      return;
    }
    if (header == null) {
      throw unauthorized(ctx, "this server needs an API key: send Authorization: Bearer TOKEN (./loupe keys create makes one)");
    }
    int space = header.indexOf(' ');
    if (space < 0 || !header.substring(0, space).equalsIgnoreCase("Bearer")) {
      throw unauthorized(ctx, "the Authorization header must be Bearer TOKEN");
    }
    String token = header.substring(space + 1).strip();
    if (!B64TOKEN.matcher(token).matches()) {
      throw unauthorized(ctx, "the bearer token is malformed");
    }
    Snapshot s = current();
    if (s.problem() != null) {
      throw new ServiceUnavailableResponse("the server cannot read its API key file; the server log says why");
    }
    byte[] hash = ApiKeys.sha256(token);
    boolean valid = false;
    for (ApiKeys.Key key : s.keys()) {
      valid |= key.matches(hash); // no early exit: the time does not depend on which key matched
    }
    if (!valid) {
      throw new ForbiddenResponse("the API key is not valid: unknown or revoked");
    }
  }

  /** Routes that answer data; everything else the server has is the static UI. */
  static boolean protects(String routePath) {
    return routePath.startsWith("/api/") || routePath.startsWith("/v1/") || routePath.equals("/metrics");
  }

  private static UnauthorizedResponse unauthorized(Context ctx, String message) {
    ctx.header("WWW-Authenticate", CHALLENGE);
    return new UnauthorizedResponse(message);
  }

  /** The keys as the file holds them now; reads it again only when it changed. */
  private Snapshot current() {
    Snapshot s = snapshot;
    BasicFileAttributes attributes = attributes();
    if (s != null && sameFile(s, attributes)) {
      return s;
    }
    synchronized (this) {
      s = snapshot;
      attributes = attributes();
      if (s != null && sameFile(s, attributes)) {
        return s;
      }
      // Attributes first, then the content: if the file changes in between, the content is the
      // newer one and the next request, seeing other attributes, reads it again.
      List<ApiKeys.Key> keys = List.of();
      String problem = null;
      try {
        keys = ApiKeys.read(file);
      } catch (IOException e) {
        problem = e.getMessage();
        log.error("refusing every request that needs an API key: {}", problem);
      }
      s = attributes == null
          ? new Snapshot(null, null, -1, keys, problem)
          : new Snapshot(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size(), keys, problem);
      if (snapshot != null && problem == null) {
        log.info("API keys reloaded from {}: {} key(s)", file, keys.size());
      }
      snapshot = s;
      return s;
    }
  }

  private BasicFileAttributes attributes() {
    try {
      return Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      return null; // read() will fail too and say why
    }
  }

  private static boolean sameFile(Snapshot s, BasicFileAttributes a) {
    if (a == null) {
      return s.modified() == null && s.problem() == null;
    }
    return Objects.equals(s.fileKey(), a.fileKey()) && a.lastModifiedTime().equals(s.modified()) && a.size() == s.size();
  }
}
