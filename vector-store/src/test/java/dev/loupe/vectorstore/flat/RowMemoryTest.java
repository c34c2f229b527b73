package dev.loupe.vectorstore.flat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class RowMemoryTest {

  @Test
  void a_large_block_is_zeroed_writable_and_on_a_huge_page_boundary_where_linux_allows() {
    long bytes = 40L << 20;
    RowMemory.Block block = RowMemory.allocate(bytes);
    try (Arena arena = block.arena()) {
      assertTrue(block.segment().byteSize() >= bytes);
      assertEquals(0, block.segment().address() % 64);
      if (RowMemory.available()) {
        assertEquals(0, block.segment().address() % RowMemory.HUGE_PAGE, "mapped blocks start on a 2 MiB boundary");
        assertTrue(block.hugePagesAdvised(), "madvise(MADV_HUGEPAGE) accepted on Linux");
      }
      for (long at = 0; at < bytes; at += 4096) {
        assertEquals(0, block.segment().get(ValueLayout.JAVA_BYTE, at), "byte " + at + " is zero");
        block.segment().set(ValueLayout.JAVA_LONG_UNALIGNED, at, at * 31);
      }
      for (long at = 0; at < bytes; at += 4096) {
        assertEquals(at * 31, block.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, at));
      }
      // Whatever the kernel granted is reported, never more than the block.
      long huge = RowMemory.hugePageBytes(block.segment());
      assertTrue(huge <= block.segment().byteSize(), "huge-page bytes " + huge);
    }
    assertFalse(block.segment().scope().isAlive(), "closing the arena unmaps the block");
  }

  @Test
  void a_small_block_comes_from_the_arena() {
    RowMemory.Block block = RowMemory.allocate(1000);
    try (Arena arena = block.arena()) {
      assertFalse(block.hugePagesAdvised());
      assertTrue(block.segment().byteSize() >= 1000);
    }
  }
}
