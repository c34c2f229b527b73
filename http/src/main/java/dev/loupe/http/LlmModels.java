package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.embeddings.model.Digests;
import dev.loupe.embeddings.model.Downloader;
import dev.loupe.embeddings.model.ModelManager;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The language models chat answers with, in {@code <data>/llm}: a small catalog, {@code loupe
 * models pull NAME} (HTTP through embeddings' {@link Downloader}: resume with {@code Range} from
 * what {@code .partial/} holds, redirects, retries, then the size and sha256 checked against the
 * pin), and the check of the file against its record on every load ({@code serve --llm NAME},
 * {@code ask --llm NAME}).
 *
 * <p>An entry whose size or sha256 this release does not know is recorded at its first download:
 * the size and digest that arrived and the commit the source said it served go into {@code
 * NAME.json}, and every later load holds the file to them (trust on first use, said on stderr).
 *
 * <p>Layout: {@code <data>/llm/FILE.gguf} with its record {@code <data>/llm/NAME.json}, and
 * {@code <data>/llm/.partial/FILE.gguf} while a download is under way. Not thread-safe: one pull
 * at a time per data folder.
 */
final class LlmModels {
  /**
   * A model the catalog knows.
   *
   * @param name what {@code pull} and {@code --llm} take
   * @param file the GGUF file's name, in the source and on disk
   * @param url where it is; {@code {revision}} is replaced by {@code revision}
   * @param revision the source's commit, or a branch when the commit is not pinned
   * @param bytes the pinned size, or -1 when not pinned
   * @param sha256 the pinned digest (lowercase hex), or null when not pinned
   * @param description one line for {@code loupe models list}
   */
  record Entry(String name, String file, String url, String revision, long bytes, String sha256, String description) {
    Entry {
      if (name == null || !name.matches("[a-z0-9][a-z0-9._-]{0,63}")) {
        throw new IllegalArgumentException("language model name '" + name + "' is not lowercase letters, digits, . _ -");
      }
      if (file == null || !file.endsWith(".gguf") || file.contains("/")) {
        throw new IllegalArgumentException("language model " + name + ": file '" + file + "' is not a .gguf name");
      }
      if (sha256 != null && !sha256.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("language model " + name + ": sha256 '" + sha256 + "' is not 64 hex digits");
      }
    }

    boolean pinned() {
      return sha256 != null && bytes >= 0;
    }

    URI uri() {
      return URI.create(url.replace("{revision}", revision));
    }
  }

  /** What {@code pull} wrote beside the file, and what every load checks. */
  record Installed(String name, String file, String url, String revision, long bytes, String sha256, boolean pinned) {}

  /**
   * Qwen2.5-0.5B-Instruct, Q8_0: the Q4_K_M file of this model cannot be used, as its 896-wide rows
   * are no multiple of the K-quants' 256, so llama.cpp stored most of its matrices as Q5_0, which
   * llm-runtime does not run; Q8_0 (blocks of 32) keeps every matrix in a type it runs. Pinned to
   * the repository's commit 9217f5db with the file's size and its sha256 as the Hugging Face hub
   * publishes them for that commit (taken from public catalogs that agree; the hub itself cannot
   * be reached from where this was written, so the first real pull is also the first check).
   */
  static final Entry QWEN_05B = new Entry("qwen2.5-0.5b-instruct", "qwen2.5-0.5b-instruct-q8_0.gguf",
      "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/{revision}/qwen2.5-0.5b-instruct-q8_0.gguf",
      "9217f5db79a29953eb74d5343926648285ec7e67", 675_710_816L, "ca59ca7f13d0e15a8cfa77bd17e65d24f6844b554a7b6c12e07a5f89ff76844e",
      "Qwen2.5-0.5B-Instruct, Q8_0 GGUF (645 MiB, Apache-2.0): a small instruct model for chat");

  static final List<Entry> CATALOG = List.of(QWEN_05B);

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;
  private final List<Entry> catalog;
  private final ModelManager.Options options;

  LlmModels(Path dataDir, List<Entry> catalog, ModelManager.Options options) {
    this.dir = dir(dataDir);
    this.catalog = List.copyOf(catalog);
    this.options = options;
  }

  /** The data folder's models with the built-in catalog. */
  static LlmModels in(Path dataDir) {
    return new LlmModels(dataDir, CATALOG, ModelManager.Options.defaults());
  }

  static Path dir(Path dataDir) {
    return dataDir.resolve("llm");
  }

  Optional<Entry> find(String name) {
    return catalog.stream().filter(e -> e.name().equals(name)).findFirst();
  }

  /** The command that installs {@code name}. */
  static String fixCommand(String name) {
    return "./loupe models pull " + name;
  }

  /**
   * Downloads {@code name} into {@code .partial/}, resuming what is there, checks it and installs
   * it with its record. Progress and the trust-on-first-use note go to {@code err}.
   *
   * @return the installed file
   * @throws IllegalArgumentException for a name the catalog does not know
   * @throws IOException when the download fails (the partial file is kept for the next pull) or the
   *     file is not what was pinned (it is deleted; the message names both sizes or digests)
   */
  Path pull(String name, PrintStream err) throws IOException, InterruptedException {
    Entry e = find(name).orElseThrow(() -> new IllegalArgumentException("no language model is called '" + name
        + "'; the catalog has " + catalog.stream().map(Entry::name).toList()));
    Path partial = Files.createDirectories(dir.resolve(".partial")).resolve(e.file());
    Downloader.Result got;
    try (Downloader downloader = new Downloader(options)) {
      got = downloader.fetch(e.uri(), partial, e.bytes(), new Downloader.Listener() {
        long shown = -1;

        @Override
        public void transferred(long done, long total) {
          long step = done >> 26; // a line every 64 MiB
          if (step != shown || done == total) {
            shown = step;
            err.printf(Locale.ROOT, "%s: %d MiB of %s%n", e.file(), done >> 20, total < 0 ? "?" : (total >> 20) + " MiB");
          }
        }

        @Override
        public void retrying(String message) {
          err.println(e.file() + ": " + message);
        }
      });
    }
    if (e.bytes() >= 0 && got.size() != e.bytes()) {
      Files.deleteIfExists(partial);
      throw new IOException(e.file() + " arrived with " + got.size() + " bytes, but the pinned size is " + e.bytes()
          + "; it was deleted: run " + fixCommand(name) + " again");
    }
    if (e.sha256() != null && !e.sha256().equals(got.sha256())) {
      Files.deleteIfExists(partial);
      throw new IOException(e.file() + " has sha256 " + got.sha256() + ", but the pinned sha256 is " + e.sha256()
          + "; it was deleted: run " + fixCommand(name) + " again");
    }
    String revision = got.commit() != null ? got.commit() : e.revision();
    Path file = dir.resolve(e.file());
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Installed record = new Installed(name, e.file(), e.url(), revision, got.size(), got.sha256(), e.pinned());
    Path json = dir.resolve(name + ".json");
    Path tmp = dir.resolve(name + ".json.tmp");
    JSON.writeValue(tmp.toFile(), record);
    Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    if (!e.pinned()) {
      err.println("loupe: " + name + " is not pinned in this release: recorded its size " + got.size() + ", sha256 "
          + got.sha256() + " and revision " + revision + " from this first download; every load checks the file against them");
    }
    err.println("installed " + name + " as " + file + "; chat with it: ./loupe serve --llm " + name);
    return file;
  }

  /** The record of an installed model, or empty when it is not installed. */
  Optional<Installed> installed(String name) throws IOException {
    Path json = dir.resolve(name + ".json");
    if (!Files.isRegularFile(json)) return Optional.empty();
    try {
      return Optional.of(JSON.readValue(json.toFile(), Installed.class));
    } catch (JacksonException e) {
      throw new IOException(json + " is not a language model record (" + e.getOriginalMessage() + "); run "
          + fixCommand(name) + " again", e);
    }
  }

  /**
   * The installed file of {@code name}, checked against its record: present, of its size, of its
   * sha256 (hashed again on every call).
   *
   * @throws IllegalArgumentException when it is not installed or not what was recorded, with the command that fixes it
   */
  Path verified(String name) throws IOException {
    Installed r = installed(name).orElseThrow(() -> new IllegalArgumentException("language model " + name
        + " is not installed in " + dir + "; install it with " + fixCommand(name)));
    Path file = dir.resolve(r.file());
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("language model " + name + " is recorded but " + file + " is gone; install it with "
          + fixCommand(name));
    }
    long size = Files.size(file);
    if (size != r.bytes()) {
      throw new IllegalArgumentException(file + " has " + size + " bytes, but " + r.bytes() + " were "
          + (r.pinned() ? "pinned" : "recorded at its download") + "; delete it and run " + fixCommand(name));
    }
    String sha = Digests.of(file);
    if (!sha.equals(r.sha256())) {
      throw new IllegalArgumentException(file + " has sha256 " + sha + ", but " + r.sha256() + " was "
          + (r.pinned() ? "pinned" : "recorded at its download") + "; delete it and run " + fixCommand(name));
    }
    return file;
  }

  /**
   * What {@code --llm VALUE} names: a catalog name is the installed, checked file of that model;
   * anything else is a path, as given.
   */
  static Path resolve(Path dataDir, Path llm) throws IOException {
    if (llm == null || llm.getNameCount() != 1 || Files.exists(llm)) return llm;
    LlmModels models = in(dataDir);
    return models.find(llm.toString()).isPresent() ? models.verified(llm.toString()) : llm;
  }

  /** Whether {@code loupe models ARGS} is about a language model (pull or verify of a catalog name). */
  static boolean handles(List<String> args) {
    List<String> words = words(args);
    return words.size() == 2 && (words.get(0).equals("pull") || words.get(0).equals("verify"))
        && CATALOG.stream().anyMatch(e -> e.name().equals(words.get(1)));
  }

  /** {@code loupe models pull|verify NAME --data DIR} for a language model; the exit code. */
  static int run(List<String> args, PrintStream out, PrintStream err) throws InterruptedException {
    List<String> words = words(args);
    LlmModels models = in(dataDir(args));
    try {
      if (words.get(0).equals("pull")) {
        models.pull(words.get(1), err);
      } else {
        out.println(words.get(1) + ": " + models.verified(words.get(1)) + " matches its record");
      }
      return 0;
    } catch (IOException | IllegalArgumentException e) {
      err.println("loupe models " + words.get(0) + ": " + e.getMessage());
      return 1;
    }
  }

  /** The catalog's lines for {@code loupe models list}. */
  static void list(List<String> args, PrintStream out) {
    LlmModels models = in(dataDir(args));
    out.println();
    out.println("Language models (for chat: ./loupe serve --llm NAME):");
    for (Entry e : models.catalog) {
      String status;
      try {
        status = models.installed(e.name()).map(r -> "installed, " + (r.bytes() >> 20) + " MiB").orElse("not installed");
      } catch (IOException x) {
        status = "damaged: " + x.getMessage();
      }
      out.printf(Locale.ROOT, "  %-24s %s; %s%s%n", e.name(), status, e.description(), e.pinned() ? "" : " (recorded at first download)");
    }
  }

  private static List<String> words(List<String> args) {
    List<String> words = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--data")) {
        i++;
      } else if (!a.startsWith("--")) {
        words.add(a);
      }
    }
    return words;
  }

  private static Path dataDir(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals("--data") && i + 1 < args.size()) return Path.of(args.get(i + 1));
      if (args.get(i).startsWith("--data=")) return Path.of(args.get(i).substring(7));
    }
    throw new IllegalArgumentException("loupe models needs --data DIR");
  }
}
