package dev.loupe.embeddings.image;

import static dev.loupe.embeddings.image.ExifFixtures.DATE_TIME;
import static dev.loupe.embeddings.image.ExifFixtures.DATE_TIME_ORIGINAL;
import static dev.loupe.embeddings.image.ExifFixtures.EXIF_IFD;
import static dev.loupe.embeddings.image.ExifFixtures.ORIENTATION;
import static dev.loupe.embeddings.image.ExifFixtures.ascii;
import static dev.loupe.embeddings.image.ExifFixtures.exifPointer;
import static dev.loupe.embeddings.image.ExifFixtures.shortValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.ExifFixtures.Entry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ExifTest {

  private static final byte[] JPEG_START = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xdb, 0, 4, 0, 0, (byte) 0xff, (byte) 0xd9};
  private static final byte[] RAW_3X2 = new byte[3 * 3 * 2];

  private static final LocalDateTime ORIGINAL = LocalDateTime.of(2019, 8, 7, 6, 5, 4);
  private static final LocalDateTime MODIFIED = LocalDateTime.of(2020, 1, 2, 3, 4, 5);

  private static byte[] jpeg(byte[] tiff) {
    return ClipFixtures.withExif(JPEG_START, tiff);
  }

  private static byte[] png(byte[] tiff) {
    return ClipFixtures.png(3, 2, 2, 8, RAW_3X2, null, null, tiff);
  }

  // --- what is read ---------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void reads_orientation_and_both_dates_from_a_jpeg_in_either_byte_order(boolean little) {
    byte[] tiff = ExifFixtures.tiff(little, 6, "2020:01:02 03:04:05", "2019:08:07 06:05:04");

    Exif exif = Exif.of(jpeg(tiff));

    assertEquals(new Exif(6, Optional.of(ORIGINAL), Optional.of(MODIFIED)), exif);
    assertEquals(Optional.of(ORIGINAL), exif.taken(), "the original date is preferred");
  }

  @Test
  void falls_back_to_the_ifd0_date() {
    byte[] tiff = ExifFixtures.tiff(false, null, "2020:01:02 03:04:05", null);

    assertEquals(Optional.of(MODIFIED), Exif.of(jpeg(tiff)).taken());
  }

  @Test
  void reads_png_webp_and_tiff_containers() {
    byte[] tiff = ExifFixtures.tiff(true, 8, null, "2019:08:07 06:05:04");
    Exif expected = new Exif(8, Optional.of(ORIGINAL), Optional.empty());

    assertEquals(expected, Exif.of(png(tiff)), "png eXIf");
    assertEquals(expected, Exif.of(ExifFixtures.webpWithExif(tiff)), "webp EXIF");
    assertEquals(expected, Exif.of(tiff), "a TIFF file is itself the structure");
  }

  @Test
  void an_exif_header_in_a_png_or_webp_chunk_is_skipped() {
    byte[] tiff = ExifFixtures.tiff(false, 3, null, null);
    byte[] withHeader = ClipFixtures.insertAt(tiff, 0, "Exif\0\0".getBytes(StandardCharsets.US_ASCII));

    assertEquals(3, Exif.of(png(withHeader)).orientation(), "png");
    assertEquals(3, Exif.of(ExifFixtures.webpWithExif(withHeader)).orientation(), "webp");
  }

  @Test
  void a_png_exif_chunk_after_the_image_data_is_read_as_pillow_reads_it() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ClipFixtures.png(3, 2, 2, 8, ClipFixtures.zlibStored(new byte[2 * (1 + 9)]), null, null, null, false));
    ClipFixtures.chunk(out, "eXIf", ExifFixtures.tiff(true, 6, "2020:01:02 03:04:05", null));
    ClipFixtures.chunk(out, "IEND", new byte[0]);

    assertEquals(new Exif(6, Optional.empty(), Optional.of(MODIFIED)), Exif.of(out.toByteArray()));
  }

  @ParameterizedTest(name = "type {0}")
  @ValueSource(ints = {1, 3, 4, 7, 8, 9})
  void reads_the_orientation_stored_as_any_integer_type(int type) {
    byte[] tiff = ExifFixtures.tiffWithIfds(true, 0, List.of(new Entry(ORIENTATION, type, 1, 5, null)), List.of());

    assertEquals(5, Exif.of(tiff).orientation());
  }

  @ParameterizedTest(name = "orientation {0}")
  @ValueSource(ints = {0, 9, 65535})
  void an_orientation_outside_1_to_8_reads_as_upright(int orientation) {
    assertEquals(1, Exif.of(jpeg(ExifFixtures.tiff(false, orientation, null, null))).orientation());
  }

  @Test
  void an_orientation_of_another_type_or_count_reads_as_upright() {
    assertEquals(1, Exif.of(ExifFixtures.tiffWithIfds(true, 0, List.of(new Entry(ORIENTATION, 2, 1, 6, null)), List.of())).orientation(),
        "ASCII");
    assertEquals(1, Exif.of(ExifFixtures.tiffWithIfds(true, 0, List.of(new Entry(ORIENTATION, 3, 2, 6, null)), List.of())).orientation(),
        "two values");
  }

  @Test
  void the_first_exif_segment_of_a_jpeg_is_the_one_read() {
    byte[] second = jpeg(ExifFixtures.tiff(true, 3, null, null));
    byte[] both = ClipFixtures.withExif(second, ExifFixtures.tiff(true, 6, null, null));

    assertEquals(6, Exif.of(both).orientation());
  }

  @Test
  void an_unset_or_malformed_date_gives_none() {
    assertEquals(Optional.empty(), Exif.of(jpeg(ExifFixtures.tiff(true, 1, "0000:00:00 00:00:00", null))).taken());
    assertEquals(Optional.empty(), Exif.of(jpeg(ExifFixtures.tiff(true, 1, "    :  :     :  :  ", null))).taken());
    assertEquals(Optional.empty(), Exif.of(jpeg(ExifFixtures.tiff(true, 1, null, null))).taken());
  }

  @Test
  void an_image_without_exif_gives_absent() {
    assertEquals(Exif.ABSENT, Exif.of(JPEG_START), "jpeg");
    assertEquals(Exif.ABSENT, Exif.of(png(null)), "png");
    assertEquals(Exif.ABSENT, Exif.of(new byte[0]), "empty");
    assertEquals(Exif.ABSENT, Exif.of("GIF89a and so on".getBytes(StandardCharsets.US_ASCII)), "gif");
  }

  @Test
  void rejects_an_orientation_outside_1_to_8_naming_it() {
    var e = assertThrows(IllegalArgumentException.class, () -> new Exif(9, Optional.empty(), Optional.empty()));
    assertTrue(e.getMessage().contains("9"), e.getMessage());
  }

  // --- hostile input --------------------------------------------------------------------------

  @Test
  void a_date_pointing_outside_the_block_gives_none() {
    byte[] tiff = ExifFixtures.tiff(false, null, "2020:01:02 03:04:05", null);
    byte[] cut = Arrays.copyOf(tiff, tiff.length - 10); // the string's bytes are gone

    assertEquals(Optional.empty(), Exif.of(cut).taken());
    assertEquals(Optional.empty(), Exif.of(jpeg(cut)).taken(), "the rest of the file does not count");
  }

  @Test
  void offsets_and_counts_far_out_of_range_give_absent() {
    List<Entry> huge = List.of(
        new Entry(ORIENTATION, 3, 0xffff_ffffL, 6, null), // count of 4 G values
        new Entry(DATE_TIME, 2, 20, 0xffff_fff0L, null), // string at 4 GB
        new Entry(EXIF_IFD, 4, 1, 0xffff_ffffL, null)); // Exif IFD at 4 GB

    assertEquals(Exif.ABSENT, Exif.of(ExifFixtures.tiffWithIfds(true, 0, huge, List.of())));
    assertEquals(Exif.ABSENT, Exif.of(ExifFixtures.tiffWithIfds(true, 0, List.of(new Entry(DATE_TIME, 2, 0xffff_ffffL, 8, null)), List.of())),
        "a string of 4 GB");
    byte[] ifd0Far = ExifFixtures.tiff(false, 6, "2020:01:02 03:04:05", null);
    ByteBuffer.wrap(ifd0Far).putInt(4, 0x7fff_ffff);
    assertEquals(Exif.ABSENT, Exif.of(ifd0Far), "IFD0 past the end");
  }

  @Test
  void an_entry_count_larger_than_the_block_reads_only_the_entries_there() {
    byte[] tiff = ExifFixtures.tiffWithIfds(false, 0, List.of(shortValue(ORIENTATION, 6)), List.of());
    ByteBuffer.wrap(tiff).putShort(8, (short) 0xffff);

    assertEquals(6, Exif.of(tiff).orientation());
    assertEquals(1, Exif.of(ExifFixtures.tiffWithIfds(false, 0, List.of(shortValue(0x0100, 6)), List.of())).orientation(),
        "and finds nothing past them");
  }

  @Test
  void ifds_pointing_back_at_themselves_are_read_once() {
    // IFD0's next-IFD pointer and its Exif IFD pointer both lead back to IFD0 (offset 8).
    List<Entry> ifd0 = List.of(shortValue(ORIENTATION, 6), ascii(DATE_TIME, "2020:01:02 03:04:05"), new Entry(EXIF_IFD, 4, 1, 8, null));
    List<Entry> exifPointingAtItself = List.of(new Entry(EXIF_IFD, 4, 1, ExifFixtures.EXIF_IFD_OFFSET, null),
        ascii(DATE_TIME_ORIGINAL, "2019:08:07 06:05:04"));

    assertEquals(new Exif(6, Optional.empty(), Optional.of(MODIFIED)), Exif.of(ExifFixtures.tiffWithIfds(true, 8, ifd0, List.of())));
    assertEquals(new Exif(1, Optional.of(ORIGINAL), Optional.empty()),
        Exif.of(ExifFixtures.tiffWithIfds(true, 8, List.of(exifPointer()), exifPointingAtItself)));
  }

  @Test
  void a_segment_or_chunk_running_past_the_end_gives_absent() {
    byte[] tiff = ExifFixtures.tiff(true, 6, null, null);
    byte[] jpeg = jpeg(tiff);
    byte[] png = png(tiff);
    byte[] webp = ExifFixtures.webpWithExif(tiff);

    assertEquals(Exif.ABSENT, Exif.of(Arrays.copyOf(jpeg, 20)), "jpeg APP1 cut short");
    assertEquals(Exif.ABSENT, Exif.of(Arrays.copyOf(png, 50)), "png eXIf cut short");
    assertEquals(Exif.ABSENT, Exif.of(Arrays.copyOf(webp, webp.length - 4)), "webp EXIF cut short");
  }

  @Test
  void exif_after_the_start_of_scan_is_not_read() {
    byte[] sos = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xda, 0, 2, (byte) 0xff, (byte) 0xd9};
    byte[] afterScan = ClipFixtures.insertAt(sos, 6, Arrays.copyOfRange(jpeg(ExifFixtures.tiff(true, 6, null, null)), 2, 2 + 4 + 6 + 26));

    assertEquals(Exif.ABSENT, Exif.of(afterScan));
  }

  @Test
  void random_and_mangled_bytes_never_throw() {
    long seed = 20240305L;
    Random random = new Random(seed);
    byte[] tiff = ExifFixtures.tiff(true, 6, "2020:01:02 03:04:05", "2019:08:07 06:05:04");
    byte[][] good = {jpeg(tiff), png(tiff), ExifFixtures.webpWithExif(tiff), tiff};
    for (int i = 0; i < 20_000; i++) {
      byte[] pick = good[random.nextInt(good.length)];
      byte[] b = random.nextBoolean() ? pick.clone() : new byte[random.nextInt(64)];
      if (b.length != pick.length) {
        random.nextBytes(b);
        if (b.length > 4 && random.nextBoolean()) {
          b[0] = 'I';
          b[1] = 'I';
          b[2] = 42;
          b[3] = 0;
        }
      } else {
        for (int k = 0, n = 1 + random.nextInt(4); k < n; k++) {
          b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        }
        if (random.nextInt(4) == 0) {
          b = Arrays.copyOf(b, random.nextInt(b.length));
        }
      }
      byte[] input = b;
      try {
        Exif.of(input);
      } catch (RuntimeException e) {
        throw new AssertionError("seed " + seed + ", case " + i + ": " + Arrays.toString(input), e);
      }
    }
  }
}
