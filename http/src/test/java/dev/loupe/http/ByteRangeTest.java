package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ByteRangeTest {
  private static ByteRange.Request parse(String header) {
    return ByteRange.parse(header, 100);
  }

  private static ByteRange.Request part(long first, long last) {
    return new ByteRange.Part(new ByteRange(first, last));
  }

  @Test
  void a_single_range_is_resolved_against_the_size() {
    assertEquals(part(10, 29), parse("bytes=10-29"));
    assertEquals(part(10, 99), parse("bytes=10-"));
    assertEquals(part(90, 99), parse("bytes=-10"));
    assertEquals(part(0, 99), parse("bytes=-1000"));
    assertEquals(part(95, 99), parse("bytes=95-1000"));
    assertEquals("bytes 10-29/100", new ByteRange(10, 29).contentRange(100));
    assertEquals(20, new ByteRange(10, 29).length());
  }

  @Test
  void ranges_past_the_end_are_unsatisfiable() {
    assertEquals(new ByteRange.Unsatisfiable(), parse("bytes=100-"));
    assertEquals(new ByteRange.Unsatisfiable(), parse("bytes=-0"));
    assertEquals(new ByteRange.Unsatisfiable(), ByteRange.parse("bytes=0-", 0));
  }

  @Test
  void headers_it_does_not_understand_send_the_whole_file() {
    assertEquals(new ByteRange.Whole(), parse(null));
    assertEquals(new ByteRange.Whole(), parse("bytes=0-1,5-6"));
    assertEquals(new ByteRange.Whole(), parse("items=0-1"));
    assertEquals(new ByteRange.Whole(), parse("bytes=-"));
    assertEquals(new ByteRange.Whole(), parse("bytes=30-10"));
    assertEquals(new ByteRange.Whole(), parse("bytes=99999999999999999999-"));
  }
}
