// Package sim is a software China third-generation social security card
// (第三代社会保障卡, SSC): a faithful simulation of the card's COS, driven by a
// personalisation Profile, for tests, demos and the daemon's virtual reader.
//
// A Card serves the SSSE application (sx1.sh.社会保障: EF05 card data, EF06
// holder data, the directory EF at SFI 0B, EF07 fingerprint and EF08 photo
// behind key 0A, the PIN-protected public data of DF01; VERIFY, CHANGE
// REFERENCE DATA and RESET RETRY COUNTER of the PIN; UPDATE RECORD of EF05
// and EF06 after EXTERNAL AUTHENTICATE with key 04, as the counter issuance
// writes them) and, on 3rd-gen
// profiles, the SM2 PKI application (PKI.社会保障 / SS.CERT.ADF1: public key
// EF 0012, signing certificate EF 0018, encryption public key EF 0014 and
// certificate EF 0019, PIN hash, challenge-based user PIN and PSO COMPUTE
// DIGITAL SIGNATURE; the personalisation commands of docs/issuance.md,
// including the enveloped encryption key import 80 4E / 80 4A / 80 C2),
// and, when the profile has a pboc
// section (gen3 does), the PBOC 3.0 bank application of docs/pboc.md (PSE,
// PPSE, debit and e-cash ADFs with partial selection, GPO, records, GET
// DATA, SM2 DDA/fDDA with the SIM issuer keys of package sm, qPBOC offline
// e-cash purchases and the transaction log), over a contact link (ISO
// 7816-3 T=0: 61xx / GET RESPONSE / 6Cxx) or a contactless link (ISO
// 14443-4 as a PC/SC reader presents it). Both links serve the same applications and data;
// extended-length APDUs are answered directly on both when the profile
// switches them on (extended_length).
//
// Real-card facts follow shared/spec/ssc-facts.md. Where the sources leave a
// point open, the card follows the project's simulation profile
// (shared/spec/sim-profile.md); such code paths carry SIM in their names or
// doc comments. The SIM authentication keys sit behind sm.CardKeys
// (Options.Keys) so another key source can replace them.
//
// Built-in profiles: "gen3" (default, spec version 3.00, external
// authentication with key 0A protects the card number and EF06) and "gen2"
// (the 2nd-gen card of a real reader trace, version 1.00, free reading,
// contact only), and "gen3-blank" (the gen3 card before counter issuance:
// SSSEProfile.Blank, holder records all 00, unpersonalised PKI application). They are
// shipped as sim/profiles/gen3.yaml, sim/profiles/gen2.json and
// sim/profiles/gen3-blank.yaml, ready to be copied and edited.
//
// A Card implements Chip, so VPCD can put it into a pcscd virtual reader.
package sim
