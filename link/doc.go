// Package link is the card-linking proof of e-card issuance: the bundle the
// reader daemon builds from a physical social security card (identity, and
// for level 2 the bank account), signed by the card's SM2 PKI application
// over the platform's origin and nonce, and its verification on the
// platform side.
//
// See docs/link.md for the format and the checks.
package link
