package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The API keys of one data folder: the file {@code <data>/keys.json}, which holds for each key an
 * id, an optional name, its creation time and the SHA-256 of its bearer token, never the token.
 *
 * <p>A token is {@code loupe_} followed by 32 bytes from {@link SecureRandom} in unpadded
 * base64url. Its hash is a plain, unsalted SHA-256: salts and slow hashes protect guessable
 * secrets (passwords) against dictionaries and precomputed tables, and a 256-bit random token has
 * nothing to guess, so someone who reads the file still faces a 2<sup>256</sup> preimage search.
 * A pepper would only help if it were kept somewhere the file is not; there is no such place on
 * a single-machine appliance.
 *
 * <p>File format (JSON): {@code {"format": "loupe-keys", "version": 1, "keys": [{"id", "name",
 * "sha256", "created"}...], "crc32c": "8 hex digits"}}, the checksum taken over the compact JSON
 * of {@code keys}. Every change writes a new file, owner-only ({@code rw-------}) where the file
 * system has POSIX permissions, and renames it over the old one, so a reader (the running
 * server) sees the old keys or the new ones, never half a file. Changes from several processes
 * are serialized by a lock on {@code <data>/keys.lock}.
 *
 * <p>Thread-safe: every method reads or rewrites the file; writers in one JVM are serialized too.
 */
public final class ApiKeys {

  /** The key file's name inside the data folder. */
  public static final String FILE_NAME = "keys.json";

  static final String TOKEN_PREFIX = "loupe_";
  private static final String FORMAT = "loupe-keys";
  private static final int VERSION = 1;
  private static final Pattern ID = Pattern.compile("[0-9a-f]{12}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Threads of one JVM; {@link FileLock} only serializes processes. */
  private static final Object WRITERS = new Object();

  /**
   * One key as the file records it.
   *
   * @param id 12 lowercase hex digits, random
   * @param name what the owner calls it, or null; unique among the keys when present
   * @param sha256 the SHA-256 of the token's UTF-8 bytes, 32 bytes
   * @param created when it was made, to the second
   */
  public record Key(String id, String name, byte[] sha256, Instant created) {
    public Key {
      if (id == null || !ID.matcher(id).matches()) {
        throw new IllegalArgumentException("key id '" + id + "' is not 12 lowercase hex digits");
      }
      if (name != null) {
        requireValidName(name);
      }
      if (sha256 == null || sha256.length != 32) {
        throw new IllegalArgumentException("key " + id + " needs a 32-byte SHA-256");
      }
      if (created == null) {
        throw new IllegalArgumentException("key " + id + " needs a creation time");
      }
      sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
      return sha256.clone();
    }

    /** Whether {@code hash} is this key's token hash; takes the same time wherever they differ. */
    boolean matches(byte[] hash) {
      return MessageDigest.isEqual(sha256, hash);
    }

    /** The name, or the id for a key without one. */
    String label() {
      return name != null ? name : id;
    }
  }

  /** A key just made, with its token: the only time the token exists outside its holder. */
  public record Created(Key key, String token) {}

  private final Path file;
  private final Path lockFile;
  private final SecureRandom random;
  private final Clock clock;

  ApiKeys(Path dataDir, SecureRandom random, Clock clock) {
    this.file = dataDir.resolve(FILE_NAME);
    this.lockFile = dataDir.resolve("keys.lock");
    this.random = random;
    this.clock = clock;
  }

  /** The keys of {@code dataDir}; nothing is read until a method asks. */
  public static ApiKeys in(Path dataDir) {
    return new ApiKeys(dataDir.toAbsolutePath().normalize(), new SecureRandom(), Clock.systemUTC());
  }

  /** {@code <data>/keys.json}. */
  public Path file() {
    return file;
  }

  /** The keys in creation order; none when the file does not exist. */
  public List<Key> list() throws IOException {
    return read(file);
  }

  /**
   * Makes a key, records its hash and returns its token.
   *
   * @param name null for none; otherwise 1 to 64 letters, digits, {@code . _ @ -}, starting with
   *     a letter or digit, not 12 hex digits (that is an id), and not used by another key
   * @throws IllegalArgumentException for a bad or duplicate name
   */
  public Created create(String name) throws IOException {
    if (name != null) {
      requireValidName(name);
    }
    return update(keys -> {
      if (name != null && keys.stream().anyMatch(k -> name.equals(k.name()))) {
        throw new IllegalArgumentException("a key named '" + name + "' exists already; choose another name or revoke it first");
      }
      String id;
      do {
        byte[] idBytes = new byte[6];
        random.nextBytes(idBytes);
        id = HexFormat.of().formatHex(idBytes);
      } while (find(keys, id) != null);
      byte[] secret = new byte[32];
      random.nextBytes(secret);
      String token = TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
      Key key = new Key(id, name, sha256(token), clock.instant().truncatedTo(ChronoUnit.SECONDS));
      keys.add(key);
      return new Created(key, token);
    });
  }

  /**
   * Deletes the key with this id or, failing that, this name; its token stops working at the
   * running server's next request.
   *
   * @throws IllegalArgumentException when no key has that id or name
   */
  public Key revoke(String idOrName) throws IOException {
    return update(keys -> {
      Key key = find(keys, idOrName);
      if (key == null) {
        throw new IllegalArgumentException(
            "no API key has the id or name '" + idOrName + "' in " + file + "; ./loupe keys list shows them");
      }
      keys.remove(key);
      return key;
    });
  }

  /** SHA-256 of the token's UTF-8 bytes, as the file stores it. */
  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  private static Key find(List<Key> keys, String idOrName) {
    for (Key k : keys) {
      if (k.id().equals(idOrName)) {
        return k;
      }
    }
    for (Key k : keys) {
      if (idOrName.equals(k.name())) {
        return k;
      }
    }
    return null;
  }

  private static void requireValidName(String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "key name '" + name + "' must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");
    }
    if (ID.matcher(name).matches()) {
      throw new IllegalArgumentException("key name '" + name + "' looks like a key id (12 hex digits); choose another");
    }
  }

  private interface Change<T> {
    T apply(List<Key> keys);
  }

  private <T> T update(Change<T> change) throws IOException {
    Files.createDirectories(file.getParent());
    synchronized (WRITERS) {
      try (FileChannel lock = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock _ = lock.lock()) {
        List<Key> keys = new ArrayList<>(read(file));
        T result = change.apply(keys);
        write(keys);
        return result;
      }
    }
  }

  /** Reads {@code file}; an absent file holds no keys. */
  static List<Key> read(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JacksonException e) {
      throw damaged(file, "it is not JSON (" + e.getOriginalMessage() + ")");
    }
    if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
      throw damaged(file, "it is not a Loupe key file (no \"format\": \"" + FORMAT + "\")");
    }
    if (root.path("version").asInt(-1) != VERSION) {
      throw damaged(file, "its version " + root.get("version") + " is not " + VERSION + ", the one this Loupe reads");
    }
    JsonNode keys = root.get("keys");
    if (keys == null || !keys.isArray()) {
      throw damaged(file, "it has no \"keys\" list");
    }
    String crc = crc32c(keys);
    if (!crc.equals(root.path("crc32c").asText(null))) {
      throw damaged(file, "its checksum " + root.get("crc32c") + " does not match its keys (" + crc + ")");
    }
    List<Key> out = new ArrayList<>(keys.size());
    for (JsonNode k : keys) {
      String id = k.path("id").asText(null);
      String sha = k.path("sha256").asText("");
      if (!SHA256_HEX.matcher(sha).matches()) {
        throw damaged(file, "key " + id + " has no 64-hex-digit sha256");
      }
      try {
        JsonNode name = k.get("name");
        out.add(new Key(id, name == null || name.isNull() ? null : name.asText(), HexFormat.of().parseHex(sha),
            Instant.parse(k.path("created").asText(""))));
      } catch (IllegalArgumentException | DateTimeParseException e) {
        throw damaged(file, e.getMessage());
      }
    }
    return List.copyOf(out);
  }

  private static IOException damaged(Path file, String why) {
    return new IOException("API key file " + file + " is damaged: " + why
        + "; move it away and create keys again with ./loupe keys create");
  }

  private void write(List<Key> keys) throws IOException {
    ArrayNode array = JSON.createArrayNode();
    for (Key k : keys) {
      ObjectNode node = array.addObject();
      node.put("id", k.id());
      node.put("name", k.name());
      node.put("sha256", HexFormat.of().formatHex(k.sha256));
      node.put("created", k.created().toString());
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("version", VERSION);
    root.set("keys", array);
    root.put("crc32c", crc32c(array));
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);

    Path dir = file.getParent();
    Path tmp = Files.createTempFile(dir, "keys", ".json.tmp", ownerOnly(dir));
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
          ch.write(buffer);
        }
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** {@code rw-------} where the file system has POSIX permissions; none elsewhere (Windows ACLs inherit the folder's). */
  private static FileAttribute<?>[] ownerOnly(Path dir) throws IOException {
    FileStore store = Files.getFileStore(dir);
    if (!store.supportsFileAttributeView("posix")) {
      return new FileAttribute<?>[0];
    }
    Set<PosixFilePermission> rw = PosixFilePermissions.fromString("rw-------");
    return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(rw)};
  }

  private static String crc32c(JsonNode keys) throws IOException {
    CRC32C crc = new CRC32C();
    crc.update(JSON.writeValueAsBytes(keys));
    return String.format("%08x", crc.getValue());
  }
}
