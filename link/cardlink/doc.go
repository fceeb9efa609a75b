// Package cardlink builds the link bundle of package link from a physical
// card: the reader daemon's side of card linking. It reads the card (SSSE,
// and for level 2 the bank application) and has the card's PKI application
// sign the bundle; package link, which the e-card platform imports to verify
// bundles, stays free of the card stack.
//
// See docs/link.md for the format and the checks.
package cardlink
