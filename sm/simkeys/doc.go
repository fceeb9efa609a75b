// Package simkeys holds the deterministic, public-by-construction keys and
// test PKI of the simulation profile (shared/spec/sim-profile.md): the SSSE
// master and card keys, the SIM root CA and the card certificates it
// issues, the encryption key pairs and their envelopes, and the PBOC
// payment-system CA, issuer and ICC keys. The software card, the daemon and
// the tests compute the same keys and bytes independently. Never use them
// for real cards: anyone can recompute every private key here.
//
// The algorithms and formats these keys plug into (cryptograms, MACs,
// envelopes, certificates, ODA) are in package sm; this package only
// supplies SIM key material for them.
package simkeys
