package dev.loupe.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The build check that the committed PTX was generated from the current CUDA sources: each
 * {@code src/main/cuda/NAME.cu} has {@code src/main/resources/dev/loupe/gpu/kernels/NAME.ptx}
 * whose first line records the source's sha256, and every {@code extern "C" __global__} kernel of
 * the source is an {@code .entry} of the PTX.
 */
class PtxUpToDateTest {
  private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s*)?(\\w+)\\s*\\(");

  @Test
  void every_cuda_source_has_ptx_generated_from_its_current_text() throws IOException, NoSuchAlgorithmException {
    Path module = moduleDir();
    Path cuda = module.resolve("src/main/cuda"), ptxDir = module.resolve("src/main/resources/dev/loupe/gpu/kernels");
    List<Path> sources;
    try (Stream<Path> files = Files.list(cuda)) {
      sources = files.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
    }
    assertTrue(sources.size() >= 2, "no .cu files under " + cuda);
    for (Path cu : sources) {
      String name = cu.getFileName().toString().replaceFirst("\\.cu$", "");
      Path ptx = ptxDir.resolve(name + ".ptx");
      if (!Files.exists(ptx)) {
        fail(ptx + " is missing: run scripts/build-ptx.sh and commit its output");
      }
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(cu)));
      String header = Files.readAllLines(ptx).getFirst();
      String expected = "// loupe-source-sha256: " + sha + " " + name + ".cu";
      if (!header.equals(expected)) {
        fail(cu + " changed since " + ptx + " was generated (PTX header '" + header + "', source sha256 " + sha
            + "): run scripts/build-ptx.sh and commit the PTX");
      }
      String text = Files.readString(ptx);
      Matcher m = KERNEL.matcher(Files.readString(cu));
      int kernels = 0;
      while (m.find()) {
        kernels++;
        assertTrue(text.contains(".entry " + m.group(1) + "("), ptx + " lacks the kernel " + m.group(1));
      }
      assertTrue(kernels > 0, cu + " declares no extern \"C\" kernel");
    }
    assertEquals(sources.size(), countPtx(ptxDir), "a .ptx in " + ptxDir + " has no .cu; delete it");
  }

  private static long countPtx(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".ptx")).count();
    }
  }

  private static Path moduleDir() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("src/main/cuda")) ? here : here.resolve("gpu-kernels");
  }
}
