/** Office, e-mail, HTML and text documents through Apache Tika's parsers. */
package dev.loupe.indexer.extract.tika;
