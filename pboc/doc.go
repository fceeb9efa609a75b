// Package pboc reads the PBOC 3.0 (JR/T 0025) bank application of a social
// security card the way a payment terminal does: application selection
// (PSE, PPSE, AID list), GET PROCESSING OPTIONS with a PDOL built from
// terminal data, reading the AFL records, GET DATA (counters, e-cash
// balance and limits), the transaction log, and SM2 offline data
// authentication (SDA, DDA, fDDA). Contactless cards are read with the
// qPBOC flow.
//
// Parsers (FCI, directory records, AFL, DOL, GPO responses, records, log
// records) are plain functions that never panic on hostile input and
// reject truncated data with errors wrapping ErrMalformed. The tag
// dictionary (LookupTag) names EMV, PBOC 3.0 and e-cash tags and is used by
// FormatTLV to pretty-print any TLV tree.
//
// Protocol notes and the software card's personalisation: docs/pboc.md.
package pboc
