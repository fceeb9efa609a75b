package sm

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/sscard/ssc/apdu"
)

// fakePKICard is a tiny stand-in for the SSC PKI COS: GET CHALLENGE, the
// two secure-messaging commands of ssc-facts §3.5 (84 5E change admin PIN,
// 84 D4 change master key) and, for response MACs, a protected GET DATA
// 84 CA that answers data || MAC. It checks MACs as the COS does (IV = its
// last 16-byte challenge, CBC-SM4 over the command padded 80 00…, XOR of
// the four words of the final block) with gmsm's cbcmac and padding
// packages, not with this package's CBCMAC.
type fakePKICard struct {
	mu        sync.Mutex
	adminKey  [16]byte // CTK = SM3(admin PIN)[0:16]
	masterKey [16]byte
	challenge []byte // most recent challenge; nil once consumed
	seq       int
	log       [][]byte

	t0          bool   // answer data with 61xx and serve GET RESPONSE
	pending     []byte // data waiting for GET RESPONSE
	badRespMAC  bool   // corrupt the response MAC of 84 CA
	getDataResp []byte // data 84 CA returns
}

func newFakePKICard(adminPIN []byte, masterKey []byte) *fakePKICard {
	c := &fakePKICard{adminKey: PKIPINKey(adminPIN), getDataResp: []byte("SSC-PKI!")}
	copy(c.masterKey[:], masterKey)
	return c
}

// cardMAC is the PKI COS MAC computed with gmsm directly.
func cardMAC(key, iv, data []byte) [4]byte {
	b, err := sm4.NewCipher(key)
	if err != nil {
		panic(err)
	}
	in := padding.NewISO9797M2Padding(16).Pad(append([]byte(nil), data...))
	subtle.XORBytes(in[:16], in[:16], iv)
	final := cbcmac.NewCBCMACWithPadding(b, 16, padding.NewZeroPadding).MAC(in) // in is aligned: no more padding
	var mac [4]byte
	for i := 0; i < 16; i += 4 {
		subtle.XORBytes(mac[:], mac[:], final[i:i+4])
	}
	return mac
}

func smSW(s apdu.StatusWord, data ...byte) []byte {
	return append(append([]byte(nil), data...), s.SW1(), s.SW2())
}

func (c *fakePKICard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, bytes.Clone(cmd))
	cc, err := apdu.ParseCommand(cmd)
	if err != nil {
		return smSW(apdu.SWWrongLength), nil
	}
	switch {
	case cc.CLA == 0x00 && cc.INS == 0x84:
		if cc.Ne != 8 && cc.Ne != 16 {
			return smSW(apdu.SWWrongLength), nil
		}
		c.seq++
		sum := sm3.Sum([]byte(fmt.Sprint("challenge", c.seq)))
		c.challenge = sum[:cc.Ne]
		return smSW(apdu.SWOK, c.challenge...), nil
	case cc.CLA == 0x00 && cc.INS == 0xC0:
		if c.pending == nil {
			return smSW(apdu.SWConditionsNotSatisfied), nil
		}
		if cc.Ne != len(c.pending) {
			return smSW(0x6C00 | apdu.StatusWord(len(c.pending))), nil
		}
		data := c.pending
		c.pending = nil
		return smSW(apdu.SWOK, data...), nil
	case cc.CLA == 0x84 && (cc.INS == 0x5E || cc.INS == 0xD4 || cc.INS == 0xCA):
		return c.secure(cmd, cc), nil
	}
	return smSW(apdu.SWINSNotSupported), nil
}

// secure handles a command with a MAC. The challenge is consumed whatever
// the outcome.
func (c *fakePKICard) secure(raw []byte, cc apdu.Command) []byte {
	iv := c.challenge
	c.challenge = nil
	if len(iv) != 16 {
		return smSW(apdu.SWConditionsNotSatisfied)
	}
	if len(cc.Data) < 4 {
		return smSW(apdu.SWSMDataMissing)
	}
	key := c.masterKey
	if cc.INS == 0x5E {
		key = c.adminKey
	}
	macd := raw[:5+len(cc.Data)-4] // CLA INS P1 P2 Lc data'
	want := cardMAC(key[:], iv, macd)
	if subtle.ConstantTimeCompare(want[:], cc.Data[len(cc.Data)-4:]) != 1 {
		return smSW(apdu.SWSMDataIncorrect)
	}
	enc := cc.Data[:len(cc.Data)-4]
	switch cc.INS {
	case 0x5E: // SM4(CTK, len || newPIN || 80 00…)
		plain := sm4ECBDecrypt(key[:], enc)
		n := int(plain[0])
		if len(enc) != 16 || n == 0 || 1+n >= 16 || !isM2Tail(plain[1+n:]) {
			return smSW(apdu.SWIncorrectData)
		}
		c.adminKey = PKIPINKey(plain[1 : 1+n])
	case 0xD4: // SM4(old, 13 00 00 00 || new16 || 80 00…)
		plain := sm4ECBDecrypt(key[:], enc)
		if len(enc) != 32 || plain[0] != 0x13 || !bytes.Equal(plain[1:4], []byte{0, 0, 0}) || !isM2Tail(plain[20:]) {
			return smSW(apdu.SWIncorrectData)
		}
		copy(c.masterKey[:], plain[4:20])
	case 0xCA: // protected GET DATA: data || MAC(data), same IV
		out := append([]byte(nil), c.getDataResp...)
		m := cardMAC(key[:], iv, out)
		if c.badRespMAC {
			m[0] ^= 1
		}
		out = append(out, m[:]...)
		if c.t0 {
			c.pending = out
			return smSW(0x6100 | apdu.StatusWord(len(out)))
		}
		return smSW(apdu.SWOK, out...)
	}
	return smSW(apdu.SWOK)
}

func sm4ECBDecrypt(key, ct []byte) []byte {
	b, _ := sm4.NewCipher(key)
	out := make([]byte, len(ct))
	for i := 0; i+16 <= len(ct); i += 16 {
		b.Decrypt(out[i:], ct[i:])
	}
	return out
}

func isM2Tail(b []byte) bool {
	return len(b) > 0 && b[0] == 0x80 && bytes.Count(b[1:], []byte{0}) == len(b)-1
}

// pkiSM returns an apdu.Transmitter that protects every command with key.
func pkiSM(t testing.TB, card apdu.Transport, key []byte) *apdu.Transmitter {
	t.Helper()
	mac, err := NewPKIMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSM4(key)
	if err != nil {
		t.Fatal(err)
	}
	return &apdu.Transmitter{Transport: NewSecureTransport(card, SecureConfig{
		MAC:       mac,
		Cipher:    DataCipher{Block: b, Padding: PadISO9797M2},
		Level:     func(apdu.Command) SecureLevel { return LevelEncMAC },
		Challenge: CardChallenge(PKIChallengeSize),
	})}
}

var (
	oldAdminPIN = []byte{0x11, 0x22, 0x33, 0x44}
	newAdminPIN = []byte{0x55, 0x66, 0x77, 0x88}
	oldMK       = symUnhex("0123456789ABCDEFFEDCBA9876543210")
	newMK       = symUnhex("00112233445566778899AABBCCDDEEFF")
)

func symUnhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSMChangeAdminPIN(t *testing.T) {
	ctx := context.Background()
	card := newFakePKICard(oldAdminPIN, oldMK)
	ctk := PKIPINKey(oldAdminPIN)
	tr := pkiSM(t, card, ctk[:])

	resp, err := tr.Transmit(ctx, apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, P2: 0x00, Data: newAdminPIN})
	if err != nil {
		t.Fatal(err)
	}
	if resp.SW != apdu.SWOK {
		t.Fatalf("card answered %s", resp.SW)
	}
	if len(card.log) != 2 || !bytes.Equal(card.log[0], unhex(t, "0084000010")) {
		t.Fatalf("card saw %X, want GET CHALLENGE then the command", card.log)
	}
	// 84 5E 01 00 14 <SM4(CTK, 04 || newPIN || 80 00…)> <MAC4>, Lc = 16 + 4.
	enc := sm4Block(t, ctk[:], unhex(t, "04556677888000000000000000000000"))
	want := append(unhex(t, "845E010014"), enc...)
	challenge := sm3.Sum([]byte("challenge1"))
	mac := cardMAC(ctk[:], challenge[:16], want)
	want = append(want, mac[:]...)
	if !bytes.Equal(card.log[1], want) {
		t.Errorf("command = %X\nwant      %X", card.log[1], want)
	}
	if card.adminKey != PKIPINKey(newAdminPIN) {
		t.Error("card did not take the new admin PIN")
	}

	// The old CTK no longer works: the card rejects the MAC with 6988.
	resp, err = tr.Transmit(ctx, apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, Data: oldAdminPIN})
	if err != nil {
		t.Fatal(err)
	}
	if resp.SW != apdu.SWSMDataIncorrect || !errors.Is(resp.Err(), apdu.ErrSecureMessaging) {
		t.Errorf("stale key: SW %s, err %v; want 6988 / apdu.ErrSecureMessaging", resp.SW, resp.Err())
	}
	newCTK := PKIPINKey(newAdminPIN)
	if _, err := pkiSM(t, card, newCTK[:]).Do(ctx, apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, Data: oldAdminPIN}); err != nil {
		t.Errorf("with the new CTK: %v", err)
	}
}

func TestSMChangeMasterKey(t *testing.T) {
	ctx := context.Background()
	card := newFakePKICard(oldAdminPIN, oldMK)
	tr := pkiSM(t, card, oldMK)

	data := append([]byte{0x00, 0x00, 0x00}, newMK...) // DataCipher prefixes the length 13
	if _, err := tr.Do(ctx, apdu.Command{CLA: 0x84, INS: 0xD4, P1: 0x01, P2: 0x00, Data: data}); err != nil {
		t.Fatal(err)
	}
	// 84 D4 01 00 24 <SM4(old, 13 00 00 00 || new16 || 80 00…)> <MAC4>, Lc = 32 + 4.
	plain := append(append(unhex(t, "13000000"), newMK...), unhex(t, "800000000000000000000000")...)
	enc := append(sm4Block(t, oldMK, plain[:16]), sm4Block(t, oldMK, plain[16:])...)
	want := append(unhex(t, "84D4010024"), enc...)
	challenge := sm3.Sum([]byte("challenge1"))
	mac := cardMAC(oldMK, challenge[:16], want)
	want = append(want, mac[:]...)
	if got := card.log[len(card.log)-1]; !bytes.Equal(got, want) {
		t.Errorf("command = %X\nwant      %X", got, want)
	}
	if !bytes.Equal(card.masterKey[:], newMK) {
		t.Errorf("card master key %X, want %X", card.masterKey, newMK)
	}
}

func TestSMWrongKey(t *testing.T) {
	ctx := context.Background()
	card := newFakePKICard(oldAdminPIN, oldMK)
	tr := pkiSM(t, card, newMK) // not the card's key
	resp, err := tr.Transmit(ctx, apdu.Command{CLA: 0x80, INS: 0xD4, P1: 0x01, Data: append([]byte{0, 0, 0}, newMK...)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.SW != apdu.SWSMDataIncorrect {
		t.Errorf("SW = %s, want 6988", resp.SW)
	}
	if !errors.Is(resp.Err(), apdu.ErrSecureMessaging) {
		t.Errorf("resp.Err() = %v, want apdu.ErrSecureMessaging", resp.Err())
	}
	if _, err := tr.Do(ctx, apdu.Command{CLA: 0x80, INS: 0xD4, P1: 0x01, Data: append([]byte{0, 0, 0}, newMK...)}); !errors.Is(err, apdu.ErrSecureMessaging) {
		t.Errorf("Do: err = %v, want apdu.ErrSecureMessaging", err)
	}
	if !bytes.Equal(card.masterKey[:], oldMK) {
		t.Error("card changed its key after a bad MAC")
	}
}

// smRecorder is an inner transport that records commands and answers
// challenges with a fixed value and everything else with answer.
type smRecorder struct {
	cmds            [][]byte
	challenge       []byte
	refuseChallenge bool // answer GET CHALLENGE with 6D00
	answer          []byte
	err             error
}

func (r *smRecorder) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	r.cmds = append(r.cmds, bytes.Clone(cmd))
	if r.err != nil {
		return nil, r.err
	}
	if len(cmd) == 5 && cmd[0] == 0x00 && cmd[1] == 0x84 {
		if r.refuseChallenge {
			return smSW(apdu.SWINSNotSupported), nil
		}
		return smSW(apdu.SWOK, r.challenge...), nil
	}
	if r.answer != nil {
		return r.answer, nil
	}
	return smSW(apdu.SWOK), nil
}

// TestSMClassAndLevels covers the default level (by the CLA's SM bit), the
// CLA mapping, Le, and the pass-through commands.
func TestSMClassAndLevels(t *testing.T) {
	ctx := context.Background()
	mac, _ := NewPKIMAC(symKey16)
	tests := []struct {
		name    string
		level   func(apdu.Command) SecureLevel
		cmd     string
		want    string // wrapped command without the MAC and Le; "" = unchanged
		wantLe  int    // -1: none
		protect bool
	}{
		{"ISO class with SM bit", nil, "04DA9F7906000000050000", "04DA9F790A000000050000", -1, true},
		{"proprietary with SM bit", nil, "84D40100021234", "84D40100061234", -1, true},
		{"ISO class without SM bit is plain", nil, "00A4040002DF01", "", -1, false},
		{"proprietary without SM bit is plain", nil, "80C4010305C10312345600", "", -1, false},
		{"00 -> 04 by Level", func(apdu.Command) SecureLevel { return LevelMAC }, "00B0000010", "04B0000004", 0x10, true},
		{"80 -> 84 by Level, case 4", func(apdu.Command) SecureLevel { return LevelMAC }, "80CA9F79010000", "84CA9F790500", 0x00, true},
		{"further interindustry 40 -> 60", func(apdu.Command) SecureLevel { return LevelMAC }, "40B0000000", "60B0000004", 0x00, true},
		{"case 1 gets Lc 04", func(apdu.Command) SecureLevel { return LevelMAC }, "84E40000", "84E4000004", -1, true},
		{"GET RESPONSE always plain", func(apdu.Command) SecureLevel { return LevelMAC }, "00C0000010", "", -1, false},
		{"reader pseudo-APDU always plain", func(apdu.Command) SecureLevel { return LevelMAC }, "FFCA000000", "", -1, false},
		{"Level plain", func(apdu.Command) SecureLevel { return LevelPlain }, "84D40100021234", "", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &smRecorder{}
			smt := NewSecureTransport(rec, SecureConfig{MAC: mac, Level: tt.level})
			if _, err := smt.Transmit(ctx, unhex(t, tt.cmd)); err != nil {
				t.Fatal(err)
			}
			got := rec.cmds[0]
			if !tt.protect {
				if !bytes.Equal(got, unhex(t, tt.cmd)) {
					t.Errorf("sent %X, want it unchanged", got)
				}
				return
			}
			head := unhex(t, tt.want)
			lc := int(head[4])
			if len(got) < len(head)+MACSize || !bytes.Equal(got[:len(head)], head) {
				t.Fatalf("sent %X, want %X || MAC", got, head)
			}
			m, _ := mac.MAC(nil, head) // zero IV: no Challenge configured
			if !bytes.Equal(got[5+lc-MACSize:5+lc], m[:]) {
				t.Errorf("MAC %X, want %X", got[5+lc-MACSize:5+lc], m)
			}
			switch rest := got[5+lc:]; {
			case tt.wantLe < 0 && len(rest) != 0, tt.wantLe >= 0 && !bytes.Equal(rest, []byte{byte(tt.wantLe)}):
				t.Errorf("trailer %X, want Le %d", rest, tt.wantLe)
			}
		})
	}
}

// TestSMRetailPBOC: a PBOC-style 3DES command (04 DA 9F 79 0A <balance>
// <MAC>) with an 8-byte challenge as IV, checked against the OpenSSL-computed
// vector of testdata/symmetric.json.
func TestSMRetailPBOC(t *testing.T) {
	mac, _ := NewRetailMAC(symKey16, PadISO9797M2)
	rec := &smRecorder{challenge: unhex(t, "1122334455667788")}
	tr := apdu.Transmitter{Transport: NewSecureTransport(rec, SecureConfig{
		MAC:       mac,
		Level:     func(apdu.Command) SecureLevel { return LevelMAC },
		Challenge: CardChallenge(8),
	})}
	if _, err := tr.Do(context.Background(), apdu.Command{INS: 0xDA, P1: 0x9F, P2: 0x79, Data: unhex(t, "000000050000")}); err != nil {
		t.Fatal(err)
	}
	if len(rec.cmds) != 2 || !bytes.Equal(rec.cmds[0], unhex(t, "0084000008")) {
		t.Fatalf("sent %X", rec.cmds)
	}
	if want := unhex(t, "04DA9F790A000000050000CBC755F3"); !bytes.Equal(rec.cmds[1], want) {
		t.Errorf("sent %X, want %X", rec.cmds[1], want)
	}
}

func TestSMResponseMAC(t *testing.T) {
	ctx := context.Background()
	for _, t0 := range []bool{false, true} {
		for _, bad := range []bool{false, true} {
			t.Run(fmt.Sprintf("T0=%v bad=%v", t0, bad), func(t *testing.T) {
				card := newFakePKICard(oldAdminPIN, oldMK)
				card.t0, card.badRespMAC = t0, bad
				mac, _ := NewPKIMAC(oldMK)
				tr := apdu.Transmitter{Transport: NewSecureTransport(card, SecureConfig{
					MAC: mac, ResponseMAC: mac, Challenge: CardChallenge(16),
				})}
				data, err := tr.Do(ctx, apdu.Command{CLA: 0x84, INS: 0xCA, P1: 0x01, P2: 0x01, Ne: 256})
				if bad {
					if !errors.Is(err, ErrResponseMAC) {
						t.Errorf("err = %v, want ErrResponseMAC", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, card.getDataResp) {
					t.Errorf("data = %X, want %X (MAC stripped)", data, card.getDataResp)
				}
			})
		}
	}

	// An error status passes through unchecked; 9000 with no room for a MAC
	// does not.
	mac, _ := NewPKIMAC(oldMK)
	for _, tt := range []struct {
		answer []byte
		want   error
	}{
		{smSW(apdu.SWSMDataIncorrect), apdu.ErrSecureMessaging},
		{smSW(apdu.SWOK, 1, 2, 3), ErrResponseMAC},
		{smSW(apdu.SWOK), ErrResponseMAC},
		{[]byte{0x90}, apdu.ErrMalformedResponse},
	} {
		tr := apdu.Transmitter{Transport: NewSecureTransport(&smRecorder{answer: tt.answer}, SecureConfig{MAC: mac, ResponseMAC: mac})}
		if _, err := tr.Do(ctx, apdu.Command{CLA: 0x84, INS: 0xCA, Ne: 256}); !errors.Is(err, tt.want) {
			t.Errorf("answer %X: err = %v, want %v", tt.answer, err, tt.want)
		}
	}
}

// failingMACer stands for an HSM that is down.
type failingMACer struct{}

var errFakeHSM = errors.New("HSM unavailable")

func (failingMACer) MAC(iv, data []byte) ([MACSize]byte, error) { return [MACSize]byte{}, errFakeHSM }

type failingCipher struct{}

func (failingCipher) Encipher([]byte) ([]byte, error) { return nil, errFakeHSM }

func TestSMErrors(t *testing.T) {
	ctx := context.Background()
	mac, _ := NewPKIMAC(symKey16)
	sm4b, _ := NewSM4(symKey16)
	all := func(apdu.Command) SecureLevel { return LevelMAC }
	enc := func(apdu.Command) SecureLevel { return LevelEncMAC }
	errLink := errors.New("reader gone")
	tests := []struct {
		name  string
		inner *smRecorder
		cfg   SecureConfig
		cmd   []byte
		want  error // nil: any error
	}{
		{"no MAC", &smRecorder{}, SecureConfig{Level: all}, unhex(t, "84D4010000"), nil},
		{"enc without cipher", &smRecorder{}, SecureConfig{MAC: mac, Level: enc}, unhex(t, "84D4010000"), nil},
		{"unknown level", &smRecorder{}, SecureConfig{MAC: mac, Level: func(apdu.Command) SecureLevel { return 9 }}, unhex(t, "84D4010000"), nil},
		{"malformed command", &smRecorder{}, SecureConfig{MAC: mac}, []byte{0x84, 0xD4}, apdu.ErrMalformedCommand},
		{"too long", &smRecorder{}, SecureConfig{MAC: mac, Level: all}, append(unhex(t, "84D40100FC"), make([]byte, 252)...), ErrLength},
		{"too long after encipherment", &smRecorder{}, SecureConfig{MAC: mac, Level: enc, Cipher: DataCipher{Block: sm4b}}, append(unhex(t, "84D40100F0"), make([]byte, 240)...), ErrLength},
		{"MACer fails", &smRecorder{}, SecureConfig{MAC: failingMACer{}, Level: all}, unhex(t, "84D4010000"), errFakeHSM},
		{"cipher fails", &smRecorder{}, SecureConfig{MAC: mac, Level: enc, Cipher: failingCipher{}}, unhex(t, "84D4010000"), errFakeHSM},
		{"challenge refused", &smRecorder{refuseChallenge: true}, SecureConfig{MAC: mac, Level: all, Challenge: CardChallenge(8)}, unhex(t, "84D4010000"), apdu.ErrNotSupported},
		{"short challenge", &smRecorder{challenge: []byte{1, 2, 3, 4}}, SecureConfig{MAC: mac, Level: all, Challenge: CardChallenge(8)}, unhex(t, "84D4010000"), ErrLength},
		{"bad challenge size", &smRecorder{}, SecureConfig{MAC: mac, Level: all, Challenge: CardChallenge(0)}, unhex(t, "84D4010000"), ErrLength},
		{"challenge too long for the MAC", &smRecorder{challenge: make([]byte, 32)}, SecureConfig{MAC: mac, Level: all, Challenge: CardChallenge(32)}, unhex(t, "84D4010000"), ErrLength},
		{"inner transport fails", &smRecorder{err: errLink}, SecureConfig{MAC: mac, Level: all}, unhex(t, "84D4010000"), errLink},
		{"inner transport fails on plain", &smRecorder{err: errLink}, SecureConfig{MAC: mac}, unhex(t, "00A4000000"), errLink},
	}
	for _, tt := range tests {
		_, err := NewSecureTransport(tt.inner, tt.cfg).Transmit(ctx, tt.cmd)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestDataCipher(t *testing.T) {
	sm4b, _ := NewSM4(symKey16)
	tdes, _ := NewTDES(symKey16)
	tests := []struct {
		name string
		c    DataCipher
		in   string
		want func() []byte
	}{
		{"SM4 ECB with length", DataCipher{Block: sm4b}, "11223344", func() []byte {
			return sm4Block(t, symKey16, unhex(t, "04112233448000000000000000000000"))
		}},
		{"SM4 ECB 15 bytes, M2 adds a block", DataCipher{Block: sm4b}, "000102030405060708090A0B0C0D0E", func() []byte {
			b, _ := EncryptECB(sm4b, unhex(t, "0F000102030405060708090A0B0C0D0E80000000000000000000000000000000"))
			return b
		}},
		{"SM4 ECB 15 bytes, M2Opt does not", DataCipher{Block: sm4b, Padding: PadISO9797M2Opt}, "000102030405060708090A0B0C0D0E", func() []byte {
			return sm4Block(t, symKey16, unhex(t, "0F000102030405060708090A0B0C0D0E"))
		}},
		{"3DES CBC no length", DataCipher{Block: tdes, IV: unhex(t, "1122334455667788"), NoLength: true}, "4E6F77206973207468652074696D6520", func() []byte {
			return unhex(t, "EFDBCD6FCBB7C167552FC153D922D791A90C6FCD9FC7C66A") // openssl enc -des-ede-cbc -nopad, with the 80 00… block
		}},
	}
	for _, tt := range tests {
		got, err := tt.c.Encipher(unhex(t, tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if want := tt.want(); !bytes.Equal(got, want) {
			t.Errorf("%s: %X, want %X", tt.name, got, want)
		}
	}
	if _, err := (DataCipher{}).Encipher(nil); err == nil {
		t.Error("nil block: no error")
	}
	if _, err := (DataCipher{Block: sm4b}).Encipher(make([]byte, 256)); !errors.Is(err, ErrLength) {
		t.Errorf("256 bytes with a length byte: err = %v", err)
	}
	if _, err := (DataCipher{Block: sm4b, Padding: PadNone}).Encipher(make([]byte, 3)); !errors.Is(err, ErrLength) {
		t.Errorf("PadNone unaligned: err = %v", err)
	}
	if _, err := (DataCipher{Block: sm4b, IV: make([]byte, 8)}).Encipher(make([]byte, 3)); !errors.Is(err, ErrLength) {
		t.Errorf("bad IV: err = %v", err)
	}
	for l, want := range map[SecureLevel]string{LevelPlain: "plain", LevelMAC: "MAC", LevelEncMAC: "enc+MAC", 7: "SecureLevel(7)"} {
		if l.String() != want {
			t.Errorf("%d.String() = %q", int(l), l.String())
		}
	}
}

// FuzzSecureTransport feeds arbitrary command bytes through the transport: it
// must never panic, and whatever it protects must parse back as a short
// APDU whose MAC verifies and whose unprotected parts are unchanged.
func FuzzSecureTransport(f *testing.F) {
	f.Add([]byte{0x84, 0xD4, 0x01, 0x00, 0x02, 0x12, 0x34}, uint8(1))
	f.Add([]byte{0x00, 0xB0, 0x00, 0x00, 0x10}, uint8(2))
	f.Add([]byte{0x80, 0xCA, 0x9F, 0x79, 0x00}, uint8(1))
	f.Add([]byte{0x84}, uint8(0))
	mac, _ := NewPKIMAC(symKey16)
	b, _ := NewSM4(symKey16)
	f.Fuzz(func(t *testing.T, cmd []byte, sel uint8) {
		level := SecureLevel(sel % 3)
		rec := &smRecorder{}
		smt := NewSecureTransport(rec, SecureConfig{
			MAC: mac, Cipher: DataCipher{Block: b},
			Level: func(apdu.Command) SecureLevel { return level },
		})
		_, err := smt.Transmit(context.Background(), cmd)
		plain, perr := apdu.ParseCommand(cmd)
		if perr != nil {
			if err == nil {
				t.Fatalf("malformed %X accepted", cmd)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrLength) {
				t.Fatalf("%X: %v", cmd, err)
			}
			return
		}
		sent := rec.cmds[0]
		if smt.level(plain) == LevelPlain {
			if !bytes.Equal(sent, cmd) {
				t.Fatalf("plain %X sent as %X", cmd, sent)
			}
			return
		}
		w, err := apdu.ParseCommand(sent)
		if err != nil || w.IsExtended() {
			t.Fatalf("wrapped %X does not parse as a short APDU: %v", sent, err)
		}
		if w.INS != plain.INS || w.P1 != plain.P1 || w.P2 != plain.P2 || !hasSMBit(w.CLA) || w.CLA&^smBit(w.CLA) != plain.CLA&^smBit(plain.CLA) {
			t.Fatalf("header %X from %X", sent[:4], cmd[:4])
		}
		if level == LevelMAC && !bytes.Equal(w.Data[:len(w.Data)-MACSize], plain.Data) {
			t.Fatalf("data changed: %X from %X", w.Data, plain.Data)
		}
		if want := min(plain.Ne, apdu.MaxShortNe); w.Ne != want {
			t.Fatalf("Ne %d, want %d", w.Ne, want)
		}
		n := 5 + len(w.Data) - MACSize
		if got := cardMAC(symKey16, make([]byte, 16), sent[:n]); !bytes.Equal(got[:], sent[n:n+MACSize]) {
			t.Fatalf("MAC of %X does not verify", sent)
		}
	})
}

// ExampleNewSecureTransport changes the PKI master key (ssc-facts §3.5) through
// the secure-messaging transport. A fake card that only prints what it
// receives and gives a fixed challenge stands in for a reader here.
func ExampleNewSecureTransport() {
	oldKey := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	newKey := make([]byte, 16)
	card := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
		fmt.Printf("> %X\n", cmd)
		if cmd[1] == 0x84 { // GET CHALLENGE 00 84 00 00 10
			return append(make([]byte, 16), 0x90, 0x00), nil
		}
		return []byte{0x90, 0x00}, nil
	})

	mac, _ := NewPKIMAC(oldKey)
	block, _ := NewSM4(oldKey)
	tr := apdu.Transmitter{Transport: NewSecureTransport(card, SecureConfig{
		MAC:       mac,
		Cipher:    DataCipher{Block: block, Padding: PadISO9797M2}, // 13 || data || 80 00…
		Level:     func(apdu.Command) SecureLevel { return LevelEncMAC },
		Challenge: CardChallenge(PKIChallengeSize),
	})}
	data := append([]byte{0x00, 0x00, 0x00}, newKey...)
	_, err := tr.Do(context.Background(), apdu.Command{CLA: 0x80, INS: 0xD4, P1: 0x01, Data: data})
	fmt.Println(err)
	// Output:
	// > 0084000010
	// > 84D4010024AD9A5369CC371B05E224975584F716C2DACCD4BEE76E36F3D78516865B4EB6406CDC39C8
	// <nil>
}

func BenchmarkSMWrap32(b *testing.B) {
	mac, _ := NewPKIMAC(symKey16)
	block, _ := NewSM4(symKey16)
	ok := []byte{0x90, 0x00}
	inner := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return ok, nil })
	cmd := append([]byte{0x84, 0xD6, 0x00, 0x00, 0x20}, make([]byte, 32)...)
	ctx := context.Background()
	for _, level := range []SecureLevel{LevelMAC, LevelEncMAC} {
		smt := NewSecureTransport(inner, SecureConfig{
			MAC: mac, Cipher: DataCipher{Block: block},
			Level: func(apdu.Command) SecureLevel { return level },
		})
		b.Run(level.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := smt.Transmit(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
