package dev.loupe.indexer.extract.pdf;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.GregorianCalendar;
import java.util.List;
import java.util.TimeZone;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDDocumentInformation;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.AccessPermission;
import org.apache.pdfbox.pdmodel.encryption.StandardProtectionPolicy;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.pdfbox.pdmodel.graphics.image.LosslessFactory;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;

/** PDFs written with PDFBox for the tests. */
public final class PdfFixtures {
  private PdfFixtures() {}

  /** What one page holds: text (paragraphs separated by blank lines, lines by new lines) and images drawn on it. */
  public record Page(String text, List<Integer> images) {
    public static Page text(String text) {
      return new Page(text, List.of());
    }
  }

  /**
   * A Letter-size PDF with the given pages; {@code images} are the raster images the pages refer to
   * by index, each stored once (a page drawing image 0 twice, and another page drawing it again,
   * use one XObject).
   */
  public static byte[] pdf(List<Page> pages, List<BufferedImage> images, String title, String author) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDDocumentInformation info = doc.getDocumentInformation();
      if (title != null) {
        info.setTitle(title);
      }
      if (author != null) {
        info.setAuthor(author);
      }
      Calendar created = new GregorianCalendar(TimeZone.getTimeZone("UTC"));
      created.clear();
      created.set(2024, Calendar.MARCH, 5, 10, 30, 0);
      info.setCreationDate(created);
      List<PDImageXObject> xobjects = new ArrayList<>();
      for (BufferedImage image : images) {
        xobjects.add(LosslessFactory.createFromImage(doc, image));
      }
      PDType1Font font = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
      for (Page p : pages) {
        PDPage page = new PDPage(PDRectangle.LETTER);
        doc.addPage(page);
        try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
          if (!p.text().isEmpty()) {
            cs.beginText();
            cs.setFont(font, 12);
            cs.setLeading(14);
            cs.newLineAtOffset(72, 720);
            for (String line : p.text().split("\n", -1)) {
              if (line.isEmpty()) {
                cs.newLine(); // a blank line: PDFBox sees a paragraph break
                cs.newLine();
              } else {
                cs.showText(line);
                cs.newLine();
              }
            }
            cs.endText();
          }
          int y = 100;
          for (int index : p.images()) {
            PDImageXObject x = xobjects.get(index);
            cs.drawImage(x, 72, y, x.getWidth(), x.getHeight());
            y += x.getHeight() + 10;
          }
        }
      }
      return save(doc);
    }
  }

  /** {@code pdf} encrypted with the given passwords (AES-128). */
  public static byte[] encrypted(byte[] pdf, String ownerPassword, String userPassword) throws IOException {
    try (PDDocument doc = org.apache.pdfbox.Loader.loadPDF(pdf)) {
      StandardProtectionPolicy policy = new StandardProtectionPolicy(ownerPassword, userPassword, new AccessPermission());
      policy.setEncryptionKeyLength(128);
      doc.protect(policy);
      return save(doc);
    }
  }

  private static byte[] save(PDDocument doc) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    doc.save(out);
    return out.toByteArray();
  }

  /** A {@code w x h} image of four coloured quadrants, with a seeded-random dot pattern so no two images are alike. */
  public static BufferedImage quadrants(int w, int h, long seed) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    java.util.Random random = new java.util.Random(seed);
    int[] colours = {0xd03030, 0x30a040, 0x3050d0, 0xe0c020};
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int q = (x < w / 2 ? 0 : 1) + (y < h / 2 ? 0 : 2);
        image.setRGB(x, y, random.nextInt(16) == 0 ? 0x000000 : colours[q]);
      }
    }
    return image;
  }
}
