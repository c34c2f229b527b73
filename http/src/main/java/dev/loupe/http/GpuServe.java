package dev.loupe.http;

import dev.loupe.gpu.CudaException;
import dev.loupe.gpu.Gpu;
import dev.loupe.vectorstore.HybridIndex;
import dev.loupe.vectorstore.VectorSource;
import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.gpu.GpuHotTier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code loupe serve --gpu}: wraps each index the pipeline opens in a {@link GpuHotTier} (fp16
 * mirror on device 0, exact k-NN from there), or leaves it on the CPU path with a warning when
 * there is no GPU, the store cannot list its vectors (OpenSearch), or the mirror does not fit.
 * One log line per index says which path answers its k-NN searches.
 */
final class GpuServe {
  private static final Logger log = LoggerFactory.getLogger(GpuServe.class);

  private GpuServe() {}

  /** The wrapping {@link Pipeline#open} applies to each index, given what {@link Gpu#detect()} found. */
  static UnaryOperator<HybridIndex> hotTier(Gpu.Detection detection) {
    return switch (detection) {
      case Gpu.Unavailable cpu -> index -> {
        log.warn("serve --gpu: k-NN of {} on the CPU path; {}", index, cpu.describe());
        return index;
      };
      case Gpu.Available gpu -> index -> {
        if (!(index instanceof VectorSource source)) {
          log.warn("serve --gpu: k-NN of {} on the CPU path; this store cannot list its vectors for a GPU mirror", index);
          return index;
        }
        try {
          GpuHotTier tier = GpuHotTier.open(index, source, gpu, Encoding.F16);
          log.info("serve --gpu: k-NN of {} on the GPU ({}): {} vectors, {} MiB of device memory, kernels {}", index,
              gpu.device().describe(), tier.mirror().size(), tier.mirror().deviceBytes() >> 20, tier.mirror().kernels());
          return tier;
        } catch (CudaException e) {
          log.warn("serve --gpu: k-NN of {} on the CPU path; the GPU mirror failed: {}", index, e.getMessage());
          return index;
        }
      };
    };
  }
}
