package sim

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The enveloped encryption key pair (docs/issuance.md, "The encryption key
// pair and certificate — the contract").

const (
	envDecryptPrefix = "804E000178" + "C2020013C1820070"
	envInstallPrefix = "804A021012" + "C110"
	envPubPrefix     = "80C2400046" + "C0020014CA40"
	envPrivPrefix    = "80C2C00126" + "C2020015CB20"
)

// envCommands returns the four import commands of blob for a card whose
// master key is mk, and the wrapped session key the card must answer.
func envCommands(t *testing.T, env *sm.EnvelopedKey, session, mk []byte) (dec, inst, pub, priv string) {
	t.Helper()
	wrapped, err := sm4ECB(mk, session)
	if err != nil {
		t.Fatal(err)
	}
	xy, err := sm.MarshalPublicKeyXY(env.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return envDecryptPrefix + hx(env.CipherBlock()), envInstallPrefix + hx(wrapped),
		envPubPrefix + hx(xy), envPrivPrefix + hx(env.EncryptedPrivateKey[:])
}

func TestPKIEncryptionPairPersonalised(t *testing.T) {
	c := newCard(t, "gen3", Contactless)
	cardID := h(c.Profile().SSSE.CardID)
	enc, _ := simkeys.EncryptionKey(cardID)
	want, _ := sm.MarshalCardPublicKey(&enc.PublicKey)
	selectPKI(t, c)
	run(t, c, step{"00A4000C020014", "9000"}, step{"00B0000042", hx(want) + "9000"},
		step{"00A4000C020015", "9000"}, step{"00B0000001", "6982"}, step{"00D6000001AA", "6982"},
		step{"00A4000C020019", "9000"})
	der := readAll(t, c, 0x70)
	cert, err := sm.DecodeCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := sm.CertificatePublicKey(cert); err != nil || !pub.Equal(&enc.PublicKey) {
		t.Errorf("EF 0019 key: %v", err)
	}
	pool, _ := simkeys.RootPool()
	if _, err := pool.VerifyEncryption(cert, cert.NotBefore); err != nil {
		t.Error(err)
	}
	if c.pkiADF().pkiAdmin.encKey == nil || !c.pkiADF().pkiAdmin.encKey.Equal(enc) {
		t.Error("EF 0015 does not hold the SIM encryption key")
	}
}

// pkiADF returns the PKI ADF of the card's file tree.
func (c *Card) pkiADF() *file {
	for _, ddf := range c.mf.children {
		if bytes.Equal(ddf.name, pkiDDFName) {
			for _, adf := range ddf.children {
				if adf.pkiAdmin != nil {
					return adf
				}
			}
		}
	}
	return nil
}

func TestPKIEnvelopeImport(t *testing.T) {
	c := newCard(t, "gen3", Contactless) // SIM signing key in EF 0013
	cardID := h(c.Profile().SSSE.CardID)
	pin, mk := simAdmin(c)
	// Another encryption key, so that the import visibly replaces the SIM one.
	encKey, _ := sm2.GenerateKey(rand.Reader)
	sign, _ := simkeys.CardSigningKey(cardID)
	session := bytes.Repeat([]byte{0x3C}, 16)
	env, err := sm.SealEnvelopedKey(nil, &sign.PublicKey, encKey, session)
	if err != nil {
		t.Fatal(err)
	}
	dec, inst, pub, priv := envCommands(t, env, session, mk[:])
	wrapped := inst[len(envInstallPrefix):]
	tampered := []byte(dec)
	// A C3 nibble, flipped as a hex digit ('F' ^ 1 would be no hex digit).
	nib := len(envDecryptPrefix) + 130
	tampered[nib] = fmt.Sprintf("%X", h("0" + string(tampered[nib]))[0]^1)[0]
	offCurve := pub[:len(pub)-2] + fmt.Sprintf("%02X", h(pub[len(pub)-2:])[0]^1)
	selectPKI(t, c)
	run(t, c,
		// Without the admin state.
		step{dec, "6982"}, step{inst, "6982"}, step{pub, "6982"}, step{priv, "6982"},
		step{adminVerifyCmd(t, c, pin), "9000"},
		// Nothing decrypted or installed yet.
		step{inst, "6985"}, step{priv, "6985"},
		// 80 4E: P1P2, Lc, header, ciphertext.
		step{"804E000078" + dec[10:], "6A86"},
		step{dec[:8] + "77" + dec[10:len(dec)-2], "6700"},
		step{envDecryptPrefix[:16] + "14" + dec[18:], "6A80"},
		step{string(tampered), "6A80"},
		step{dec, wrapped + "9000"},
		// 80 4A: P1P2, Lc, header, another key.
		step{"804A0110" + inst[8:], "6A86"},
		step{inst[:8] + "11" + inst[10:len(inst)-2], "6700"},
		step{inst + "00", "6700"},
		step{"804A021012C210" + wrapped, "6A80"},
		step{envInstallPrefix + hx(make([]byte, 16)), "6A80"},
		step{priv, "6985"}, // not installed
		step{inst, "9000"},
		// 80 C2: P1P2, Lc, header, point.
		step{"80C24001" + pub[8:], "6A86"},
		step{pub[:8] + "45" + pub[10:len(pub)-2], "6700"},
		step{priv[:8] + "25" + priv[10:len(priv)-2], "6700"},
		step{"80C2400046C0020015CA40" + pub[len(envPubPrefix):], "6A80"},
		step{"80C2C00126C2020015CA20" + priv[len(envPrivPrefix):], "6A80"},
		step{offCurve, "6A80"},
		step{pub, "9000"},
		step{envPrivPrefix + hx(make([]byte, 32)), "6A80"}, // not d for EF 0014
		step{priv, "9000"},
		step{priv, "6985"}, // the session key is forgotten
	)
	want, _ := sm.MarshalCardPublicKey(env.PublicKey)
	run(t, c, step{"00A4000C020014", "9000"}, step{"00B0000042", hx(want) + "9000"})
	if k := c.pkiADF().pkiAdmin.encKey; k == nil || !k.Equal(encKey) {
		t.Error("EF 0015 does not hold the imported key")
	}

	// Reselecting the ADF (or a reset) forgets a decrypted session key.
	run(t, c, step{dec, wrapped + "9000"}, step{selPKIADF, "*9000"}, step{adminVerifyCmd(t, c, pin), "9000"}, step{inst, "6985"})
	run(t, c, step{dec, wrapped + "9000"}, step{inst, "9000"})
	c.Reset()
	selectPKI(t, c)
	run(t, c, step{adminVerifyCmd(t, c, pin), "9000"}, step{priv, "6985"})

	// A blob for another card's key does not decrypt; the master key wraps.
	other, _ := simkeys.EnvelopedKey(h("411600D156000005005A3C9E17B2D40E"), nil)
	run(t, c, step{envDecryptPrefix + hx(other.CipherBlock()), "6A80"})
	simEnv, _ := simkeys.EnvelopedKey(cardID, nil)
	s, _ := simkeys.EnvelopeSessionKey(cardID)
	d2, i2, p2, k2 := envCommands(t, simEnv, s[:], mk[:])
	run(t, c, step{d2, i2[len(envInstallPrefix):] + "9000"}, step{i2, "9000"}, step{p2, "9000"}, step{k2, "9000"})
	enc, _ := simkeys.EncryptionKey(cardID)
	if k := c.pkiADF().pkiAdmin.encKey; !k.Equal(enc) {
		t.Error("EF 0015 does not hold the SIM key")
	}
}

func TestPKIEnvelopeBlank(t *testing.T) {
	c := newCard(t, "gen3-blank", Contactless)
	pin, mk := simAdmin(c)
	selectPKI(t, c)
	run(t, c, step{"00A4000C020014", "9000"}, step{"00B0000042", hx(make([]byte, 66)) + "9000"},
		step{"00A4000C020015", "9000"}, step{"00B0000001", "6982"})
	env, _ := simkeys.EnvelopedKey(h(c.Profile().SSSE.CardID), nil)
	s, _ := simkeys.EnvelopeSessionKey(h(c.Profile().SSSE.CardID))
	dec, _, pub, priv := envCommands(t, env, s[:], mk[:])
	run(t, c, step{adminVerifyCmd(t, c, pin), "9000"},
		step{dec, "6985"}, // no signing key yet
		step{pub, "9000"}, step{priv, "6985"})
	if c.pkiADF().pkiAdmin.encKey != nil {
		t.Error("blank card has an encryption key")
	}
}
