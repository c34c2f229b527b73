/**
 * CUDA kernels and their Foreign Function &amp; Memory bindings over the CUDA driver API.
 *
 * <p>Will hold the hand-written downcalls ({@code cuInit}, memory, module load, launch, streams,
 * graphs), the PTX built from the {@code .cu} sources, and the probes that decide at start-up
 * whether a GPU path is used. Depends on the JDK only; it is the only module that touches CUDA.
 */
package dev.loupe.gpu;
