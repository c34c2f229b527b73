package dev.loupe.http;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;

/**
 * How {@code loupe serve} runs: the address it listens on and the folders it uses.
 *
 * <p>On a loopback host ({@code 127.0.0.1}, {@code ::1}, {@code localhost}) the API is open to
 * this machine. Any other host ({@code 0.0.0.0}, a LAN address) is served only when the data
 * folder has API keys, and then every data route needs one (see {@link Auth}); this record only
 * says which case applies ({@link #loopback}), the server checks the keys. There is
 * deliberately no {@code --allow-remote} switch: one flag should not be all that stands between
 * a private library and the network.
 *
 * @param host a name or an address to listen on; a name must resolve
 * @param port TCP port in {@code [0, 65535]}; 0 asks the system for a free one
 * @param dataDir where the index and models live; made absolute
 * @param watchDirs the folders whose files get indexed (at least one); made absolute, duplicates dropped
 */
public record ServerConfig(String host, int port, Path dataDir, List<Path> watchDirs) {

  /** Listen on IPv4 loopback unless told otherwise. */
  public static final String DEFAULT_HOST = "127.0.0.1";

  /** The port {@code loupe serve} uses without {@code --port}. */
  public static final int DEFAULT_PORT = 8080;

  public ServerConfig {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host '" + host + "' must not be blank");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " is outside [0, 65535]");
    }
    resolve(host);
    if (dataDir == null) {
      throw new IllegalArgumentException("data directory must not be null");
    }
    if (watchDirs == null || watchDirs.isEmpty() || watchDirs.contains(null)) {
      throw new IllegalArgumentException("at least one watch directory is needed, got " + watchDirs);
    }
    dataDir = dataDir.toAbsolutePath().normalize();
    watchDirs = watchDirs.stream().map(w -> w.toAbsolutePath().normalize()).distinct().toList();
  }

  /** One watch folder. */
  public ServerConfig(String host, int port, Path dataDir, Path watchDir) {
    this(host, port, dataDir, java.util.Collections.singletonList(watchDir));
  }

  /** Default host and port, and the watch folder {@code <dataDir>/inbox}. */
  public static ServerConfig defaults(Path dataDir) {
    return new ServerConfig(DEFAULT_HOST, DEFAULT_PORT, dataDir, defaultWatchDir(dataDir));
  }

  /** {@code <dataDir>/inbox}: where files dropped for indexing go unless {@code --watch} says. */
  public static Path defaultWatchDir(Path dataDir) {
    return dataDir.resolve("inbox");
  }

  /**
   * Whether every address the host resolves to is a loopback address; {@code 0.0.0.0} and
   * {@code ::} (every interface) are not.
   */
  public boolean loopback() {
    for (InetAddress address : resolve(host)) {
      if (!address.isLoopbackAddress()) {
        return false;
      }
    }
    return true;
  }

  private static InetAddress[] resolve(String host) {
    try {
      // IP literals are parsed, not looked up; only a name costs a resolver call.
      return InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("host '" + host + "' cannot be resolved", e);
    }
  }
}
