package dev.loupe.indexer.extract.tika;

import java.awt.Rectangle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.util.List;
import org.apache.poi.poifs.crypt.EncryptionInfo;
import org.apache.poi.poifs.crypt.EncryptionMode;
import org.apache.poi.poifs.crypt.Encryptor;
import org.apache.poi.poifs.filesystem.POIFSFileSystem;
import org.apache.poi.xslf.usermodel.XMLSlideShow;
import org.apache.poi.xslf.usermodel.XSLFTextBox;
import org.apache.poi.xssf.usermodel.XSSFRow;
import org.apache.poi.xssf.usermodel.XSSFSheet;
import org.apache.poi.xssf.usermodel.XSSFWorkbook;
import org.apache.poi.xwpf.usermodel.XWPFDocument;
import org.apache.poi.xwpf.usermodel.XWPFTable;

/** Office files written with Apache POI (which comes with Tika's parsers) for the tests. */
public final class OfficeFixtures {
  private OfficeFixtures() {}

  /** A .docx with the given paragraphs, then a 2x2 table, with a title and an author. */
  public static byte[] docx(String title, String author, List<String> paragraphs, String[][] table) throws IOException {
    try (XWPFDocument doc = new XWPFDocument()) {
      doc.getProperties().getCoreProperties().setTitle(title);
      doc.getProperties().getCoreProperties().setCreator(author);
      for (String p : paragraphs) {
        doc.createParagraph().createRun().setText(p);
      }
      if (table != null) {
        XWPFTable t = doc.createTable(table.length, table[0].length);
        for (int r = 0; r < table.length; r++) {
          for (int c = 0; c < table[r].length; c++) {
            t.getRow(r).getCell(c).setText(table[r][c]);
          }
        }
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      doc.write(out);
      return out.toByteArray();
    }
  }

  /** A .xlsx with one sheet per entry of {@code sheets}: its name and its rows of cells. */
  public static byte[] xlsx(List<String> names, List<String[][]> sheets) throws IOException {
    try (XSSFWorkbook book = new XSSFWorkbook()) {
      for (int s = 0; s < names.size(); s++) {
        XSSFSheet sheet = book.createSheet(names.get(s));
        String[][] rows = sheets.get(s);
        for (int r = 0; r < rows.length; r++) {
          XSSFRow row = sheet.createRow(r);
          for (int c = 0; c < rows[r].length; c++) {
            row.createCell(c).setCellValue(rows[r][c]);
          }
        }
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      book.write(out);
      return out.toByteArray();
    }
  }

  /** A .pptx with one slide per entry, each a text box with that text. */
  public static byte[] pptx(List<String> slides) throws IOException {
    try (XMLSlideShow show = new XMLSlideShow()) {
      for (String text : slides) {
        XSLFTextBox box = show.createSlide().createTextBox();
        box.setAnchor(new Rectangle(40, 40, 500, 100));
        box.setText(text);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      show.write(out);
      return out.toByteArray();
    }
  }

  /** {@code ooxml} encrypted with {@code password} (agile encryption, as Office 2010 and later write it). */
  public static byte[] encrypted(byte[] ooxml, String password) throws IOException, GeneralSecurityException {
    try (POIFSFileSystem fs = new POIFSFileSystem()) {
      Encryptor encryptor = new EncryptionInfo(EncryptionMode.agile).getEncryptor();
      encryptor.confirmPassword(password);
      try (OutputStream data = encryptor.getDataStream(fs)) {
        data.write(ooxml);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      fs.writeFilesystem(out);
      return out.toByteArray();
    }
  }
}
