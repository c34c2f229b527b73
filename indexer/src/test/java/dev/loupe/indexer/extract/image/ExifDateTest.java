package dev.loupe.indexer.extract.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ExifDateTest {

  private static final byte[] JPEG_START = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xdb, 0, 4, 0, 0, (byte) 0xff, (byte) 0xd9};
  private static final byte[] PNG_START = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
      0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0, 0, 0, 0};

  private static final LocalDateTime ORIGINAL = LocalDateTime.of(2019, 8, 7, 6, 5, 4);
  private static final LocalDateTime MODIFIED = LocalDateTime.of(2020, 1, 2, 3, 4, 5);

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void prefers_the_original_date_in_a_jpeg_in_either_byte_order(boolean little) {
    byte[] tiff = ExifFixtures.tiff(little, 6, "2020:01:02 03:04:05", "2019:08:07 06:05:04");

    assertEquals(Optional.of(ORIGINAL), ExifDate.of(ExifFixtures.jpegWithExif(JPEG_START, tiff)));
  }

  @Test
  void falls_back_to_the_ifd0_date() {
    byte[] tiff = ExifFixtures.tiff(false, null, "2020:01:02 03:04:05", null);

    assertEquals(Optional.of(MODIFIED), ExifDate.of(ExifFixtures.jpegWithExif(JPEG_START, tiff)));
  }

  @Test
  void reads_png_webp_and_tiff_containers() {
    byte[] tiff = ExifFixtures.tiff(true, null, null, "2019:08:07 06:05:04");

    assertEquals(Optional.of(ORIGINAL), ExifDate.of(ExifFixtures.pngWithExif(PNG_START, tiff)), "png eXIf");
    assertEquals(Optional.of(ORIGINAL), ExifDate.of(ExifFixtures.webpWithExif(tiff)), "webp EXIF");
    assertEquals(Optional.of(ORIGINAL), ExifDate.of(tiff), "a TIFF file is itself the structure");
  }

  @Test
  void an_unset_or_malformed_date_gives_none() {
    assertEquals(Optional.empty(), ExifDate.of(ExifFixtures.jpegWithExif(JPEG_START, ExifFixtures.tiff(true, 1, "0000:00:00 00:00:00", null))));
    assertEquals(Optional.empty(), ExifDate.of(ExifFixtures.jpegWithExif(JPEG_START, ExifFixtures.tiff(true, 1, "    :  :     :  :  ", null))));
    assertEquals(Optional.empty(), ExifDate.of(ExifFixtures.jpegWithExif(JPEG_START, ExifFixtures.tiff(true, 1, null, null))));
    assertEquals(Optional.empty(), ExifDate.of(JPEG_START), "no EXIF at all");
    assertEquals(Optional.empty(), ExifDate.of(new byte[0]));
  }

  @Test
  void a_date_pointing_outside_the_segment_gives_none() {
    byte[] tiff = ExifFixtures.tiff(false, null, "2020:01:02 03:04:05", null);
    byte[] cut = Arrays.copyOf(tiff, tiff.length - 10); // the string's bytes are gone

    assertEquals(Optional.empty(), ExifDate.of(cut));
  }

  @Test
  void random_and_mangled_bytes_never_throw() {
    long seed = 20240305L;
    Random random = new Random(seed);
    byte[] good = ExifFixtures.jpegWithExif(JPEG_START, ExifFixtures.tiff(true, 6, "2020:01:02 03:04:05", "2019:08:07 06:05:04"));
    for (int i = 0; i < 5_000; i++) {
      byte[] b = random.nextBoolean() ? good.clone() : new byte[random.nextInt(64)];
      if (b.length != good.length) {
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
      }
      byte[] input = b;
      try {
        ExifDate.of(input);
      } catch (RuntimeException e) {
        throw new AssertionError("seed " + seed + ", case " + i + ": " + Arrays.toString(input), e);
      }
    }
  }
}
