package simkeys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/sscard/ssc/sm"
)

// loadEnvelopeVector reads the enveloped key vector of package sm (its
// card is the gen2 card), hex-decoded by JSON field name.
func loadEnvelopeVector(t testing.TB) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile("../testdata/enveloped-key.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b := map[string][]byte{}
	for k, x := range v {
		if s, ok := x.(string); ok {
			if h, err := hex.DecodeString(s); err == nil {
				b[k] = h
			}
		}
	}
	return b
}

// TestEnvelopeVectorKeys: the SIM keys of the vector's card are the ones
// in the vector, and its signing key opens the blob to its encryption key.
func TestEnvelopeVectorKeys(t *testing.T) {
	b := loadEnvelopeVector(t)
	k, err := sm.ParseEnvelopedKey(b["blob"])
	if err != nil {
		t.Fatal(err)
	}
	cardID := b["card_id"]
	if s, _ := EnvelopeSessionKey(cardID); !bytes.Equal(s[:], b["session_key"]) {
		t.Errorf("EnvelopeSessionKey = %X", s)
	}
	enc, _ := EncryptionKey(cardID)
	var d [32]byte
	enc.D.FillBytes(d[:])
	if !bytes.Equal(d[:], b["private_key"]) {
		t.Errorf("EncryptionKey d = %X", d)
	}
	sign, _ := CardSigningKey(cardID)
	session, err := sm.DecryptCipherBlock(sign, k.CipherBlock())
	if err != nil || !bytes.Equal(session, b["session_key"]) {
		t.Fatalf("session key %X, %v", session, err)
	}
	priv, err := k.Open(sign)
	if err != nil {
		t.Fatal(err)
	}
	if priv.D.Cmp(enc.D) != 0 {
		t.Error("Open gives another key")
	}
}

// TestEnvelopedKey: a fresh envelope of the SIM key opens with the SIM
// signing key to the SIM encryption key.
func TestEnvelopedKey(t *testing.T) {
	cardID := b16(t)
	k, err := EnvelopedKey(cardID, nil)
	if err != nil {
		t.Fatal(err)
	}
	sign, _ := CardSigningKey(cardID)
	priv, err := k.Open(sign)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := EncryptionKey(cardID)
	if priv.D.Cmp(enc.D) != 0 {
		t.Error("Open gives another key")
	}
}

func b16(t testing.TB) []byte { return sm2Hex(t, testcaCardID) }

func TestEncryptionCertificate(t *testing.T) {
	b := loadEnvelopeVector(t)
	cardID := b["card_id"]
	enc, _ := EncryptionKey(cardID)
	der, err := HolderEncryptionCertificate(cardID, nil, "王五", "B87654321", testDay(2026, 12, 1), testDay(2036, 12, 1))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sm.DecodeCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sm.CertificatePublicKey(c)
	if err != nil || !pub.Equal(&enc.PublicKey) {
		t.Fatalf("key %v", err)
	}
	const want = 1<<2 | 1<<3 | 1<<4 // keyEncipherment, dataEncipherment, keyAgreement
	if int(c.KeyUsage) != want {
		t.Errorf("keyUsage %#x, want %#x", c.KeyUsage, want)
	}
	sig, err := HolderCertificate(cardID, nil, "王五", "B87654321", testDay(2026, 12, 1), testDay(2036, 12, 1))
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := sm.DecodeCertificate(sig)
	if sc.Subject.String() != c.Subject.String() || !sc.NotBefore.Equal(c.NotBefore) || !sc.NotAfter.Equal(c.NotAfter) || sc.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Errorf("signing %s %s..%s %X, encryption %s %s..%s %X", sc.Subject, sc.NotBefore, sc.NotAfter, sc.SerialNumber,
			c.Subject, c.NotBefore, c.NotAfter, c.SerialNumber)
	}
	pool, _ := RootPool()
	if _, err := pool.VerifyEncryption(c, testDay(2030, 1, 1)); err != nil {
		t.Error(err)
	}
	again, _ := HolderEncryptionCertificate(cardID, &enc.PublicKey, "王五", "B87654321", testDay(2026, 12, 1), testDay(2036, 12, 1))
	if !bytes.Equal(again, der) {
		t.Error("not deterministic")
	}
}

func testDay(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
