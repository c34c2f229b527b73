package dev.loupe.http;

import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.extract.MediaTypes;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /api/ingest}: files uploaded as {@code multipart/form-data} go into the inbox (the
 * first watch folder), where the running ingester takes them like any file saved there.
 *
 * <p>Each file part is streamed to a temporary file in the hidden staging folder {@value
 * #STAGING} inside the inbox (the watcher skips hidden folders), counted against the limits as it
 * arrives, synced to disk, its type sniffed from its content, and only then moved into the inbox
 * under its sanitized name, so the watcher never sees a half-written file. A request is all or
 * nothing: if one file is over a limit or of a type no extractor reads, none is kept. A name that
 * is taken gets {@code " (2)"}, {@code " (3)"}, …; nothing is ever overwritten.
 *
 * <p>Thread-safe: holds only immutable configuration and thread-safe collaborators; concurrent
 * uploads of the same name get distinct names (a hard link, or a move under a lock where the file
 * system has no links, claims the name).
 */
final class UploadApi {
  private static final Logger log = LoggerFactory.getLogger(UploadApi.class);

  /** The hidden folder inside the inbox where uploads are written before they are moved in. */
  static final String STAGING = ".loupe-upload";
  /** File parts one request may carry. */
  static final int MAX_FILES = 100;
  /** Per-file limit when the data folder's settings cannot be read. */
  static final long DEFAULT_MAX_FILE_BYTES = 1L << 30;
  /** Per-request limit at least; more when one file may be larger. */
  static final long MIN_MAX_REQUEST_BYTES = 4L << 30;
  /** Longest stored name in UTF-8 bytes, room left for {@code " (99)"} and the staging prefix. */
  static final int MAX_NAME_BYTES = 200;
  /** Bytes a plain (non-file) field may carry; its content is ignored. */
  private static final long MAX_FIELD_BYTES = 64 << 10;

  private static final Set<String> RESERVED = Set.of("CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5",
      "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9");
  private static final Object MOVE_LOCK = new Object();

  /**
   * One stored file.
   *
   * @param name the name it has in the inbox
   * @param originalName the name the client sent
   * @param bytes its size
   * @param type its sniffed media type
   * @param path its absolute path
   */
  record Stored(String name, String originalName, long bytes, String type, String path) {}

  /** The answer: the files as stored, and the ingest status at that moment (null without a pipeline). */
  record UploadAnswer(List<Stored> files, Api.IngestView ingest) {}

  private final Path inbox;
  private final Ingester ingester;
  private final long maxFileBytes;
  private final long maxRequestBytes;
  private final Extractors extractors = Extractors.standard();

  /**
   * @param inbox the folder uploads go to
   * @param ingester the running pipeline, or null
   * @param maxFileBytes largest file
   * @param maxRequestBytes largest request body
   */
  UploadApi(Path inbox, Ingester ingester, long maxFileBytes, long maxRequestBytes) {
    if (maxFileBytes < 1 || maxRequestBytes < 1) {
      throw new IllegalArgumentException("upload limits " + maxFileBytes + " and " + maxRequestBytes + " must be positive");
    }
    this.inbox = inbox.toAbsolutePath().normalize();
    this.ingester = ingester;
    this.maxFileBytes = maxFileBytes;
    this.maxRequestBytes = maxRequestBytes;
  }

  /**
   * Uploads into {@code config}'s first watch folder, each file limited to the data folder's
   * {@code ingest.max-file-size} (a larger file would only fail to ingest).
   */
  static UploadApi of(ServerConfig config, Ingester ingester) {
    long perFile = DEFAULT_MAX_FILE_BYTES;
    try {
      perFile = Settings.load(config.dataDir()).ingest().limits().maxFileBytes();
    } catch (IOException e) {
      log.warn("uploads are limited to {} bytes a file: {}", perFile, e.getMessage());
    }
    return new UploadApi(config.watchDirs().getFirst(), ingester, perFile, Math.max(MIN_MAX_REQUEST_BYTES, perFile + (1 << 20)));
  }

  static void routes(RoutesConfig routes, UploadApi api) {
    routes.post("/api/ingest", api::upload);
  }

  long maxFileBytes() {
    return maxFileBytes;
  }

  /** {@code POST /api/ingest}. */
  void upload(Context ctx) throws IOException {
    String boundary = MultipartReader.boundary(ctx.contentType());
    if (boundary == null) {
      throw new IllegalArgumentException("send the files as multipart/form-data with one file part each"
          + " (curl -F file=@report.pdf ...), not " + (ctx.contentType() == null ? "no content type" : "'" + ctx.contentType() + "'"));
    }
    long length = ctx.req().getContentLengthLong();
    if (length > maxRequestBytes) {
      throw new HttpError(413, "the upload of " + length + " bytes is over the limit of " + maxRequestBytes + " bytes a request");
    }
    Path staging = Files.createDirectories(inbox.resolve(STAGING));
    List<Staged> staged = new ArrayList<>();
    boolean kept = false;
    try {
      receive(ctx.req().getInputStream(), boundary, staging, staged);
      if (staged.isEmpty()) {
        throw new IllegalArgumentException("the form has no file part; send each file as one (curl -F file=@report.pdf ...)");
      }
      for (Staged s : staged) {
        s.type = MediaTypes.detect(s.temp);
        if (extractors.forType(s.type).isEmpty()) {
          throw new HttpError(415, "'" + s.original + "' is of type " + s.type
              + (s.type.equals(MediaTypes.OCTET_STREAM) ? " (its content and name match no known format)" : "")
              + ", which Loupe cannot index; nothing of this upload was kept");
        }
      }
      List<Stored> stored = new ArrayList<>();
      for (Staged s : staged) {
        Path target = moveIn(s.temp, s.name);
        stored.add(new Stored(target.getFileName().toString(), s.original, s.bytes, s.type, target.toString()));
      }
      kept = true;
      log.info("upload of {} file(s) into {}: {}", stored.size(), inbox, stored.stream().map(Stored::name).toList());
      ctx.status(202).json(new UploadAnswer(stored, ingester == null ? null : Api.IngestView.of(ingester.status())));
    } finally {
      if (!kept) {
        for (Staged s : staged) Files.deleteIfExists(s.temp);
      }
    }
  }

  /** A file part written to the staging folder. */
  private static final class Staged {
    final String original;
    final String name;
    final Path temp;
    long bytes;
    String type;

    Staged(String original, String name, Path temp) {
      this.original = original;
      this.name = name;
      this.temp = temp;
    }
  }

  /** Reads every part, writing file parts to {@code staging}; {@code staged} has each as soon as its file exists. */
  private void receive(InputStream body, String boundary, Path staging, List<Staged> staged) throws IOException {
    MultipartReader reader = new MultipartReader(body, boundary);
    long total = 0;
    MultipartReader.PartHeaders part;
    while ((part = reader.next()) != null) {
      if (part.fileName() == null) {
        total += reader.copyBody(new Limited(OutputStream.nullOutputStream(), MAX_FIELD_BYTES,
            "form field '" + part.name() + "'"));
        continue;
      }
      if (staged.size() == MAX_FILES) {
        throw new IllegalArgumentException("an upload may carry " + MAX_FILES + " files at most; send the rest in another request");
      }
      String name = sanitize(part.fileName());
      Staged s = new Staged(part.fileName(), name, staging.resolve(UUID.randomUUID() + "-" + name));
      staged.add(s);
      long room = Math.min(maxFileBytes, maxRequestBytes - total);
      String what = room < maxFileBytes
          ? "the upload is over the limit of " + maxRequestBytes + " bytes a request at '" + part.fileName() + "'"
          : "'" + part.fileName() + "' is over the limit of " + maxFileBytes + " bytes a file (ingest.max-file-size)";
      try (FileChannel channel = FileChannel.open(s.temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        OutputStream out = Channels.newOutputStream(channel);
        s.bytes = reader.copyBody(new Limited(out, room, what));
        channel.force(true);
      }
      total += s.bytes;
    }
  }

  /** A stream that fails with 413 once more than {@code max} bytes are written to it. */
  private static final class Limited extends FilterOutputStream {
    private final long max;
    private final String overMessage;
    private long written;

    Limited(OutputStream out, long max, String overMessage) {
      super(out);
      this.max = max;
      this.overMessage = overMessage;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      written += len;
      if (written > max) throw new HttpError(413, overMessage);
      out.write(b, off, len);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }
  }

  /**
   * Moves {@code temp} into the inbox as {@code name}, or {@code "stem (2).ext"} and so on when
   * the name is taken; never replaces a file.
   */
  private Path moveIn(Path temp, String name) throws IOException {
    int dot = extensionStart(name);
    String stem = name.substring(0, dot), extension = name.substring(dot);
    for (int n = 1; n <= 10_000; n++) {
      Path target = inbox.resolve(n == 1 ? name : stem + " (" + n + ")" + extension);
      try {
        Files.createLink(target, temp); // fails if the name is taken, atomically
        Files.delete(temp);
        return target;
      } catch (FileAlreadyExistsException e) {
        continue;
      } catch (UnsupportedOperationException | FileSystemException e) {
        // No hard links here (some network or FAT file systems): claim the name under a lock.
        synchronized (MOVE_LOCK) {
          if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) continue;
          Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
          return target;
        }
      }
    }
    throw new HttpError(409, "'" + name + "' and 10,000 numbered variants of it are all taken in " + inbox);
  }

  /**
   * A safe plain name for a submitted one: the last segment of a {@code /} or {@code \} path,
   * NFC-normalized, control, format and Windows-reserved characters replaced by {@code _},
   * without leading dots (no hidden files) or trailing dots and blanks, not a Windows device
   * name, at most {@value #MAX_NAME_BYTES} UTF-8 bytes with its extension kept; {@code upload}
   * when nothing is left.
   */
  static String sanitize(String submitted) {
    String s = Normalizer.normalize(submitted == null ? "" : submitted, Normalizer.Form.NFC);
    s = s.substring(Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1);
    StringBuilder b = new StringBuilder();
    s.codePoints().forEach(cp -> {
      int type = Character.getType(cp);
      boolean bad = Character.isISOControl(cp) || type == Character.FORMAT || type == Character.LINE_SEPARATOR
          || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE || type == Character.PRIVATE_USE
          || type == Character.UNASSIGNED || "<>:\"|?*".indexOf(cp) >= 0;
      b.appendCodePoint(bad ? '_' : cp);
    });
    s = b.toString().replaceFirst("^[.\\s]+", "").replaceFirst("[.\\s]+$", "");
    if (s.isEmpty()) s = "upload";
    int dot = extensionStart(s);
    String stem = s.substring(0, dot), extension = s.substring(dot);
    String device = (s.indexOf('.') < 0 ? s : s.substring(0, s.indexOf('.'))).strip().toUpperCase(Locale.ROOT);
    if (RESERVED.contains(device)) stem = "_" + stem;
    int room = MAX_NAME_BYTES - extension.getBytes(StandardCharsets.UTF_8).length;
    if (stem.getBytes(StandardCharsets.UTF_8).length > room) {
      StringBuilder cut = new StringBuilder();
      int bytes = 0;
      for (int cp : stem.codePoints().toArray()) {
        int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
        if (bytes + n > room) break;
        cut.appendCodePoint(cp);
        bytes += n;
      }
      stem = cut.toString().strip();
      if (stem.isEmpty()) stem = "upload";
    }
    return stem + extension;
  }

  /** Where the extension starts ({@code .pdf}, at most 16 characters), or the length when there is none. */
  private static int extensionStart(String name) {
    int dot = name.lastIndexOf('.');
    return dot > 0 && name.length() - dot <= 16 ? dot : name.length();
  }
}
