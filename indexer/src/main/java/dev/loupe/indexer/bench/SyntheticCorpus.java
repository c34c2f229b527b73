package dev.loupe.indexer.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.pdfbox.cos.COSArray;
import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.cos.COSString;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.pdfbox.pdmodel.graphics.image.LosslessFactory;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;

/**
 * A seeded folder of files shaped like a document collection, for the ingest benchmark: mostly
 * plain text and Markdown of a few pages of prose, some HTML, multi-page PDFs (a quarter of them
 * with an embedded photo), and JPEG and PNG pictures, in subfolders of 100 files.
 *
 * <p>The same seed and count always give the same files. A folder already holding a complete
 * corpus of that seed and count (its marker file is written last) is reused as it is.
 */
public final class SyntheticCorpus {
  /** Kinds of file, with their share of the corpus in percent; the rest are plain text. */
  static final Map<String, Integer> SHARES = Map.of("md", 8, "html", 4, "pdf", 12, "jpg", 10, "png", 6);
  static final String MARKER = ".loupe-corpus";
  static final int FILES_PER_FOLDER = 100;

  private static final String[] WORDS = (
      "the a of and to in is for on with as by at from that this it be are was were report quarterly revenue"
          + " customer market growth design system network storage index search vector image photo camera lens"
          + " light river mountain city street garden house kitchen window table chair paper letter contract"
          + " invoice meeting project schedule budget engineer team product release version update security"
          + " policy access server cluster memory processor battery energy solar wind water climate forest"
          + " animal bird cat dog horse ocean island harbor ship train station airport travel holiday museum"
          + " painting music concert theatre film story novel chapter history science physics chemistry"
          + " biology medicine patient hospital doctor school student teacher lesson exam result analysis"
          + " figure table chart estimate measure sample average increase decrease stable risk opportunity")
      .split(" ");

  /**
   * Version of the text generator, part of a corpus's marker so a folder written by an older
   * generator is not taken for the same corpus. 2: Zipfian vocabulary.
   */
  static final int GENERATOR = 2;

  /** Size of the vocabulary: the English words above, then made-up words of three syllables. */
  static final int VOCABULARY_SIZE = 50_000;

  private static final String[] SYLLABLES = (
      "ka lo mi ren tu sa vel dor pi na ez qua rim bo tes lan gu fe shi yor"
          + " ma pol dri kes nu ot ari sem vo ti lux bra den cor fy hal jo mer pra sul").split(" ");

  /** Word of each frequency rank, most frequent first. */
  private static final String[] VOCABULARY = vocabulary();

  /** Cumulative Zipf (s = 1) probabilities of the ranks, for drawing words as natural text does. */
  private static final double[] CUMULATIVE = zipf(VOCABULARY_SIZE);

  private SyntheticCorpus() {}

  /**
   * The corpus's vocabulary in frequency rank order: the prose draws rank {@code r} with
   * probability proportional to {@code 1 / (r + 1)}, so a few hundred words make half of the text
   * and most words are rare, as in real text. Benchmarks pick their query words from it.
   */
  public static List<String> words() {
    return List.of(VOCABULARY);
  }

  private static String[] vocabulary() {
    java.util.LinkedHashSet<String> words = new java.util.LinkedHashSet<>(List.of(WORDS));
    int n = SYLLABLES.length;
    for (int i = 0; words.size() < VOCABULARY_SIZE; i++) {
      // Spread consecutive ranks over different syllables: a multiplier coprime to n^3.
      int code = (int) ((i * 7919L) % ((long) n * n * n));
      words.add(SYLLABLES[code % n] + SYLLABLES[(code / n) % n] + SYLLABLES[code / (n * n)]);
    }
    return words.toArray(String[]::new);
  }

  private static double[] zipf(int n) {
    double[] c = new double[n];
    double sum = 0;
    for (int r = 0; r < n; r++) {
      sum += 1.0 / (r + 1);
      c[r] = sum;
    }
    for (int r = 0; r < n; r++) {
      c[r] /= sum;
    }
    c[n - 1] = 1.0;
    return c;
  }

  static String word(SplittableRandom r) {
    int i = java.util.Arrays.binarySearch(CUMULATIVE, r.nextDouble());
    return VOCABULARY[i >= 0 ? i : -i - 1];
  }

  /** What a corpus holds: file count, bytes, files per kind and PDF pages. */
  public record Summary(int files, long bytes, Map<String, Integer> kinds, int pdfPages) {}

  /**
   * Writes (or reuses) a corpus of {@code files} files under {@code dir}.
   *
   * @param progress gets a line every 1,000 files written
   */
  public static Summary write(Path dir, int files, long seed, PrintStream progress) throws IOException {
    return write(dir, files, seed, Mix.DOCUMENTS, progress);
  }

  /** What a corpus is made of. */
  public enum Mix {
    /** The document collection described above. */
    DOCUMENTS,
    /** 640x480 JPEG photos only, like an image folder (NanoDB's MS-COCO ingest). */
    IMAGES
  }

  /** As {@link #write(Path, int, long, PrintStream)}, of the given mix. */
  public static Summary write(Path dir, int files, long seed, Mix mix, PrintStream progress) throws IOException {
    if (files < 1) throw new IllegalArgumentException("corpus of " + files + " files: need at least 1");
    Path marker = dir.resolve(MARKER);
    String stamp = "generator=" + GENERATOR + " files=" + files + " seed=" + seed + (mix == Mix.DOCUMENTS ? "" : " mix=" + mix.name().toLowerCase(Locale.ROOT));
    if (Files.isRegularFile(marker) && Files.readString(marker).startsWith(stamp + "\n")) {
      return summarize(dir, files, Files.readString(marker));
    }
    if (Files.exists(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        if (s.findAny().isPresent()) {
          throw new IllegalArgumentException("corpus folder " + dir + " is not empty and holds no corpus of " + stamp
              + "; pass an empty or new folder");
        }
      }
    }
    Files.createDirectories(dir);
    var random = new SplittableRandom(seed);
    Map<String, Integer> kinds = new LinkedHashMap<>();
    long bytes = 0;
    int pages = 0;
    for (int i = 0; i < files; i++) {
      String kind = mix == Mix.IMAGES ? "jpg" : kind(random.nextInt(100));
      Path folder = dir.resolve(String.format(Locale.ROOT, "folder-%03d", i / FILES_PER_FOLDER));
      Files.createDirectories(folder);
      Path file = folder.resolve(String.format(Locale.ROOT, "file-%05d.%s", i, kind));
      SplittableRandom r = random.split();
      switch (kind) {
        case "txt" -> Files.writeString(file, prose(r, 2 + r.nextInt(10)));
        case "md" -> Files.writeString(file, markdown(r));
        case "html" -> Files.writeString(file, html(r));
        case "pdf" -> {
          int n = 1 + r.nextInt(4);
          Files.write(file, pdf(r, n, r.nextInt(4) == 0));
          pages += n;
        }
        case "jpg" -> write(photo(r, 640, 480), "jpg", file);
        case "png" -> write(photo(r, 320, 240), "png", file);
        default -> throw new AssertionError(kind);
      }
      kinds.merge(kind, 1, Integer::sum);
      bytes += Files.size(file);
      if ((i + 1) % 1_000 == 0 && progress != null) {
        progress.printf(Locale.ROOT, "corpus: %,d of %,d files written%n", i + 1, files);
      }
    }
    StringBuilder m = new StringBuilder(stamp).append('\n').append("bytes=").append(bytes).append('\n').append("pages=").append(pages).append('\n');
    kinds.forEach((k, n) -> m.append("kind.").append(k).append('=').append(n).append('\n'));
    Files.writeString(marker, m.toString());
    return new Summary(files, bytes, kinds, pages);
  }

  /** Every file of the corpus, in name order. */
  public static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals(MARKER)).sorted().toList();
    }
  }

  private static Summary summarize(Path dir, int files, String marker) {
    long bytes = 0;
    int pages = 0;
    Map<String, Integer> kinds = new LinkedHashMap<>();
    for (String line : marker.split("\n")) {
      int eq = line.indexOf('=');
      if (line.startsWith("bytes=")) bytes = Long.parseLong(line.substring(eq + 1));
      else if (line.startsWith("pages=")) pages = Integer.parseInt(line.substring(eq + 1));
      else if (line.startsWith("kind.")) kinds.put(line.substring(5, eq), Integer.parseInt(line.substring(eq + 1)));
    }
    return new Summary(files, bytes, kinds, pages);
  }

  private static String kind(int percent) {
    int edge = 0;
    for (String k : List.of("md", "html", "pdf", "jpg", "png")) {
      edge += SHARES.get(k);
      if (percent < edge) return k;
    }
    return "txt";
  }

  static String sentence(SplittableRandom r) {
    int n = 6 + r.nextInt(13);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      String w = word(r);
      s.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : " " + w);
    }
    return s.append('.').toString();
  }

  static String paragraph(SplittableRandom r) {
    StringBuilder p = new StringBuilder();
    int n = 3 + r.nextInt(5);
    for (int i = 0; i < n; i++) {
      p.append(i == 0 ? "" : " ").append(sentence(r));
    }
    return p.toString();
  }

  static String prose(SplittableRandom r, int paragraphs) {
    StringBuilder t = new StringBuilder();
    for (int i = 0; i < paragraphs; i++) {
      t.append(paragraph(r)).append("\n\n");
    }
    return t.toString();
  }

  private static String markdown(SplittableRandom r) {
    StringBuilder t = new StringBuilder("# ").append(sentence(r)).append("\n\n");
    int sections = 1 + r.nextInt(4);
    for (int s = 0; s < sections; s++) {
      t.append("## ").append(sentence(r)).append("\n\n").append(prose(r, 1 + r.nextInt(3)));
      for (int i = 0, n = r.nextInt(4); i < n; i++) {
        t.append("- ").append(sentence(r)).append('\n');
      }
      t.append('\n');
    }
    return t.toString();
  }

  private static String html(SplittableRandom r) {
    StringBuilder t = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
        .append(sentence(r)).append("</title></head>\n<body><h1>").append(sentence(r)).append("</h1>\n");
    for (int i = 0, n = 2 + r.nextInt(6); i < n; i++) {
      t.append("<p>").append(paragraph(r)).append("</p>\n");
    }
    return t.append("</body></html>\n").toString();
  }

  /** A Letter-size PDF of {@code pages} pages of text; with {@code photo}, page 1 also shows a 300x200 picture. */
  static byte[] pdf(SplittableRandom r, int pages, boolean photo) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDType1Font font = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
      PDImageXObject image = photo ? LosslessFactory.createFromImage(doc, photo(r, 300, 200)) : null;
      for (int p = 0; p < pages; p++) {
        PDPage page = new PDPage(PDRectangle.LETTER);
        doc.addPage(page);
        try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
          cs.beginText();
          cs.setFont(font, 11);
          cs.setLeading(13);
          cs.newLineAtOffset(72, 720);
          int lines = image != null && p == 0 ? 22 : 40;
          StringBuilder line = new StringBuilder();
          for (int written = 0; written < lines; ) {
            String sentence = sentence(r);
            for (String word : sentence.split(" ")) {
              if (line.length() + word.length() + 1 > 85) {
                cs.showText(line.toString());
                cs.newLine();
                line.setLength(0);
                written++;
              }
              line.append(line.isEmpty() ? "" : " ").append(word);
            }
            if (r.nextInt(5) == 0 && written < lines) { // a paragraph break
              cs.showText(line.toString());
              cs.newLine();
              cs.newLine();
              line.setLength(0);
              written += 2;
            }
          }
          cs.endText();
          if (image != null && p == 0) {
            cs.drawImage(image, 72, 72, image.getWidth(), image.getHeight());
          }
        }
      }
      // A seeded file identifier: PDFBox would otherwise derive one from the clock.
      byte[] id = new byte[16];
      for (int i = 0; i < id.length; i++) id[i] = (byte) r.nextInt(256);
      COSArray ids = new COSArray();
      ids.add(new COSString(id));
      ids.add(new COSString(id));
      doc.getDocument().getTrailer().setItem(COSName.ID, ids);
      var out = new java.io.ByteArrayOutputStream();
      doc.save(out);
      return out.toByteArray();
    }
  }

  /** A photo-like picture: smooth gradients with a seeded phase, a few shapes and light noise. */
  static BufferedImage photo(SplittableRandom r, int w, int h) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int phase = r.nextInt(256), tint = r.nextInt(256);
    int cx = r.nextInt(w), cy = r.nextInt(h), radius = 20 + r.nextInt(Math.max(1, Math.min(w, h) / 3));
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int red = (x * 255 / w + phase) & 0xff, green = (y * 255 / h + tint) & 0xff, blue = (phase + tint) / 2;
        int dx = x - cx, dy = y - cy;
        if (dx * dx + dy * dy < radius * radius) {
          red = 255 - red;
          blue = 255 - blue;
        }
        int noise = r.nextInt(9) - 4;
        image.setRGB(x, y, clamp(red + noise) << 16 | clamp(green + noise) << 8 | clamp(blue + noise));
      }
    }
    return image;
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  private static void write(BufferedImage image, String format, Path file) throws IOException {
    if (!ImageIO.write(image, format, file.toFile())) {
      throw new UncheckedIOException(new IOException("no ImageIO writer for " + format));
    }
  }
}
