/**
 * Video keyframes with FFmpeg through the {@code org.bytedeco} presets: {@link
 * dev.loupe.indexer.extract.video.VideoExtractor} decodes the video stream of a file and keeps its
 * first frame, a frame at each scene change and at least one every keyframe interval, each with its
 * timestamp.
 */
package dev.loupe.indexer.extract.video;
