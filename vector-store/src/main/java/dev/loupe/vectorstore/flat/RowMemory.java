package dev.loupe.vectorstore.flat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Off-heap memory for the flat index's rows, backed by 2 MiB transparent huge pages where Linux
 * offers them.
 *
 * <p>A scan of a 2 GB row block through 4 KiB pages walks half a million page-table entries, each
 * a TLB miss under a hypervisor's nested paging; with 2 MiB pages it walks a thousand. Linux gives
 * huge pages to anonymous memory only when the whole system says {@code always}, or, in the common
 * {@code madvise} mode, to regions that ask before they are touched. {@link Arena#allocate} zeroes
 * (touches) its memory before the caller sees it, so large blocks are mapped here instead: an
 * anonymous {@code mmap} aligned to 2 MiB, {@code madvise(MADV_HUGEPAGE)}, then handed to an
 * {@link Arena} that unmaps it on close. Small blocks, other systems and any failure of the native
 * calls fall back to {@code Arena.allocate}; both are zeroed, so callers see no difference.
 *
 * <p>The vector benchmark measures its memory-bandwidth yardstick on a block from here too, so
 * scans and yardstick run on the same kind of pages.
 *
 * <p>Thread-safe: stateless apart from the looked-up native functions.
 */
public final class RowMemory {
  public static final long HUGE_PAGE = 2L << 20;
  /** Blocks smaller than this are not worth a separate mapping. */
  static final long MIN_HUGE_BYTES = 16L << 20;

  private static final int PROT_READ_WRITE = 0x1 | 0x2;
  private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
  private static final int MADV_HUGEPAGE = 14;
  private static final Native NATIVE = Native.find();

  private RowMemory() {}

  /** Memory of at least {@code bytes} bytes, zeroed, 64-byte aligned, freed when the arena closes. */
  public record Block(Arena arena, MemorySegment segment, boolean hugePagesAdvised) {}

  public static Block allocate(long bytes) {
    if (NATIVE != null && bytes >= MIN_HUGE_BYTES) {
      Block b = NATIVE.map(bytes);
      if (b != null) {
        return b;
      }
    }
    Arena arena = Arena.ofShared();
    return new Block(arena, arena.allocate(Math.max(1, bytes), 64), false);
  }

  /** Whether this JVM can ask for huge pages (Linux with mmap and madvise reachable). */
  public static boolean available() {
    return NATIVE != null;
  }

  /**
   * Bytes of {@code segment} the kernel backs with huge pages now, from {@code /proc/self/smaps};
   * -1 where that file is not readable.
   */
  public static long hugePageBytes(MemorySegment segment) {
    long start = segment.address(), end = start + segment.byteSize();
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
      long total = 0;
      boolean inside = false;
      for (String line : lines) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        if (dash > 0 && space > dash && HexFormat.isHexDigit(line.charAt(0))) {
          long from = Long.parseUnsignedLong(line.substring(0, dash), 16);
          long to = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
          inside = from < end && to > start;
        } else if (inside && line.startsWith("AnonHugePages:")) {
          total += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
      return total;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The system's transparent huge page mode ({@code always}, {@code madvise}, {@code never}), or "unknown". */
  public static String transparentHugePages() {
    try {
      String s = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
      int open = s.indexOf('['), close = s.indexOf(']');
      return open >= 0 && close > open ? s.substring(open + 1, close) : "unknown";
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private record Native(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {
    static Native find() {
      if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
          || Boolean.getBoolean("loupe.flat.noHugePages")) {
        return null;
      }
      try {
        Linker linker = Linker.nativeLinker();
        var lookup = linker.defaultLookup();
        MethodHandle mmap = linker.downcallHandle(lookup.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MethodHandle madvise = linker.downcallHandle(lookup.find("madvise").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        MethodHandle munmap = linker.downcallHandle(lookup.find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        return new Native(mmap, madvise, munmap);
      } catch (RuntimeException | LinkageError e) { // no such symbol, native access denied
        return null;
      }
    }

    /** An aligned anonymous mapping with the huge-page advice, or null if the kernel refused. */
    Block map(long bytes) {
      long length = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
      long mapped = length + HUGE_PAGE; // room to start on a 2 MiB boundary
      try {
        MemorySegment base = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        if (base.address() == -1L || base.address() == 0L) { // MAP_FAILED
          return null;
        }
        long aligned = (base.address() + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        int advised = (int) madvise.invokeExact(MemorySegment.ofAddress(aligned), length, MADV_HUGEPAGE);
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(aligned).reinterpret(length, arena, ignored -> unmap(base, mapped));
        return new Block(arena, segment, advised == 0);
      } catch (Throwable t) {
        return null;
      }
    }

    private void unmap(MemorySegment base, long length) {
      try {
        int ignored = (int) munmap.invokeExact(base, length);
      } catch (Throwable t) {
        // Nothing to do: the mapping stays until the process ends.
      }
    }
  }
}
