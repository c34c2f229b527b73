package dev.loupe.embeddings.model;

import dev.loupe.embeddings.model.ModelManifest.ModelFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Installs, checks and removes the embedding models under one models folder ({@code
 * <data>/models}): downloads with resume and sha256 verification ({@link #pull}), installs files
 * copied by hand ({@link #importFrom}), and tells whether a model is usable ({@link #status},
 * {@link #installedModel}).
 *
 * <p>Layout of the models folder:
 *
 * <pre>
 *   NAME/model.json, NAME/...   an installed model; appears whole or not at all (one rename)
 *   NAME/.verified              which files hashed right, by size and time ({@link VerificationCache})
 *   .partial/NAME/              a pull or import in progress; the next pull resumes from it
 *   .locks/NAME.lock            held while a process installs or removes NAME
 *   .trash/                     replaced or removed models on their way out
 * </pre>
 *
 * <p>Thread-safe. Whatever changes a model holds that model's file lock, which also keeps out
 * other processes; a second pull of the same model fails at once with a message rather than
 * waiting. Reads take no lock: they see the old folder or the new one, never half of one.
 */
public final class ModelManager {

  /** The command line prefix that messages tell users to run. */
  public static final String COMMAND = "./loupe models";

  /** The models folder's name inside the data folder. */
  public static final String FOLDER = "models";

  private static final String PARTIAL = ".partial";
  private static final String LOCKS = ".locks";
  private static final String TRASH = ".trash";
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  /**
   * How downloads behave.
   *
   * @param connectTimeout how long to wait for a TCP connection
   * @param idleTimeout how long a response may send nothing (headers or body) before the
   *     connection counts as cut
   * @param attempts tries per file; a cut connection resumes where it stopped
   * @param retryDelay the pause before the second try, doubled for each further one (at most 30 s)
   */
  public record Options(Duration connectTimeout, Duration idleTimeout, int attempts, Duration retryDelay) {
    public Options {
      if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("connect timeout " + connectTimeout + " must be positive");
      }
      if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("idle timeout " + idleTimeout + " must be positive");
      }
      if (attempts < 1 || attempts > 100) {
        throw new IllegalArgumentException("attempts " + attempts + " is outside [1, 100]");
      }
      if (retryDelay == null || retryDelay.isNegative()) {
        throw new IllegalArgumentException("retry delay " + retryDelay + " must not be negative");
      }
    }

    /** 20 s to connect, 60 s of silence, 5 tries starting 1 s apart. */
    public static Options defaults() {
      return new Options(Duration.ofSeconds(20), Duration.ofSeconds(60), 5, Duration.ofSeconds(1));
    }
  }

  /** Receives the progress of a pull or import, on the thread that runs it. */
  public interface Progress {
    /**
     * Bytes of {@code file} and of the whole model are on disk. A total is {@code -1} when
     * unknown (a model that is not pinned).
     */
    void update(String file, long fileDone, long fileTotal, long modelDone, long modelTotal);

    /** One line for the user: a retry, a digest recorded on trust, a note about the source. */
    default void note(String line) {}

    /** Ignores everything. */
    Progress NONE = (file, fileDone, fileTotal, modelDone, modelTotal) -> {};
  }

  /** Where a model stands. */
  public sealed interface Status {
    /** Installed, and every file matched its size and digest. */
    record Installed(InstalledModel model) implements Status {}

    /** Neither installed nor being downloaded. */
    record NotInstalled() implements Status {}

    /** Not installed; a download stopped with {@code bytes} of {@code total} (-1: unknown) on disk. */
    record Incomplete(long bytes, long total) implements Status {}

    /** Installed, but {@code file} is missing or wrong as {@code problem} says. */
    record Corrupt(String file, String problem) implements Status {}

    /** A few words for {@code loupe models list}. */
    default String describe() {
      return switch (this) {
        case Installed _ -> "installed";
        case NotInstalled _ -> "not installed";
        case Incomplete(long bytes, long total) ->
            "incomplete download (" + formatBytes(bytes)
                + (total >= 0 ? " of " + formatBytes(total) : "") + ")";
        case Corrupt(String file, String problem) -> "corrupt: " + file + " " + problem;
      };
    }
  }

  /**
   * One line of {@link #list}.
   *
   * @param name the model's name
   * @param manifest the installed manifest when readable, else the catalog's; null for a folder
   *     that is neither
   * @param inCatalog whether this release's catalog knows the model
   * @param status where it stands
   */
  public record Entry(String name, ModelManifest manifest, boolean inCatalog, Status status) {}

  private final Path modelsDir;
  private final ModelCatalog catalog;
  private final Options options;

  /** The manager of {@code modelsDir} with the built-in catalog and default download options. */
  public ModelManager(Path modelsDir) {
    this(modelsDir, ModelCatalog.builtIn(), Options.defaults());
  }

  /** The manager of {@code modelsDir}, knowing the models of {@code catalog}. */
  public ModelManager(Path modelsDir, ModelCatalog catalog, Options options) {
    this.modelsDir = Objects.requireNonNull(modelsDir, "modelsDir").toAbsolutePath().normalize();
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.options = Objects.requireNonNull(options, "options");
  }

  /** The models folder of the data folder {@code dataDir}: {@code <dataDir>/models}. */
  public static Path modelsDir(Path dataDir) {
    return dataDir.resolve(FOLDER);
  }

  /** The folder this manager works in. */
  public Path modelsDir() {
    return modelsDir;
  }

  /** The models it knows by name. */
  public ModelCatalog catalog() {
    return catalog;
  }

  // ---------------------------------------------------------------------------------- reading

  /**
   * Every catalog model, then every other model folder and interrupted download, each with its
   * status. Hashes the files whose verification is not cached (see {@link #status}).
   */
  public List<Entry> list() throws IOException {
    Set<String> names = new LinkedHashSet<>();
    catalog.all().forEach(m -> names.add(m.name()));
    Set<String> found = new TreeSet<>();
    found.addAll(childNames(modelsDir));
    found.addAll(childNames(modelsDir.resolve(PARTIAL)));
    names.addAll(found);
    List<Entry> entries = new ArrayList<>();
    for (String name : names) {
      Status status = check(name, true);
      ModelManifest shown =
          status instanceof Status.Installed(InstalledModel model)
              ? model.manifest()
              : readQuietly(modelsDir.resolve(name).resolve(ModelManifest.FILE_NAME))
                  .or(() -> catalog.find(name))
                  .orElse(null);
      entries.add(new Entry(name, shown, catalog.find(name).isPresent(), status));
    }
    return entries;
  }

  /**
   * Where {@code name} stands. An installed model's files are checked by size, then by sha256;
   * a file whose size and modification time are those it had when it last hashed right is not
   * hashed again.
   */
  public Status status(String name) throws IOException {
    return check(ModelManifest.checkName(name), true);
  }

  /**
   * The installed model {@code name}, checked as {@link #status} does.
   *
   * @throws ModelUnavailableException naming the missing or corrupt file and the command that
   *     fixes it
   */
  public InstalledModel installedModel(String name) throws IOException {
    return usable(ModelManifest.checkName(name), check(name, true));
  }

  /**
   * Like {@link #installedModel} but hashes every file, ignoring and then refreshing the cache.
   *
   * @throws ModelUnavailableException naming the missing or corrupt file and the command that
   *     fixes it
   */
  public InstalledModel verify(String name) throws IOException {
    return usable(ModelManifest.checkName(name), check(name, false));
  }

  /**
   * The command that installs or repairs {@code name}: {@code pull} for a catalog model with a
   * source ({@code --trust-on-first-use} added when it is not pinned), else {@code import DIR}.
   */
  public String fixCommand(String name) {
    Optional<ModelManifest> known = catalog.find(name);
    if (known.isPresent() && known.get().source() != null) {
      return COMMAND + " pull " + name + (known.get().pinned() ? "" : " --trust-on-first-use");
    }
    return COMMAND + " import DIR";
  }

  private String fixSentence(String name) {
    String fix = fixCommand(name);
    if (fix.contains(" pull ")) {
      return "run " + fix + " (on a machine without internet, copy the files by hand and run "
          + COMMAND + " import DIR)";
    }
    return "put the model's files and its " + ModelManifest.FILE_NAME + " in a folder DIR and run " + fix;
  }

  private InstalledModel usable(String name, Status status) throws ModelUnavailableException {
    if (status instanceof Status.Installed(InstalledModel model)) {
      return model;
    }
    String problem =
        switch (status) {
          case Status.Installed _ -> throw new AssertionError(status);
          case Status.NotInstalled _ ->
              "model " + name + " is not installed in " + modelsDir
                  + (catalog.find(name).isEmpty() ? " and is not in Loupe's catalog" : "");
          case Status.Incomplete(long bytes, long total) ->
              "model " + name + " is not installed: its download stopped at " + formatBytes(bytes)
                  + (total >= 0 ? " of " + formatBytes(total) : "") + " (" + partialDir(name) + ")";
          case Status.Corrupt(String file, String what) ->
              "model " + name + " is damaged: " + modelsDir.resolve(name).resolve(file) + " " + what;
        };
    throw new ModelUnavailableException(name, problem, fixCommand(name), fixSentence(name));
  }

  private Status check(String name, boolean useCache) throws IOException {
    Path dir = modelsDir.resolve(name);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      Path partial = partialDir(name);
      if (Files.isDirectory(partial, LinkOption.NOFOLLOW_LINKS)) {
        long total = catalog.find(name).map(ModelManifest::totalBytes).orElse(ModelFile.UNKNOWN_SIZE);
        return new Status.Incomplete(stagedBytes(partial), total);
      }
      return new Status.NotInstalled();
    }
    Path manifestFile = dir.resolve(ModelManifest.FILE_NAME);
    if (!Files.isRegularFile(manifestFile, LinkOption.NOFOLLOW_LINKS)) {
      return new Status.Corrupt(ModelManifest.FILE_NAME, "is missing");
    }
    ModelManifest manifest;
    try {
      manifest = ModelManifest.read(manifestFile);
    } catch (IllegalArgumentException e) {
      return new Status.Corrupt(ModelManifest.FILE_NAME, "is not valid: " + e.getMessage());
    }
    if (!manifest.name().equals(name)) {
      return new Status.Corrupt(ModelManifest.FILE_NAME, "names model " + manifest.name() + ", not " + name);
    }
    // Sizes first: cheap, and they catch a truncated copy before anything is hashed.
    for (ModelFile f : manifest.files()) {
      if (!f.pinned()) {
        return new Status.Corrupt(f.path(), "has no sha256 in " + ModelManifest.FILE_NAME);
      }
      BasicFileAttributes attributes;
      try {
        attributes = Files.readAttributes(dir.resolve(f.path()), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return new Status.Corrupt(f.path(), "is missing");
      }
      if (!attributes.isRegularFile()) {
        return new Status.Corrupt(f.path(), "is not a regular file");
      }
      if (attributes.size() != f.bytes()) {
        return new Status.Corrupt(f.path(), "is " + attributes.size() + " bytes, expected " + f.bytes());
      }
    }
    VerificationCache cache = useCache ? VerificationCache.read(dir) : VerificationCache.empty(dir);
    boolean hashed = false;
    for (ModelFile f : manifest.files()) {
      Path file = dir.resolve(f.path());
      long mtime = VerificationCache.mtime(file);
      if (cache.verified(f.path(), f.sha256(), f.bytes(), mtime)) {
        continue;
      }
      String actual = Digests.of(file);
      if (!actual.equals(f.sha256())) {
        return new Status.Corrupt(f.path(), "fails its checksum: sha256 " + actual + ", expected " + f.sha256());
      }
      cache.put(f.path(), f.sha256(), f.bytes(), mtime);
      hashed = true;
    }
    if (hashed || !useCache) {
      cache.writeQuietly();
    }
    return new Status.Installed(new InstalledModel(dir, manifest));
  }

  // ------------------------------------------------------------------------------------- pull

  /**
   * Downloads the catalog model {@code name} from its source into {@code .partial/NAME}, resuming
   * whatever an earlier pull left there, checks every file's size and sha256, then installs the
   * folder in one rename. A model that is installed and verified is left as it is.
   *
   * <p>A model the catalog does not pin is refused unless {@code trustOnFirstUse}: then its files
   * are downloaded afresh from the commit the source reports for the first file, and their sizes
   * and digests are recorded in the installed {@code model.json} (and told to {@code progress})
   * so that every later check holds them to what arrived this time.
   *
   * @throws IllegalArgumentException for an unknown model or one without a source
   * @throws IOException naming the file and both digests on a checksum mismatch (the bad file
   *     is deleted, nothing is installed); with one clear sentence when the source cannot be
   *     reached; when another process holds the model's lock
   */
  public InstalledModel pull(String name, boolean trustOnFirstUse, Progress progress)
      throws IOException, InterruptedException {
    ModelManifest target = catalog.get(ModelManifest.checkName(name));
    if (target.source() == null) {
      throw new IllegalArgumentException(
          "model " + name + " has no download source; put its files in a folder DIR and run "
              + COMMAND + " import DIR");
    }
    boolean tofu = !target.pinned();
    if (tofu && !trustOnFirstUse) {
      throw new IllegalArgumentException(unpinnedRefusal(target));
    }
    try (ModelLock lock = lock(name)) {
      Status now = check(name, true);
      if (now instanceof Status.Installed(InstalledModel installed) && sameFiles(installed.manifest(), target)) {
        progress.note(name + " is already installed and verified in " + installed.dir());
        return installed;
      }
      if (now instanceof Status.Installed) {
        progress.note("the installed " + name + " differs from this release's catalog; replacing it");
      }
      Path staging = partialDir(name);
      prepareStaging(staging, target, tofu);
      ModelManifest arrived;
      try {
        arrived = download(target, staging, progress);
      } catch (IOException | RuntimeException | InterruptedException e) {
        // A try that got nothing (offline, say) leaves no "incomplete download" behind.
        if (stagedBytes(staging) == 0) {
          deleteTree(staging);
        }
        throw e;
      }
      return install(name, staging, arrived);
    }
  }

  /**
   * Downloads every file of {@code target} into {@code staging} and checks the pinned ones.
   * Returns the manifest to install: every file pinned as it arrived, and the source pinned to
   * the commit the source reported when the catalog named a branch.
   */
  private ModelManifest download(ModelManifest target, Path staging, Progress progress)
      throws IOException, InterruptedException {
    String name = target.name();
    String revision = target.source().revision();
    boolean pinRevision = !target.pinned() && !COMMIT.matcher(revision).matches();
    long modelTotal = target.totalBytes();
    List<ModelFile> arrived = new ArrayList<>();
    long before = 0;
    try (Downloader downloader = new Downloader(options)) {
      for (ModelFile f : target.files()) {
        Path dest = staging.resolve(f.path());
        Files.createDirectories(dest.getParent());
        URI uri = URI.create(target.source().withRevision(revision).urlOf(f));
        long base = before;
        Downloader.Result r;
        try {
          r = downloader.fetch(uri, dest, f.bytes(), new Downloader.Listener() {
            @Override
            public void transferred(long done, long total) {
              progress.update(f.path(), done, total, base + done, modelTotal);
            }

            @Override
            public void retrying(String message) {
              progress.note(f.path() + ": " + message);
            }
          });
        } catch (Downloader.UnreachableException e) {
          throw new IOException(offlineMessage(target, e), e);
        }
        if (f.pinned() && (r.size() != f.bytes() || !r.sha256().equals(f.sha256()))) {
          Files.deleteIfExists(dest);
          throw new IOException(
              "checksum mismatch for " + f.path() + " of " + name + " from " + uri + ": got "
                  + r.size() + " bytes with sha256 " + r.sha256() + ", expected " + f.bytes()
                  + " bytes with sha256 " + f.sha256() + ". The file was deleted and nothing was"
                  + " installed. Run " + COMMAND + " pull " + name + " to try again; if it fails"
                  + " the same way, the source no longer serves the pinned file: get the files"
                  + " another way and run " + COMMAND + " import DIR");
        }
        if (!f.pinned()) {
          progress.note("trusting on first use: " + f.path() + " " + r.size() + " bytes, sha256 " + r.sha256());
        }
        if (pinRevision && r.commit() != null) {
          revision = r.commit();
          pinRevision = false;
          progress.note(uri.getHost() + " served commit " + revision + "; the rest comes from that commit");
        }
        arrived.add(new ModelFile(f.path(), r.size(), r.sha256()));
        before += r.size();
      }
    }
    if (pinRevision) {
      progress.note("the source did not say which commit it served; recorded revision " + revision);
    }
    return target.withFiles(arrived).withSource(target.source().withRevision(revision));
  }

  private String unpinnedRefusal(ModelManifest target) {
    String unpinned = target.files().stream().filter(f -> !f.pinned()).map(ModelFile::path)
        .collect(Collectors.joining(", "));
    return "model " + target.name() + " is not pinned in this release: Loupe does not know the"
        + " sha256 of " + unpinned + ", so it cannot check what it downloads. Either run "
        + COMMAND + " pull " + target.name() + " --trust-on-first-use (downloads from "
        + sourceHome(target) + ", prints the digests and records them; later checks hold the"
        + " files to them), or get the files another way and run " + COMMAND
        + " import DIR --trust-on-first-use";
  }

  private String offlineMessage(ModelManifest target, Downloader.UnreachableException e) {
    String files = target.files().stream().map(ModelFile::path).collect(Collectors.joining(", "));
    return "cannot reach " + e.host + " (" + e.reason + ") to download " + target.name()
        + "; check the network, or, on a machine without internet, copy the files by hand ("
        + files + " from " + sourceHome(target) + ") into a folder DIR with the same layout and run "
        + COMMAND + " import DIR";
  }

  /** The human address of a source: the URL up to {@code /resolve/}, with the revision. */
  private static String sourceHome(ModelManifest m) {
    String url = m.source().url().replace("{revision}", m.source().revision());
    int resolve = url.indexOf("/resolve/");
    return resolve > 0 ? url.substring(0, resolve) + " (revision " + m.source().revision() + ")" : url;
  }

  private static boolean sameFiles(ModelManifest installed, ModelManifest target) {
    if (target.pinned()) {
      return Set.copyOf(installed.files()).equals(Set.copyOf(target.files()));
    }
    Set<String> paths = target.files().stream().map(ModelFile::path).collect(Collectors.toSet());
    return installed.files().stream().map(ModelFile::path).collect(Collectors.toSet()).equals(paths);
  }

  /**
   * Keeps what an earlier pull of the same manifest left, so it resumes; anything else (another
   * release's pins, an import, a download on trust whose source may have moved) starts afresh.
   */
  private void prepareStaging(Path staging, ModelManifest target, boolean fresh) throws IOException {
    Path marker = staging.resolve(ModelManifest.FILE_NAME);
    boolean keep = !fresh && readQuietly(marker).filter(target::equals).isPresent();
    if (!keep) {
      deleteTree(staging);
    }
    Files.createDirectories(staging);
    if (!keep) {
      Files.writeString(marker, target.toJson());
    }
  }

  // ----------------------------------------------------------------------------------- import

  /**
   * Installs a model from files copied by hand into {@code source}. The folder either holds a
   * {@code model.json} describing them, or has the file layout of a catalog model ({@code name}
   * if given, else the one model whose layout, and pinned sizes, it matches). Every file is
   * checked by size before anything is copied and by sha256 while it is copied; only when all
   * match is the model installed, in one rename.
   *
   * @param name the catalog model to import as, or null to infer it (or take it from model.json)
   * @param trustOnFirstUse accept files without a pinned digest and record what they hash to
   * @throws IllegalArgumentException for a folder that matches no model, a file that is missing,
   *     a path that leads outside the folder (a symbolic link), or a size mismatch
   * @throws IOException on a checksum mismatch, naming the file and both digests; nothing is
   *     installed
   */
  public InstalledModel importFrom(Path source, String name, boolean trustOnFirstUse, Progress progress)
      throws IOException {
    if (!Files.isDirectory(source)) {
      throw new IllegalArgumentException(
          "import needs a folder holding the model's files; " + source + " is not a directory");
    }
    if (name != null) {
      ModelManifest.checkName(name);
    }
    Path root = source.toRealPath();
    ModelManifest manifest = describeImport(source, root, name);
    if (!manifest.pinned() && !trustOnFirstUse) {
      String unpinned = manifest.files().stream().filter(f -> !f.pinned()).map(ModelFile::path)
          .collect(Collectors.joining(", "));
      throw new IllegalArgumentException(
          "model " + manifest.name() + " is not pinned: no sha256 is known for " + unpinned
              + ", so Loupe cannot check these copies. If you trust them, run " + COMMAND
              + " import " + source + " --name " + manifest.name() + " --trust-on-first-use"
              + " to record their digests");
    }
    // Resolve and size-check every file before copying any: a wrong folder fails fast.
    Map<ModelFile, Path> files = new LinkedHashMap<>();
    for (ModelFile f : manifest.files()) {
      Path real = resolveInside(source, root, f.path());
      if (real == null) {
        throw new IllegalArgumentException(missingFileMessage(source, root, manifest, f));
      }
      long size = Files.size(real);
      if (f.pinned() && size != f.bytes()) {
        throw new IllegalArgumentException(
            source.resolve(f.path()) + " is " + size + " bytes, but " + manifest.name() + " needs "
                + f.bytes() + " bytes: an incomplete copy or another version; nothing was installed");
      }
      files.put(f, real);
    }
    String target = manifest.name();
    try (ModelLock lock = lock(target)) {
      if (check(target, true) instanceof Status.Installed(InstalledModel installed)
          && manifest.pinned()
          && sameFiles(installed.manifest(), manifest)) {
        progress.note(target + " is already installed and verified in " + installed.dir());
        return installed;
      }
      Path staging = partialDir(target);
      deleteTree(staging);
      Files.createDirectories(staging);
      long modelTotal = manifest.totalBytes();
      long before = 0;
      List<ModelFile> copied = new ArrayList<>();
      try {
        for (Map.Entry<ModelFile, Path> e : files.entrySet()) {
          ModelFile f = e.getKey();
          Path dest = staging.resolve(f.path());
          Files.createDirectories(dest.getParent());
          long base = before;
          long fileTotal = Files.size(e.getValue());
          String sha256 = copyHashing(e.getValue(), dest,
              done -> progress.update(f.path(), done, fileTotal, base + done, modelTotal));
          long size = Files.size(dest);
          if (f.pinned() && !sha256.equals(f.sha256())) {
            throw new IOException(
                "checksum mismatch for " + source.resolve(f.path()) + ": sha256 " + sha256
                    + ", expected " + f.sha256() + " for " + target + " (" + f.path() + "). The copy"
                    + " is damaged or another version; nothing was installed. Copy the file again"
                    + " from the source and rerun " + COMMAND + " import " + source);
          }
          if (!f.pinned()) {
            progress.note("trusting on first use: " + f.path() + " " + size + " bytes, sha256 " + sha256);
          }
          copied.add(new ModelFile(f.path(), size, sha256));
          before += size;
        }
      } catch (IOException | RuntimeException e) {
        deleteTree(staging);
        throw e;
      }
      return install(target, staging, manifest.withFiles(copied));
    }
  }

  /** The manifest of an import: the folder's own model.json, or a catalog entry matched by layout. */
  private ModelManifest describeImport(Path source, Path root, String name) throws IOException {
    Path own = resolveInside(source, root, ModelManifest.FILE_NAME);
    if (own != null) {
      ModelManifest m = ModelManifest.read(own);
      if (name != null && !name.equals(m.name())) {
        throw new IllegalArgumentException(
            source.resolve(ModelManifest.FILE_NAME) + " describes model " + m.name() + ", not " + name
                + "; drop --name, or change the name in the file");
      }
      Optional<ModelManifest> known = catalog.find(m.name());
      if (known.isPresent() && known.get().pinned() && !sameFiles(known.get(), m)) {
        throw new IllegalArgumentException(
            source.resolve(ModelManifest.FILE_NAME) + " describes " + m.name()
                + " with other files or digests than Loupe's catalog pins (" + difference(known.get(), m)
                + "); to import these files as a separate model, give it another name in the file");
      }
      return m;
    }
    if (name != null) {
      return catalog.get(name);
    }
    return inferFromLayout(source, root);
  }

  private ModelManifest inferFromLayout(Path source, Path root) throws IOException {
    List<ModelManifest> byLayout = new ArrayList<>();
    List<ModelManifest> bySize = new ArrayList<>();
    ModelManifest closest = null;
    double closestScore = 0;
    for (ModelManifest m : catalog.all()) {
      int present = 0;
      int sized = 0;
      boolean sizesMatch = true;
      for (ModelFile f : m.files()) {
        Path real = resolveInside(source, root, f.path());
        if (real != null) {
          present++;
          boolean sizeMatches = f.pinned() && Files.size(real) == f.bytes();
          sized += sizeMatches ? 1 : 0;
          sizesMatch &= !f.pinned() || sizeMatches;
        }
      }
      if (present == m.files().size()) {
        byLayout.add(m);
        if (m.pinned() && sizesMatch) {
          bySize.add(m);
        }
      }
      // For the hint: the share of a model's files that are here, a file of the pinned size counting double.
      double score = (present + sized) / (2.0 * m.files().size());
      if (score > closestScore) {
        closest = m;
        closestScore = score;
      }
    }
    if (bySize.size() == 1) {
      return bySize.getFirst();
    }
    if (byLayout.size() == 1) {
      return byLayout.getFirst();
    }
    if (byLayout.size() > 1) {
      throw new IllegalArgumentException(
          source + " has the file layout of several models ("
              + byLayout.stream().map(ModelManifest::name).collect(Collectors.joining(", "))
              + "); say which with --name NAME");
    }
    String expected = closest == null ? "" :
        " The closest, " + closest.name() + ", needs: "
            + closest.files().stream().map(ModelFile::path).collect(Collectors.joining(", ")) + "."
            + missingHints(source, root, closest);
    throw new IllegalArgumentException(
        source + " has no " + ModelManifest.FILE_NAME + " and its files match no model Loupe knows."
            + expected + " Keep the layout of the source repository, or add a " + ModelManifest.FILE_NAME
            + ", or name the model with --name NAME");
  }

  private String missingFileMessage(Path source, Path root, ModelManifest m, ModelFile f) throws IOException {
    return source.resolve(f.path()) + " is missing: model " + m.name() + " needs "
        + m.files().stream().map(ModelFile::path).collect(Collectors.joining(", ")) + " in " + source
        + "." + missingHints(source, root, m) + " Copy the missing files and run " + COMMAND
        + " import " + source + " again";
  }

  /** For files missing at their path but present at the top of the folder: say where they belong. */
  private static String missingHints(Path source, Path root, ModelManifest m) throws IOException {
    StringBuilder hints = new StringBuilder();
    for (ModelFile f : m.files()) {
      if (resolveInside(source, root, f.path()) != null || !f.path().contains("/")) {
        continue;
      }
      String base = f.path().substring(f.path().lastIndexOf('/') + 1);
      if (resolveInside(source, root, base) != null) {
        hints.append(" ").append(base).append(" is at the top of the folder; move it to ")
            .append(source.resolve(f.path())).append(".");
      }
    }
    return hints.toString();
  }

  private static String difference(ModelManifest pinned, ModelManifest other) {
    Map<String, ModelFile> byPath = other.files().stream()
        .collect(Collectors.toMap(ModelFile::path, f -> f));
    for (ModelFile f : pinned.files()) {
      ModelFile o = byPath.get(f.path());
      if (o == null) {
        return f.path() + " is not listed";
      }
      if (!f.equals(o)) {
        return f.path() + ": sha256 " + o.sha256() + ", catalog " + f.sha256();
      }
    }
    return "it lists files the catalog does not";
  }

  /**
   * The real path of {@code relative} under {@code root}, or null when nothing is there.
   *
   * @throws IllegalArgumentException when it leads outside the folder (a symbolic link) or is
   *     not a regular file
   */
  private static Path resolveInside(Path source, Path root, String relative) throws IOException {
    Path real;
    try {
      real = root.resolve(relative).toRealPath();
    } catch (NoSuchFileException e) {
      return null;
    }
    if (!real.startsWith(root)) {
      throw new IllegalArgumentException(
          source.resolve(relative) + " leads outside " + source + " (to " + real + "); copy the file"
              + " itself into the folder instead of linking to it");
    }
    if (!Files.isRegularFile(real)) {
      throw new IllegalArgumentException(source.resolve(relative) + " is not a regular file");
    }
    return real;
  }

  private static String copyHashing(Path from, Path to, java.util.function.LongConsumer progress) throws IOException {
    MessageDigest md = Digests.sha256();
    byte[] buffer = new byte[1 << 16];
    long done = 0;
    try (InputStream in = Files.newInputStream(from);
        OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        out.write(buffer, 0, n);
        md.update(buffer, 0, n);
        done += n;
        progress.accept(done);
      }
    }
    return Digests.hex(md);
  }

  // ----------------------------------------------------------------------------------- remove

  /**
   * Removes the installed model {@code name} and any interrupted download of it.
   *
   * @return false when there was nothing to remove
   * @throws IOException when another process holds the model's lock
   */
  public boolean remove(String name) throws IOException {
    ModelManifest.checkName(name);
    try (ModelLock lock = lock(name)) {
      boolean removed = false;
      Path dir = modelsDir.resolve(name);
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        // Out of sight in one rename first, so a crash mid-delete leaves no half model behind.
        Path trash = modelsDir.resolve(TRASH);
        Files.createDirectories(trash);
        Path doomed = trash.resolve(name + "-" + System.nanoTime());
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(doomed);
        removed = true;
      }
      Path partial = partialDir(name);
      if (Files.exists(partial, LinkOption.NOFOLLOW_LINKS)) {
        deleteTree(partial);
        removed = true;
      }
      return removed;
    }
  }

  // ---------------------------------------------------------------------------------- install

  /**
   * Writes {@code manifest} and the verification cache into {@code staging}, syncs it to disk,
   * and renames it to {@code NAME}; an installed model it replaces is renamed away first.
   */
  private InstalledModel install(String name, Path staging, ModelManifest manifest) throws IOException {
    assert manifest.pinned() : manifest;
    Files.writeString(staging.resolve(ModelManifest.FILE_NAME), manifest.toJson());
    VerificationCache cache = VerificationCache.empty(staging);
    for (ModelFile f : manifest.files()) {
      cache.put(f.path(), f.sha256(), f.bytes(), VerificationCache.mtime(staging.resolve(f.path())));
    }
    cache.writeQuietly();
    syncTree(staging);
    Path target = modelsDir.resolve(name);
    Path old = null;
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      Path trash = modelsDir.resolve(TRASH);
      Files.createDirectories(trash);
      old = trash.resolve(name + "-" + System.nanoTime());
      Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
    }
    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    syncDirectory(modelsDir);
    syncDirectory(staging.getParent());
    if (old != null) {
      deleteTree(old);
    }
    return new InstalledModel(target, manifest);
  }

  // ------------------------------------------------------------------------------------ files

  private Path partialDir(String name) {
    return modelsDir.resolve(PARTIAL).resolve(name);
  }

  /** Holds a model's lock file; closing releases it. */
  private record ModelLock(FileChannel channel, FileLock lock) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      try {
        lock.release();
      } finally {
        channel.close();
      }
    }
  }

  private ModelLock lock(String name) throws IOException {
    Path locks = modelsDir.resolve(LOCKS);
    Files.createDirectories(locks);
    Path file = locks.resolve(name + ".lock");
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this process, in another thread
    } catch (IOException e) {
      channel.close();
      throw e;
    }
    if (lock == null) {
      channel.close();
      throw new IOException(
          "model " + name + " is being installed or removed by another loupe command (it holds "
              + file + "); wait for that to finish, then run this command again");
    }
    clearTrash(name);
    return new ModelLock(channel, lock);
  }

  /** Deletes what a crash left in the trash for {@code name}; called under its lock. */
  private void clearTrash(String name) throws IOException {
    Path trash = modelsDir.resolve(TRASH);
    if (!Files.isDirectory(trash)) {
      return;
    }
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(trash, name + "-*")) {
      for (Path p : stale) {
        deleteTree(p);
      }
    }
  }

  private static Set<String> childNames(Path dir) throws IOException {
    Set<String> names = new TreeSet<>();
    if (!Files.isDirectory(dir)) {
      return names;
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
      for (Path child : children) {
        String n = child.getFileName().toString();
        if (!n.startsWith(".") && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS) && validName(n)) {
          names.add(n);
        }
      }
    }
    return names;
  }

  private static boolean validName(String name) {
    try {
      ModelManifest.checkName(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static long stagedBytes(Path staging) throws IOException {
    long[] total = {0};
    Files.walkFileTree(staging, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isRegularFile() && !file.equals(staging.resolve(ModelManifest.FILE_NAME))) {
          total[0] += attrs.size();
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return total[0];
  }

  private static Optional<ModelManifest> readQuietly(Path manifest) {
    if (!Files.isRegularFile(manifest, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try {
      return Optional.of(ModelManifest.read(manifest));
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Deletes {@code root} and everything under it, not following symbolic links. */
  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** fsync of every file and folder under {@code root}, so the rename publishes durable data. */
  private static void syncTree(Path root) throws IOException {
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
          ch.force(true);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        syncDirectory(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some systems cannot open a directory for fsync; the rename is still atomic there.
    }
  }

  /** {@code 157.6 MB}: decimal units, as the sources publish sizes. */
  static String formatBytes(long bytes) {
    if (bytes < 0) {
      return "?";
    }
    if (bytes < 1000) {
      return bytes + " B";
    }
    String[] units = {"kB", "MB", "GB", "TB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
