// Package sm: China's SM2/SM3/SM4 for cards — the commercial cryptography
// (商用密码) that third-generation social security cards use, with the 3DES
// that older cards and PBOC keys still need, wrapped for the card-side and
// host-side needs of this project.
//
// Symmetric half:
//
//   - Block ciphers as the card protocols use them (NewSM4, NewTDES,
//     NewDES; EncryptECB/CBC, DecryptECB/CBC), with size errors wrapping
//     ErrLength instead of panics.
//   - MACs with the padding an explicit choice (Padding): the PBOC SM4
//     CBC-MAC, the PBOC 3DES retail MAC, a full 3DES CBC-MAC and the SSC
//     PKI COS MAC that XOR-folds the final block (CBCMAC). Key material
//     sits behind MACer, so a PSAM or HSM can compute MACs instead.
//   - Key diversification (DiversifySM4, DiversifyTDES: one D || ~D level
//     per factor), process keys and the PBOC 3DES session key.
//   - Secure messaging as apdu middleware (NewSecureTransport): SM bit in
//     CLA, optional data encipherment, command MAC chained from a fresh
//     card challenge, optional response-MAC check.
//   - The PKI application's PIN cryptogram (PKIPINCryptogram).
//
// Asymmetric half: SM2 keys, Z and digests, signatures and their encodings
// (including the PKI application's EF 0012 form), SM2 X.509 certificates
// and chains, the GM/T 0016 enveloped encryption key pair the CA delivers
// (EnvelopedKey: ParseEnvelopedKey, SealEnvelopedKey, Open), and PBOC SM2
// offline data authentication objects.
//
// The primitives come from github.com/emmansun/gmsm (and crypto/des for
// DES/3DES); this package only composes them. Functions and constants
// whose names or comments say SIM implement choices of the project's
// simulation profile (shared/spec/sim-profile.md): documented,
// deterministic stand-ins for algorithms that real cards keep inside the
// COS, the PSAM or the issuer's HSM. The SIM keys and test PKI themselves
// (master and card keys, the SIM root CA, the PBOC CA) are in sm/simkeys,
// which this package does not import. Callers should depend on the
// interfaces (CardKeys, MACer, Encipherer), not on the SIM or local-key
// implementations, so that a real HSM or card profile can replace them
// without touching callers.
//
// Test vectors shared with other implementations are in testdata/*.json.
package sm
