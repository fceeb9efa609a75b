package sm

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

type envelopeVector struct {
	CardID, Blob, SessionKey, PrivateKey, PublicKey, EncryptedPrivateKey, C1, C3, C2 string
}

func loadEnvelopeVector(t testing.TB) (envelopeVector, map[string][]byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/enveloped-key.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		CardID              string `json:"card_id"`
		Blob                string `json:"blob"`
		SessionKey          string `json:"session_key"`
		PrivateKey          string `json:"private_key"`
		PublicKey           string `json:"public_key"`
		EncryptedPrivateKey string `json:"encrypted_private_key"`
		C1                  string `json:"c1"`
		C3                  string `json:"c3"`
		C2                  string `json:"c2"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	ev := envelopeVector(v)
	b := map[string][]byte{}
	for k, s := range map[string]string{"card_id": v.CardID, "blob": v.Blob, "session_key": v.SessionKey,
		"private_key": v.PrivateKey, "public_key": v.PublicKey, "encrypted_private_key": v.EncryptedPrivateKey,
		"c1": v.C1, "c3": v.C3, "c2": v.C2} {
		x, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		b[k] = x
	}
	return ev, b
}

// TestEnvelopedKeyVector parses the fixed blob of testdata and checks every
// field, the ssc-facts §3.5 hex offsets, and that the SIM signing key of
// the card opens it to the SIM encryption key.
func TestEnvelopedKeyVector(t *testing.T) {
	ev, b := loadEnvelopeVector(t)
	blob := b["blob"]
	k, err := ParseEnvelopedKey(blob)
	if err != nil {
		t.Fatal(err)
	}
	xy, _ := MarshalPublicKeyXY(k.PublicKey)
	for name, c := range map[string][2][]byte{
		"encrypted_private_key": {k.EncryptedPrivateKey[:], b["encrypted_private_key"]},
		"public_key":            {xy, b["public_key"]},
		"c1":                    {k.C1[:], b["c1"]},
		"c3":                    {k.C3[:], b["c3"]},
		"c2":                    {k.C2[:], b["c2"]},
	} {
		if !bytes.Equal(c[0], c[1]) {
			t.Errorf("%s = %X, want %X", name, c[0], c[1])
		}
	}
	// ssc-facts §3.5: offsets in the hex string of the blob.
	h := ev.Blob
	for _, c := range []struct {
		name     string
		from, to int
		want     string
	}{
		{"priv", 88, 152, ev.EncryptedPrivateKey}, {"X", 224, 288, ev.PublicKey[:64]}, {"Y", 352, 416, ev.PublicKey[64:]},
		{"C1.X", 480, 544, ev.C1[:64]}, {"C1.Y", 608, 672, ev.C1[64:]}, {"C3", 672, 736, ev.C3}, {"C2", 744, 776, ev.C2},
	} {
		if h[c.from:c.to] != c.want {
			t.Errorf("hex [%d:%d] (%s) = %s, want %s", c.from, c.to, c.name, h[c.from:c.to], c.want)
		}
	}
	if got := k.CipherBlock(); !bytes.Equal(got, append(append(b["c1"], b["c3"]...), b["c2"]...)) || len(got) != EnvelopedCipherBlockSize {
		t.Errorf("cipher block %X", got)
	}
	again, err := k.Marshal()
	if err != nil || !bytes.Equal(again, blob) {
		t.Fatalf("Marshal = %X, %v", again, err)
	}
	// The SIM signing key of the card opens it to the SIM encryption key
	// (sm/simkeys checks that it derives these values).
	sign := simCardSigningKey(t, b["card_id"])
	session, err := DecryptCipherBlock(sign, k.CipherBlock())
	if err != nil || !bytes.Equal(session, b["session_key"]) {
		t.Fatalf("session key %X, %v", session, err)
	}
	priv, err := k.Open(sign)
	if err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	priv.D.FillBytes(d[:])
	if !bytes.Equal(d[:], b["private_key"]) {
		t.Errorf("Open gives d = %X", d)
	}
	// Another recipient cannot open it.
	other := seedKey([]byte("SSC-SIM-ENC"), b["card_id"])
	if _, err := k.Open(other); !errors.Is(err, ErrEnvelopedKey) {
		t.Errorf("Open with another key: %v", err)
	}
}

func TestEnvelopedKeyRoundTrip(t *testing.T) {
	recipient, _ := sm2.GenerateKey(rand.Reader)
	encKey, _ := sm2.GenerateKey(rand.Reader)
	for _, session := range [][]byte{nil, bytes.Repeat([]byte{0x5A}, 16)} {
		k, err := SealEnvelopedKey(rand.Reader, &recipient.PublicKey, encKey, session)
		if err != nil {
			t.Fatal(err)
		}
		b, err := k.Marshal()
		if err != nil || len(b) != EnvelopedKeySize {
			t.Fatalf("Marshal: %d bytes, %v", len(b), err)
		}
		k2, err := ParseEnvelopedKey(b)
		if err != nil {
			t.Fatal(err)
		}
		if !k2.Equal(k) {
			t.Error("parse(marshal(k)) != k")
		}
		priv, err := k2.Open(recipient)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.Equal(encKey) {
			t.Error("opened another key")
		}
		if session != nil {
			got, _ := DecryptCipherBlock(recipient, k2.CipherBlock())
			if !bytes.Equal(got, session) {
				t.Errorf("session %X", got)
			}
		}
	}
	if _, err := SealEnvelopedKey(nil, &recipient.PublicKey, encKey, make([]byte, 15)); !errors.Is(err, ErrLength) {
		t.Errorf("short session key: %v", err)
	}
	if _, err := SealEnvelopedKey(nil, nil, encKey, nil); !errors.Is(err, ErrEnvelopedKey) {
		t.Errorf("nil recipient: %v", err)
	}
}

// TestParseEnvelopedKeyRejects: every truncated prefix, trailing bytes,
// each fixed field changed, each padding byte set, points off the curve.
func TestParseEnvelopedKeyRejects(t *testing.T) {
	_, b := loadEnvelopeVector(t)
	blob := b["blob"]
	for n := 0; n < len(blob); n++ {
		if _, err := ParseEnvelopedKey(blob[:n]); !errors.Is(err, ErrEnvelopedKey) || !errors.Is(err, ErrLength) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
	if _, err := ParseEnvelopedKey(append(bytes.Clone(blob), 0)); !errors.Is(err, ErrLength) {
		t.Errorf("trailing byte: %v", err)
	}
	for _, f := range []struct {
		name string
		off  int
		v    uint32
	}{
		{"Version", 0, 2}, {"ulSymmAlgID", 4, 0x402}, {"ulSymmAlgID", 4, 0x01040000}, {"ulBits", 8, 128},
		{"PubKey.BitLen", 76, 512}, {"CipherLen", 368, 32}, {"CipherLen", 368, 0x10000000},
	} {
		m := bytes.Clone(blob)
		binary.LittleEndian.PutUint32(m[f.off:], f.v)
		_, err := ParseEnvelopedKey(m)
		var ee *EnvelopedKeyError
		if !errors.As(err, &ee) || ee.Field != f.name || ee.Offset != f.off {
			t.Errorf("%s = %#x: %v", f.name, f.v, err)
		}
	}
	for _, off := range []int{12, 80, 144, 208, 272} {
		for i := 0; i < 32; i++ {
			m := bytes.Clone(blob)
			m[off+i] = 1
			var ee *EnvelopedKeyError
			if _, err := ParseEnvelopedKey(m); !errors.As(err, &ee) || ee.Offset != off+i {
				t.Fatalf("padding byte at %d: %v", off+i, err)
			}
		}
	}
	for _, off := range []int{80 + 63, 144 + 63, 208 + 63, 272 + 63} {
		m := bytes.Clone(blob)
		m[off] ^= 1
		if _, err := ParseEnvelopedKey(m); !errors.Is(err, ErrSM2NotOnCurve) || !errors.Is(err, ErrEnvelopedKey) {
			t.Errorf("point changed at %d: %v", off, err)
		}
	}
}

// TestEnvelopedKeyTampered: a changed C3, C2 or encrypted private key is
// caught when opening.
func TestEnvelopedKeyTampered(t *testing.T) {
	_, b := loadEnvelopeVector(t)
	sign := simCardSigningKey(t, b["card_id"])
	for _, off := range []int{336, 372, 44} {
		m := bytes.Clone(b["blob"])
		m[off] ^= 0x80
		k, err := ParseEnvelopedKey(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Open(sign); !errors.Is(err, ErrEnvelopedKey) {
			t.Errorf("byte %d changed: %v", off, err)
		}
	}
	if _, err := DecryptCipherBlock(sign, make([]byte, 111)); !errors.Is(err, ErrLength) {
		t.Errorf("short block: %v", err)
	}
	if _, err := OpenPrivateKey(make([]byte, 16), make([]byte, 31), nil); !errors.Is(err, ErrLength) {
		t.Errorf("short private key: %v", err)
	}
}

func FuzzParseEnvelopedKey(f *testing.F) {
	_, b := loadEnvelopeVector(f)
	f.Add(b["blob"])
	f.Add(b["blob"][:100])
	f.Add(make([]byte, EnvelopedKeySize))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParseEnvelopedKey(in)
		if err != nil {
			if !errors.Is(err, ErrEnvelopedKey) {
				t.Fatalf("error does not wrap ErrEnvelopedKey: %v", err)
			}
			return
		}
		out, err := k.Marshal()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("Marshal(Parse(x)) != x: %v", err)
		}
	})
}

func testDay(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
