/**
 * The ingest journal: a durable, checksummed record of which content each watched file has and
 * whether that content is pending, indexed (with its item ids), failed (with the error) or being
 * deleted, so that after a crash every file ends up indexed exactly once. See {@link
 * dev.loupe.indexer.journal.IngestJournal} for the protocol the pipeline follows and what is
 * durable when.
 */
package dev.loupe.indexer.journal;
