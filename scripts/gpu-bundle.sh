#!/usr/bin/env bash
# Builds a self-contained `loupe bench gpu` for a machine with an NVIDIA driver (and optionally
# Python with PyTorch) but no Java: a jlink runtime (java.base, jdk.incubator.vector, java.logging)
# plus the four jars the benchmarks load (gpu-kernels, vector-store, llm-runtime, http), and a launcher.
#
#   scripts/gpu-bundle.sh [OUT]     default OUT: target/gpu-bundle (ignored by git)
#   OUT/loupe bench gpu [options]   on the GPU machine; `OUT/loupe bench gpu --help` lists them
#   OUT/loupe bench llm --gpu [options]   the LLM CUDA backend's decode rate (e.g. --random 1b --quant q4_0)
#
# Set MVN_FLAGS (e.g. -o) for the Maven build, SKIP_BUILD=1 to reuse the jars already built.
# The bundle is about 50 MB: small enough to copy to a GPU machine and run there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/target/gpu-bundle}"

java_home="${JAVA_HOME:-}"
if [[ -z "$java_home" || ! -x "$java_home/bin/jlink" ]]; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* "$root/.jdk"/*; do
    if [[ -x "$candidate/bin/jlink" ]]; then java_home="$candidate"; break; fi
  done
fi
if [[ -z "$java_home" || ! -x "$java_home/bin/jlink" ]]; then
  echo "gpu-bundle: no JDK 25 with jlink found; set JAVA_HOME to one" >&2
  exit 1
fi
export JAVA_HOME="$java_home"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$root" && mvn -B -q ${MVN_FLAGS:-} -Dstyle.color=never -pl http -am package -DskipTests -Dloupe.opensearch.skip=true)
fi

jar_of() {
  local found
  found="$(ls "$root/$1/target/$2"-*.jar 2>/dev/null | grep -v -e '-tests.jar$' -e '-sources.jar$' | head -1)"
  if [[ -z "$found" ]]; then
    echo "gpu-bundle: no $2 jar under $1/target; build first (drop SKIP_BUILD)" >&2
    exit 1
  fi
  echo "$found"
}

rm -rf "$out"
mkdir -p "$out/lib"
cp "$(jar_of gpu-kernels loupe-gpu-kernels)" "$(jar_of vector-store loupe-vector-store)" \
  "$(jar_of llm-runtime loupe-llm-runtime)" "$(jar_of http loupe-http)" "$out/lib/"

"$JAVA_HOME/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging \
  --output "$out/runtime" --strip-debug --no-header-files --no-man-pages --compress=zip-6

cat > "$out/loupe" <<'LAUNCHER'
#!/bin/sh
# Self-contained `loupe bench gpu` (built by scripts/gpu-bundle.sh). Extra JVM flags: LOUPE_JAVA_OPTS.
here="$(cd "$(dirname "$0")" && pwd)"
main=dev.loupe.http.GpuBench
if [ "$1" = "bench" ] && [ "$2" = "gpu" ]; then
  shift 2
elif [ "$1" = "bench" ] && [ "$2" = "llm" ] && [ "$3" = "--gpu" ]; then
  shift 3
  main=dev.loupe.http.LlmGpuBench
else
  echo "this bundle runs only: $0 bench gpu [options] | $0 bench llm --gpu [options]" >&2
  exit 2
fi
# shellcheck disable=SC2086
exec "$here/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED $LOUPE_JAVA_OPTS \
  -cp "$here/lib/*" "$main" "$@"
LAUNCHER
chmod +x "$out/loupe"
echo "gpu-bundle: $out ($(du -sh "$out" | cut -f1)); run: $out/loupe bench gpu, $out/loupe bench llm --gpu"
