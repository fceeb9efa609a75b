// Package sm: China's SM2/SM3/SM4 for cards — the commercial cryptography
// (商用密码) that third-generation social security cards use, wrapped for
// the card-side and host-side needs of this project: key diversification,
// authentication cryptograms and, later, MACs and SM2 signatures.
//
// The primitives come from github.com/emmansun/gmsm; this package only
// composes them. Functions and types whose names contain SIM implement the
// project's simulation profile (shared/spec/sim-profile.md): documented,
// deterministic stand-ins for algorithms that real cards keep inside the
// COS, the PSAM or the issuer's HSM. Callers should depend on the CardKeys
// interface, not on SIMKeys, so that a real HSM or card profile can replace
// the simulation without touching them.
package sm
