// Package keysystem holds the adapters of the key systems and certificate
// authorities that sscard's card flows talk to through interfaces: the
// SIM software key system and CA of the simulation profile (software cards
// only) and the HTTP adapters of a provincial key system and CA (SIM
// protocols). The interfaces (sscard.HSM, sscard.WriteKeyHSM,
// sscard.CertIssuer) and the wire strings stay in sscard, so sscard itself
// never speaks HTTP.
package keysystem
