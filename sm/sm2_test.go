package sm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// seedKey derives a test key pair with the SIM profile's rule: d =
// SM3(parts...) reduced as PrivateKeyFromScalar does. The SIM keys
// themselves live in sm/simkeys, which imports this package, so internal
// tests recompute the few they need from the documented seeds.
func seedKey(parts ...[]byte) *sm2.PrivateKey {
	h := sm3.New()
	for _, p := range parts {
		h.Write(p)
	}
	priv, err := PrivateKeyFromScalar(h.Sum(nil))
	if err != nil {
		panic(err) // unreachable: SM3 gives 32 bytes
	}
	return priv
}

// simCardSigningKey is simkeys.CardSigningKey(cardID).
func simCardSigningKey(t testing.TB, cardID []byte) *sm2.PrivateKey {
	t.Helper()
	if len(cardID) != CardIDSize {
		t.Fatalf("card id is %d bytes", len(cardID))
	}
	return seedKey([]byte("SSC-SIM-CARD"), cardID)
}

// sm2Hex decodes hex (spaces allowed) or fails the test.
func sm2Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// The sm2p256v1 vector of ssc-facts §7 (GM/T 0003.5 / GB/T 32918.5 annex
// A): ID 1234567812345678, M = "message digest".
const (
	sm2VecD = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
	sm2VecX = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
	sm2VecY = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
	sm2VecZ = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
	sm2VecE = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
	sm2VecR = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
	sm2VecS = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
	sm2VecM = "message digest"
	// n of sm2p256v1
	sm2VecN = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"
)

func sm2VecKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	priv, err := PrivateKeyFromScalar(sm2Hex(t, sm2VecD))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func TestSM2Vector(t *testing.T) {
	priv := sm2VecKey(t)
	xy, err := MarshalPublicKeyXY(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := sm2Hex(t, sm2VecX+sm2VecY); !bytes.Equal(xy, want) {
		t.Fatalf("P = dG = %X, want %X", xy, want)
	}
	pub, err := ParsePublicKeyXY(xy)
	if err != nil {
		t.Fatal(err)
	}
	z, err := SM2Z(pub, []byte(DefaultSignerID))
	if err != nil {
		t.Fatal(err)
	}
	if want := sm2Hex(t, sm2VecZ); !bytes.Equal(z, want) {
		t.Errorf("Z = %X, want %X", z, want)
	}
	for _, id := range [][]byte{nil, {}, []byte(DefaultSignerID)} {
		e, err := SM2Digest(pub, id, []byte(sm2VecM))
		if err != nil {
			t.Fatal(err)
		}
		if want := sm2Hex(t, sm2VecE); !bytes.Equal(e[:], want) {
			t.Errorf("id %q: e = %X, want %X", id, e, want)
		}
	}
	sig := sm2Hex(t, sm2VecR+sm2VecS)
	if err := VerifyDigest(pub, sm2Hex(t, sm2VecE), sig); err != nil {
		t.Errorf("VerifyDigest(vector) = %v", err)
	}
	if err := Verify(pub, nil, []byte(sm2VecM), sig); err != nil {
		t.Errorf("Verify(vector) = %v", err)
	}
	// Straight through gmsm as well.
	der, err := SignatureToDER(sig)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, []byte(DefaultSignerID), []byte(sm2VecM), der) {
		t.Error("gmsm VerifyASN1WithSM2 rejects the vector")
	}
	if !sm2.VerifyASN1(pub, sm2Hex(t, sm2VecE), der) {
		t.Error("gmsm VerifyASN1 rejects the vector")
	}
	gz, err := sm2.CalculateZA(pub, []byte(DefaultSignerID))
	if err != nil || !bytes.Equal(gz, z) {
		t.Errorf("gmsm CalculateZA = %X, %v", gz, err)
	}
	// Our own signature of the same message verifies in gmsm.
	mine, err := Sign(priv, nil, []byte(sm2VecM))
	if err != nil {
		t.Fatal(err)
	}
	mder, _ := SignatureToDER(mine)
	if !sm2.VerifyASN1WithSM2(pub, nil, []byte(sm2VecM), mder) {
		t.Error("gmsm rejects our signature")
	}
}

func TestPrivateKeyFromScalar(t *testing.T) {
	n := new(big.Int).SetBytes(sm2Hex(t, sm2VecN))
	b32 := func(v *big.Int) string { return hex.EncodeToString(v.FillBytes(make([]byte, 32))) }
	sub := func(k int64) string { return b32(new(big.Int).Sub(n, big.NewInt(k))) }
	tests := []struct {
		name, in string
		wantD    string // hex of the resulting scalar
		wantErr  error
	}{
		{"vector", sm2VecD, sm2VecD, nil},
		{"one", b32(big.NewInt(1)), b32(big.NewInt(1)), nil},
		{"zero becomes one", b32(big.NewInt(0)), b32(big.NewInt(1)), nil},
		{"n-2 kept", sub(2), sub(2), nil},
		{"n-1 becomes one", sub(1), b32(big.NewInt(1)), nil},
		{"n becomes one", b32(n), b32(big.NewInt(1)), nil},
		{"all FF becomes one", strings.Repeat("FF", 32), b32(big.NewInt(1)), nil},
		{"31 bytes", strings.Repeat("11", 31), "", ErrLength},
		{"33 bytes", strings.Repeat("11", 33), "", ErrLength},
		{"empty", "", "", ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			priv, err := PrivateKeyFromScalar(sm2Hex(t, tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrSM2PrivateKey) {
					t.Fatalf("err = %v, want %v and ErrSM2PrivateKey", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b32(priv.D); !strings.EqualFold(got, tt.wantD) {
				t.Errorf("d = %s, want %s", got, tt.wantD)
			}
			x, y := sm2.P256().ScalarBaseMult(priv.D.Bytes())
			if x.Cmp(priv.X) != 0 || y.Cmp(priv.Y) != 0 {
				t.Error("public key is not dG")
			}
		})
	}
}

func TestParsePublicKeys(t *testing.T) {
	xy := sm2Hex(t, sm2VecX+sm2VecY)
	offCurve := append([]byte(nil), xy...)
	offCurve[63] ^= 1
	p := sm2.P256().Params().P.FillBytes(make([]byte, 32))
	xIsP := append(append([]byte(nil), p...), xy[32:]...)
	zero64 := make([]byte, 64)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	type parser func([]byte) (*ecdsa.PublicKey, error)
	tests := []struct {
		name    string
		parse   parser
		in      []byte
		wantErr []error // all must match; nil = success
	}{
		{"65 ok", ParsePublicKey, cat([]byte{4}, xy), nil},
		{"65 compressed prefix", ParsePublicKey, cat([]byte{2}, xy), []error{ErrSM2PublicKey}},
		{"65 prefix 00", ParsePublicKey, cat([]byte{0}, xy), []error{ErrSM2PublicKey}},
		{"65 off curve", ParsePublicKey, cat([]byte{4}, offCurve), []error{ErrSM2PublicKey, ErrSM2NotOnCurve}},
		{"65 x = p", ParsePublicKey, cat([]byte{4}, xIsP), []error{ErrSM2PublicKey, ErrSM2NotOnCurve}},
		{"65 zeros", ParsePublicKey, cat([]byte{4}, zero64), []error{ErrSM2NotOnCurve}},
		{"65 given 64", ParsePublicKey, xy, []error{ErrSM2PublicKey, ErrLength}},
		{"65 given 66", ParsePublicKey, cat([]byte{0, 4}, xy), []error{ErrLength}},
		{"65 nil", ParsePublicKey, nil, []error{ErrLength}},
		{"64 ok", ParsePublicKeyXY, xy, nil},
		{"64 off curve", ParsePublicKeyXY, offCurve, []error{ErrSM2NotOnCurve}},
		{"64 zeros", ParsePublicKeyXY, zero64, []error{ErrSM2NotOnCurve}},
		{"64 given 65", ParsePublicKeyXY, cat([]byte{4}, xy), []error{ErrLength}},
		{"64 given 63", ParsePublicKeyXY, xy[:63], []error{ErrLength}},
		{"66 ok", ParseCardPublicKey, cat([]byte{0, 0x40}, xy), nil},
		{"66 all zero", ParseCardPublicKey, make([]byte, 66), []error{ErrSM2PublicKey, ErrSM2NoKey}},
		{"66 header then zeros", ParseCardPublicKey, cat([]byte{0, 0x40}, zero64), []error{ErrSM2NoKey}},
		{"66 header 0041", ParseCardPublicKey, cat([]byte{0, 0x41}, xy), []error{ErrSM2PublicKey}},
		{"66 header 4000", ParseCardPublicKey, cat([]byte{0x40, 0}, xy), []error{ErrSM2PublicKey}},
		{"66 header 0004", ParseCardPublicKey, cat([]byte{0, 4}, xy), []error{ErrSM2PublicKey}},
		{"66 bad header zero key", ParseCardPublicKey, cat([]byte{0x12, 0x34}, zero64), []error{ErrSM2PublicKey}},
		{"66 off curve", ParseCardPublicKey, cat([]byte{0, 0x40}, offCurve), []error{ErrSM2NotOnCurve}},
		{"66 given 65", ParseCardPublicKey, cat([]byte{0x40}, xy), []error{ErrLength}},
		{"66 given 67", ParseCardPublicKey, cat([]byte{0, 0x40}, xy, []byte{0}), []error{ErrLength}},
		{"66 given 2", ParseCardPublicKey, []byte{0, 0x40}, []error{ErrLength}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := tt.parse(tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := MarshalPublicKeyXY(pub)
				if !bytes.Equal(got, xy) {
					t.Fatalf("key %X, want %X", got, xy)
				}
				return
			}
			if pub != nil {
				t.Errorf("got a key with error %v", err)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want errors.Is %v", err, want)
				}
			}
			if !errors.Is(err, ErrSM2PublicKey) {
				t.Errorf("err = %v does not wrap ErrSM2PublicKey", err)
			}
			if errors.Is(err, ErrSM2NoKey) != (len(tt.wantErr) > 0 && containsErr(tt.wantErr, ErrSM2NoKey)) {
				t.Errorf("err = %v: ErrSM2NoKey mismatch", err)
			}
		})
	}
}

func containsErr(list []error, e error) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func TestMarshalPublicKey(t *testing.T) {
	priv := sm2VecKey(t)
	xy := sm2Hex(t, sm2VecX+sm2VecY)
	for _, tt := range []struct {
		name    string
		marshal func(*ecdsa.PublicKey) ([]byte, error)
		parse   func([]byte) (*ecdsa.PublicKey, error)
		want    []byte
	}{
		{"65", MarshalPublicKey, ParsePublicKey, append([]byte{4}, xy...)},
		{"64", MarshalPublicKeyXY, ParsePublicKeyXY, xy},
		{"66", MarshalCardPublicKey, ParseCardPublicKey, append([]byte{0, 0x40}, xy...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.marshal(&priv.PublicKey)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("marshal = %X, %v; want %X", got, err, tt.want)
			}
			pub, err := tt.parse(got)
			if err != nil || !pub.Equal(&priv.PublicKey) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	// A key with small coordinates is zero-padded to 32 bytes each.
	one, _ := PrivateKeyFromScalar(make([]byte, 32)) // d = 1: P = G
	g, _ := MarshalPublicKeyXY(&one.PublicKey)
	gx := sm2.P256().Params().Gx.FillBytes(make([]byte, 32))
	if !bytes.Equal(g[:32], gx) {
		t.Errorf("G encodes as %X", g)
	}

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := []struct {
		name string
		pub  *ecdsa.PublicKey
		want error
	}{
		{"nil", nil, ErrSM2PublicKey},
		{"nil coordinates", &ecdsa.PublicKey{Curve: sm2.P256()}, ErrSM2PublicKey},
		{"NIST P-256", &p256.PublicKey, ErrSM2PublicKey},
		{"off curve", &ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, ErrSM2NotOnCurve},
		{"negative", &ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(-1), Y: big.NewInt(1)}, ErrSM2NotOnCurve},
		{"too big", &ecdsa.PublicKey{Curve: sm2.P256(), X: new(big.Int).Lsh(big.NewInt(1), 300), Y: big.NewInt(1)}, ErrSM2NotOnCurve},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []func(*ecdsa.PublicKey) ([]byte, error){MarshalPublicKey, MarshalPublicKeyXY, MarshalCardPublicKey} {
				if _, err := f(tt.pub); !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			}
			if _, err := SM2Z(tt.pub, nil); !errors.Is(err, tt.want) {
				t.Errorf("SM2Z err = %v, want %v", err, tt.want)
			}
			if _, err := SM2Digest(tt.pub, nil, []byte("m")); !errors.Is(err, tt.want) {
				t.Errorf("SM2Digest err = %v, want %v", err, tt.want)
			}
			if err := Verify(tt.pub, nil, []byte("m"), make([]byte, 64)); !errors.Is(err, tt.want) {
				t.Errorf("Verify err = %v, want %v", err, tt.want)
			}
			if err := VerifyDigest(tt.pub, make([]byte, 32), make([]byte, 64)); !errors.Is(err, tt.want) {
				t.Errorf("VerifyDigest err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	priv := sm2VecKey(t)
	pub := &priv.PublicKey
	msg := []byte("third-generation social security card")
	sig, err := Sign(priv, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != SM2SignatureSize {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	again, _ := Sign(priv, []byte(DefaultSignerID), msg)
	if !bytes.Equal(sig, again) {
		t.Error("signatures are not deterministic (or the default id differs)")
	}
	e, _ := SM2Digest(pub, nil, msg)
	viaDigest, err := SignDigest(priv, e[:])
	if err != nil || !bytes.Equal(viaDigest, sig) {
		t.Errorf("SignDigest(SM2Digest) = %X, %v; want %X", viaDigest, err, sig)
	}
	if err := Verify(pub, nil, msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := VerifyDigest(pub, e[:], sig); err != nil {
		t.Fatal(err)
	}
	other, _ := PrivateKeyFromScalar(bytes.Repeat([]byte{7}, 32))
	alice := []byte("ALICE123@YAHOO.COM")
	aliceSig, err := Sign(priv, alice, msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(aliceSig, sig) {
		t.Error("the signer id does not change the signature")
	}
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	n := sm2Hex(t, sm2VecN)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"other message", Verify(pub, nil, []byte("other"), sig), ErrSM2Verify},
		{"other id", Verify(pub, alice, msg, sig), ErrSM2Verify},
		{"alice id ok", Verify(pub, alice, msg, aliceSig), nil},
		{"other key", Verify(&other.PublicKey, nil, msg, sig), ErrSM2Verify},
		{"flipped r", Verify(pub, nil, msg, flip(sig, 5)), ErrSM2Verify},
		{"flipped s", Verify(pub, nil, msg, flip(sig, 40)), ErrSM2Verify},
		{"flipped e", VerifyDigest(pub, flip(e[:], 0), sig), ErrSM2Verify},
		{"short sig", Verify(pub, nil, msg, sig[:63]), ErrSM2Signature},
		{"long sig", Verify(pub, nil, msg, append(sig, 0)), ErrSM2Signature},
		{"DER sig", Verify(pub, nil, msg, mustDER(t, sig)), ErrSM2Signature},
		{"r = 0", Verify(pub, nil, msg, append(make([]byte, 32), sig[32:]...)), ErrSM2Signature},
		{"s = n", Verify(pub, nil, msg, append(sig[:32:32], n...)), ErrSM2Signature},
		{"short digest", VerifyDigest(pub, e[:31], sig), ErrLength},
		{"id too long", Verify(pub, make([]byte, 8192), msg, sig), ErrSM2SignerID},
		{"id 8191 bytes", Verify(pub, make([]byte, 8191), msg, sig), ErrSM2Verify},
	}
	for _, tt := range tests {
		if tt.want == nil && tt.err != nil || !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}

	// Signing errors.
	badPriv := &sm2.PrivateKey{PrivateKey: ecdsa.PrivateKey{PublicKey: *pub, D: big.NewInt(0)}}
	signErrs := []struct {
		name string
		err  error
		want error
	}{
		{"nil key", func() error { _, err := Sign(nil, nil, msg); return err }(), ErrSM2PrivateKey},
		{"zero d", func() error { _, err := Sign(badPriv, nil, msg); return err }(), ErrSM2PrivateKey},
		{"nil key digest", func() error { _, err := SignDigest(nil, e[:]); return err }(), ErrSM2PrivateKey},
		{"short digest", func() error { _, err := SignDigest(priv, e[:16]); return err }(), ErrLength},
		{"empty digest", func() error { _, err := SignDigest(priv, nil); return err }(), ErrLength},
		{"id too long", func() error { _, err := Sign(priv, make([]byte, 0x2000), msg); return err }(), ErrSM2SignerID},
	}
	for _, tt := range signErrs {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}

func mustDER(t testing.TB, sig []byte) []byte {
	t.Helper()
	der, err := SignatureToDER(sig)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignatureDER(t *testing.T) {
	sig := sm2Hex(t, sm2VecR+sm2VecS)
	der := mustDER(t, sig)
	// Both r and s have the top bit set: each INTEGER gets a 00 byte.
	wantDER := "3046022100" + sm2VecR + "022100" + sm2VecS
	if got := strings.ToUpper(hex.EncodeToString(der)); got != wantDER {
		t.Fatalf("DER = %s, want %s", got, wantDER)
	}
	back, err := SignatureFromDER(der)
	if err != nil || !bytes.Equal(back, sig) {
		t.Fatalf("from DER = %X, %v", back, err)
	}
	// Small values: r = 1, s = 0x7F..: minimal INTEGERs, left-padded on return.
	small := append(make([]byte, 31), 1)
	small = append(small, make([]byte, 31)...)
	small = append(small, 0x7F)
	sd := mustDER(t, small)
	if got := hex.EncodeToString(sd); got != "300602010102017f" {
		t.Errorf("small DER = %s", got)
	}
	if back, err := SignatureFromDER(sd); err != nil || !bytes.Equal(back, small) {
		t.Errorf("small from DER = %X, %v", back, err)
	}

	r, s := "022100"+sm2VecR, "022100"+sm2VecS
	n := sm2VecN
	bad := []struct{ name, der string }{
		{"empty", ""},
		{"trailing byte", wantDER + "00"},
		{"trailing sequence", wantDER + "3000"},
		{"missing s", "3023" + r},
		{"third integer", "3049" + r + s + "020101"},
		{"wrong outer tag", "3146" + r + s},
		{"wrong inner tag", "3046" + "032100" + sm2VecR + s},
		{"long-form length", "308146" + r + s},
		{"indefinite length", "3080" + r + s + "0000"},
		{"length too long", "3047" + r + s},
		{"length too short", "3045" + r + s},
		{"non-minimal integer", "3047" + "02220000" + sm2VecR + s},
		{"negative r", "3006" + "0201FF" + "020101"},
		{"negative s", "3006" + "020101" + "020180"},
		{"r = 0", "3006" + "020100" + "020101"},
		{"s = 0", "3006" + "020101" + "020100"},
		{"r = n", "3046" + "022100" + n + s},
		{"s = n", "3046" + r + "022100" + n},
		{"r > n (33 bytes)", "3046" + "022101" + strings.Repeat("00", 32) + s},
		{"r 2^256", "3047" + "02220100" + strings.Repeat("00", 31) + "00" + s},
		{"empty integer", "3004" + "0200" + "020101"},
		{"truncated", wantDER[:len(wantDER)-2]},
		{"r||s raw", sm2VecR + sm2VecS},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SignatureFromDER(sm2Hex(t, tt.der))
			if !errors.Is(err, ErrSM2Signature) || out != nil {
				t.Errorf("SignatureFromDER(%s) = %X, %v; want ErrSM2Signature", tt.der, out, err)
			}
		})
	}
	badRaw := []struct {
		name string
		sig  []byte
	}{
		{"63 bytes", sig[:63]},
		{"65 bytes", append(append([]byte(nil), sig...), 1)},
		{"r = 0", append(make([]byte, 32), sig[32:]...)},
		{"s = 0", append(append([]byte(nil), sig[:32]...), make([]byte, 32)...)},
		{"r = n", append(sm2Hex(t, n), sig[32:]...)},
		{"s = all FF", append(append([]byte(nil), sig[:32]...), bytes.Repeat([]byte{0xFF}, 32)...)},
	}
	for _, tt := range badRaw {
		if der, err := SignatureToDER(tt.sig); !errors.Is(err, ErrSM2Signature) || der != nil {
			t.Errorf("SignatureToDER(%s) = %X, %v; want ErrSM2Signature", tt.name, der, err)
		}
	}
}

func FuzzSignatureDER(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		sig, err := SignatureFromDER(der)
		if err != nil {
			if !errors.Is(err, ErrSM2Signature) {
				t.Fatalf("error %v does not wrap ErrSM2Signature", err)
			}
			if sig != nil {
				t.Fatal("signature with an error")
			}
			return
		}
		// Accepted input is canonical: converting back gives it exactly.
		again, err := SignatureToDER(sig)
		if err != nil {
			t.Fatalf("accepted %X but cannot re-encode %X: %v", der, sig, err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("accepted non-canonical %X (canonical %X)", der, again)
		}
	})
}

func FuzzParseCardPublicKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (*ecdsa.PublicKey, error){ParseCardPublicKey, ParsePublicKey, ParsePublicKeyXY} {
			pub, err := parse(b)
			if err != nil {
				if !errors.Is(err, ErrSM2PublicKey) || pub != nil {
					t.Fatalf("error %v (key %v) does not wrap ErrSM2PublicKey", err, pub)
				}
				continue
			}
			if !sm2.P256().IsOnCurve(pub.X, pub.Y) {
				t.Fatalf("accepted %X off the curve", b)
			}
			xy, err := MarshalPublicKeyXY(pub)
			if err != nil || !bytes.Equal(xy, b[len(b)-64:]) {
				t.Fatalf("%X: round trip %X, %v", b, xy, err)
			}
		}
	})
}

func BenchmarkSM2Sign(b *testing.B) {
	priv := sm2VecKey(b)
	e, _ := SM2Digest(&priv.PublicKey, nil, []byte(sm2VecM))
	b.Run("SignDigest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := SignDigest(priv, e[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-SignASN1-rand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sm2.SignASN1(rand.Reader, priv, e[:], nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Sign-message", func(b *testing.B) {
		b.ReportAllocs()
		msg := []byte(sm2VecM)
		for b.Loop() {
			if _, err := Sign(priv, nil, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSM2Verify(b *testing.B) {
	priv := sm2VecKey(b)
	pub := &priv.PublicKey
	msg := []byte(sm2VecM)
	sig := sm2Hex(b, sm2VecR+sm2VecS)
	e := sm2Hex(b, sm2VecE)
	b.Run("VerifyDigest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := VerifyDigest(pub, e, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsm-VerifyASN1", func(b *testing.B) {
		der := mustDER(b, sig)
		b.ReportAllocs()
		for b.Loop() {
			if !sm2.VerifyASN1(pub, e, der) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("Verify-message-default-id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Verify(pub, nil, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSM2Digest(b *testing.B) {
	priv := sm2VecKey(b)
	msg := []byte(sm2VecM)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SM2Digest(&priv.PublicKey, nil, msg); err != nil {
			b.Fatal(err)
		}
	}
}
