package sim

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The PKI personalisation commands of docs/issuance.md ("PKI
// personalisation — the contract (SIM choices)"), driven as a host drives
// them: the 84-class commands through sm.SecureTransport.

// cardTransport is the raw apdu.Transport of a card.
func cardTransport(c *Card) apdu.Transport {
	return apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) { return c.Transmit(cmd), nil })
}

// pkiSMTransmitter protects every command with key as the contract's host
// does: DataCipher (SM4 ECB, length byte, 80 00… padding), CardChallenge(16),
// NewPKIMAC.
func pkiSMTransmitter(t *testing.T, c *Card, key []byte) *apdu.Transmitter {
	t.Helper()
	mac, err := sm.NewPKIMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sm.NewSM4(key)
	if err != nil {
		t.Fatal(err)
	}
	return &apdu.Transmitter{Transport: sm.NewSecureTransport(cardTransport(c), sm.SecureConfig{
		MAC:       mac,
		Cipher:    sm.DataCipher{Block: b, Padding: sm.PadISO9797M2},
		Level:     func(apdu.Command) sm.SecureLevel { return sm.LevelEncMAC },
		Challenge: sm.CardChallenge(sm.PKIChallengeSize),
	})}
}

// smSW sends cmd (plain, class 80: the transport makes it 84) with key and
// returns the status word as hex.
func smSW(t *testing.T, c *Card, key []byte, cmd apdu.Command) string {
	t.Helper()
	resp, err := pkiSMTransmitter(t, c, key).Transmit(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%04X", uint16(resp.SW))
}

// changeAdminPINCmd is CHANGE ADMIN PIN before protection.
func changeAdminPINCmd(pin [4]byte) apdu.Command {
	return apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, P2: 0x00, Data: pin[:]}
}

// changeMasterKeyCmd is CHANGE MASTER KEY before protection (DataCipher
// adds the length byte 13).
func changeMasterKeyCmd(key [16]byte) apdu.Command {
	return apdu.Command{CLA: 0x80, INS: 0xD4, P1: 0x01, P2: 0x00, Data: append([]byte{0, 0, 0}, key[:]...)}
}

// adminVerifyCmd gets a 16-byte challenge and returns the admin VERIFY for pin.
func adminVerifyCmd(t *testing.T, c *Card, pin [4]byte) string {
	t.Helper()
	chal := run(t, c, step{"0084000010", "*9000"})[:16]
	key := sm.PKIPINKey(pin[:])
	crypt, err := sm4ECB(key[:], chal)
	if err != nil {
		t.Fatal(err)
	}
	return "0020010010" + hx(crypt)
}

// masterAuthCmd gets a 16-byte challenge and returns the master-key
// EXTERNAL AUTHENTICATE for key.
func masterAuthCmd(t *testing.T, c *Card, key [16]byte) string {
	t.Helper()
	chal := run(t, c, step{"0084000010", "*9000"})[:16]
	crypt, err := sm4ECB(key[:], chal)
	if err != nil {
		t.Fatal(err)
	}
	return "0082000010" + hx(crypt)
}

// sm4ECB computes the expected cryptograms independently of the card's
// own code: SM4 in ECB mode.
func sm4ECB(key, data []byte) ([]byte, error) {
	b, err := sm.NewSM4(key)
	if err != nil {
		return nil, err
	}
	return sm.EncryptECB(b, data)
}

func simAdmin(c *Card) ([4]byte, [16]byte) {
	id := h(c.Profile().SSSE.CardID)
	return simkeys.PKIAdminPIN(id), simkeys.PKIMasterKey(id)
}

const generateKeyPair = "80400000" + "08C0020012C2020013"

func TestSIMAdminValues(t *testing.T) {
	id := h("411600D156000005005A3C9E17B2D40F")
	pinSum := sm3.Sum(append([]byte("SSC-SIM-GLYPIN"), id...))
	keySum := sm3.Sum(append([]byte("SSC-SIM-ZKMY"), id...))
	if pin := simkeys.PKIAdminPIN(id); !bytes.Equal(pin[:], pinSum[:4]) {
		t.Errorf("simkeys.PKIAdminPIN %X", pin)
	}
	if key := simkeys.PKIMasterKey(id); !bytes.Equal(key[:], keySum[:16]) {
		t.Errorf("simkeys.PKIMasterKey %X", key)
	}
}

func TestPKIBlankApplication(t *testing.T) {
	c := newCard(t, "gen3-blank", Contactless)
	selectPKI(t, c)
	run(t, c,
		step{"00A4000C020012", "9000"}, step{"00B0000042", hx(make([]byte, 66)) + "9000"},
		step{"00A4000C020013", "9000"}, step{"00B0000001", "6982"},
	)
	for _, ef := range []string{"0018", "0019"} {
		run(t, c, step{"00A4000C02" + ef, "9000"})
		if got := readAll(t, c, 0xFF); !bytes.Equal(got, make([]byte, 2048)) {
			t.Errorf("EF %s: %d bytes, not 2048 × 00", ef, len(got))
		}
	}
	pkiVerify(t, c, 16, "123456", "9000")
	run(t, c, step{fmt.Sprintf("002A9E9A20%X00", make([]byte, 32)), "6A88"}) // no private key yet
	run(t, c, step{"0020018100", "9000"})
	c.Reset()
	selectPKI(t, c)
	pkiVerify(t, c, 16, "111111", "63C2") // 3 tries
}

func TestPKIPersonalisationCommands(t *testing.T) {
	newPIN := [4]byte{0x12, 0x34, 0xAB, 0xCD}
	newKey := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}
	newKey2 := [16]byte{0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F}
	tests := []struct {
		name string
		f    func(t *testing.T, c *Card, pin [4]byte, mk [16]byte)
	}{
		{"admin PIN hash", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			sum := sm3.Sum(pin[:])
			run(t, c, step{"80C4010306C104" + hx(pin[:]) + "00", hx(sum[:]) + "9000"})
		}},
		{"admin VERIFY", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			run(t, c, step{"0020010000", "63C5"})
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"}, step{"0020010000", "9000"})
		}},
		{"wrong admin PIN counts down and blocks", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			wrong := [4]byte{0, 0, 0, 0}
			run(t, c, step{adminVerifyCmd(t, c, wrong), "63C4"})
			run(t, c, step{adminVerifyCmd(t, c, wrong), "63C3"})
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"}) // back to 5
			for _, sw := range []string{"63C4", "63C3", "63C2", "63C1", "63C0"} {
				run(t, c, step{adminVerifyCmd(t, c, wrong), sw})
			}
			run(t, c, step{adminVerifyCmd(t, c, pin), "6983"}, step{"0020010000", "6983"}, step{generateKeyPair, "6982"})
			c.Reset()
			selectPKI(t, c)
			run(t, c, step{adminVerifyCmd(t, c, pin), "6983"})
		}},
		{"admin VERIFY needs a fresh 16-byte challenge", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			cmd := adminVerifyCmd(t, c, pin)
			run(t, c, step{"0084000008", "*9000"}, step{cmd, "6985"}, step{cmd, "6985"}, step{"0020010008" + cmd[10:26], "6700"})
		}},
		{"GENERATE KEY PAIR", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			run(t, c, step{generateKeyPair, "6982"}, step{adminVerifyCmd(t, c, pin), "9000"},
				step{"80400001" + generateKeyPair[8:], "6A86"},
				step{"8040000008C0020012C2020014", "6A80"},
				step{"8040000004C0020012", "6700"},
				step{generateKeyPair, "9000"},
				step{"00A4000C020012", "9000"})
			pubFile := run(t, c, step{"00B0000042", "*9000"})
			pub, err := sm.ParseCardPublicKey(pubFile[:66])
			if err != nil {
				t.Fatalf("EF 0012 %X: %v", pubFile, err)
			}
			e := sm3.Sum([]byte("message"))
			pso := fmt.Sprintf("002A9E9A20%X00", e)
			run(t, c, step{pso, "6982"}) // the user PIN
			pkiVerify(t, c, 16, "123456", "9000")
			sig := run(t, c, step{pso, "*9000"})
			if err := sm.VerifyDigest(pub, e[:], sig[:len(sig)-2]); err != nil {
				t.Errorf("signature does not verify with EF 0012: %v", err)
			}
			// A second generation replaces the key.
			run(t, c, step{generateKeyPair, "9000"}, step{"00A4000C020012", "9000"})
			if again := run(t, c, step{"00B0000042", "*9000"}); bytes.Equal(again, pubFile) {
				t.Error("EF 0012 unchanged by a second GENERATE KEY PAIR")
			}
		}},
		{"certificates in chunks", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			run(t, c, step{"00A4000C020018", "9000"}, step{"00D6000003010203", "6982"}, step{adminVerifyCmd(t, c, pin), "9000"})
			for _, ef := range []string{"0018", "0019"} {
				cert := make([]byte, 1000)
				for i := range cert {
					cert[i] = byte(i*7 + len(ef))
				}
				cert[0] = 0x30
				run(t, c, step{"00A4000C02" + ef, "9000"})
				for off := 0; off < len(cert); off += 240 {
					chunk := cert[off:min(off+240, len(cert))]
					run(t, c, step{fmt.Sprintf("00D6%04X%02X%X", off, len(chunk), chunk), "9000"})
				}
				got := readAll(t, c, 0x70)
				if len(got) < len(cert) || !bytes.Equal(got[:len(cert)], cert) {
					t.Errorf("EF %s reads back %X…", ef, got[:min(len(got), 16)])
				}
				if c.Profile().PKI.Blank && (len(got) != 2048 || !bytes.Equal(got[len(cert):], make([]byte, 2048-len(cert)))) {
					t.Errorf("EF %s: %d bytes, tail not 00", ef, len(got))
				}
				run(t, c,
					step{"00D607F60BAABBCCDDEEFF0011223344", "6B00"}, // 2038 + 11 > 2048
					step{"00D607F60AAABBCCDDEEFF00112233", "9000"},   // up to the end
					step{"00D6080001AA", "6B00"},
					step{fmt.Sprintf("00D60000F1%X", make([]byte, 241)), "6700"},
					step{"00D68100010A", "6A86"},
					step{"00B007F60A", "AABBCCDDEEFF001122339000"},
				)
			}
			run(t, c, step{"00A4000C020012", "9000"}, step{"00D6000001AA", "6982"},
				step{"00A4000C020013", "9000"}, step{"00D6000001AA", "6982"})
		}},
		{"admin state ends at reselect and reset", func(t *testing.T, c *Card, pin [4]byte, _ [16]byte) {
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"}, step{"00A4000C020018", "9000"}, step{"00D6000001AA", "9000"},
				step{selPKIADF, "*9000"}, step{"00A4000C020018", "9000"}, step{"00D6000001AA", "6982"}, step{generateKeyPair, "6982"})
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"})
			c.PowerOff()
			c.PowerOn()
			selectPKI(t, c)
			run(t, c, step{generateKeyPair, "6982"}, step{"0020010000", "63C5"})
		}},
		{"change admin PIN", func(t *testing.T, c *Card, pin [4]byte, mk [16]byte) {
			if sw := smSW(t, c, mk[:], changeAdminPINCmd(newPIN)); sw != "6982" {
				t.Fatalf("without admin state: %s", sw)
			}
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"})
			wrongKey := newKey
			if sw := smSW(t, c, wrongKey[:], changeAdminPINCmd(newPIN)); sw != "6988" {
				t.Fatalf("wrong key: %s", sw)
			}
			if sw := smSW(t, c, mk[:], apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, Data: []byte{1, 2, 3, 4, 5}}); sw != "6A80" {
				t.Fatalf("5-byte PIN: %s", sw)
			}
			if sw := smSW(t, c, mk[:], apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x02, Data: newPIN[:]}); sw != "6A86" {
				t.Fatalf("P1 02: %s", sw)
			}
			if sw := smSW(t, c, mk[:], changeAdminPINCmd(newPIN)); sw != "9000" {
				t.Fatalf("change: %s", sw)
			}
			run(t, c, step{selPKIADF, "*9000"}, step{adminVerifyCmd(t, c, pin), "63C4"})
			run(t, c, step{adminVerifyCmd(t, c, newPIN), "9000"})
			sum := sm3.Sum(newPIN[:])
			run(t, c, step{"80C4010306C104" + hx(newPIN[:]) + "00", hx(sum[:]) + "9000"})
		}},
		{"84 5E without a challenge, replayed", func(t *testing.T, c *Card, pin [4]byte, mk [16]byte) {
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"})
			var sent []byte
			rec := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
				if cmd[0] == 0x84 {
					sent = bytes.Clone(cmd)
				}
				return c.Transmit(cmd), nil
			})
			mac, _ := sm.NewPKIMAC(mk[:])
			b, _ := sm.NewSM4(mk[:])
			tr := apdu.Transmitter{Transport: sm.NewSecureTransport(rec, sm.SecureConfig{MAC: mac, Cipher: sm.DataCipher{Block: b},
				Level: func(apdu.Command) sm.SecureLevel { return sm.LevelEncMAC }, Challenge: sm.CardChallenge(16)})}
			if _, err := tr.Do(context.Background(), changeAdminPINCmd(newPIN)); err != nil {
				t.Fatal(err)
			}
			if len(sent) != 25 || hx(sent[:5]) != "845E010014" {
				t.Fatalf("sent %X", sent)
			}
			run(t, c, step{hx(sent), "6985"}) // the challenge was consumed
			run(t, c, step{"0084000010", "*9000"}, step{hx(sent), "6988"})
		}},
		{"master key EXTERNAL AUTHENTICATE", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
			cmd := masterAuthCmd(t, c, mk)
			run(t, c, step{cmd, "9000"}, step{cmd, "6985"}, step{"0082000110" + cmd[10:], "6A86"})
			for _, sw := range []string{"63C4", "63C3", "63C2", "63C1", "63C0"} {
				run(t, c, step{masterAuthCmd(t, c, newKey), sw})
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "6983"})
		}},
		{"change master key", func(t *testing.T, c *Card, pin [4]byte, mk [16]byte) {
			if sw := smSW(t, c, mk[:], changeMasterKeyCmd(newKey)); sw != "6982" {
				t.Fatalf("without master-key state: %s", sw)
			}
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"}) // the admin state is not enough
			if sw := smSW(t, c, mk[:], changeMasterKeyCmd(newKey)); sw != "6982" {
				t.Fatalf("admin state only: %s", sw)
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
			if sw := smSW(t, c, newKey[:], changeMasterKeyCmd(newKey)); sw != "6988" {
				t.Fatalf("wrong MAC key: %s", sw)
			}
			bad := changeMasterKeyCmd(newKey)
			bad.Data[0] = 1
			if sw := smSW(t, c, mk[:], bad); sw != "6A80" {
				t.Fatalf("bad plaintext: %s", sw)
			}
			if sw := smSW(t, c, mk[:], changeMasterKeyCmd(newKey)); sw != "9000" {
				t.Fatalf("change: %s", sw)
			}
			// A second change with the new key; the old one fails.
			run(t, c, step{selPKIADF, "*9000"})
			if sw := smSW(t, c, newKey[:], changeMasterKeyCmd(newKey2)); sw != "6982" {
				t.Fatalf("after reselect: %s", sw)
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, newKey), "9000"})
			if sw := smSW(t, c, mk[:], changeMasterKeyCmd(newKey2)); sw != "6988" {
				t.Fatalf("old key MAC: %s", sw)
			}
			if sw := smSW(t, c, newKey[:], changeMasterKeyCmd(newKey2)); sw != "9000" {
				t.Fatalf("second change: %s", sw)
			}
			c.Reset()
			selectPKI(t, c)
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, newKey2), "9000"})
			// The admin PIN change now uses the new master key as CTK.
			run(t, c, step{adminVerifyCmd(t, c, pin), "9000"})
			if sw := smSW(t, c, mk[:], changeAdminPINCmd(newPIN)); sw != "6988" {
				t.Fatalf("84 5E with the old master key: %s", sw)
			}
			if sw := smSW(t, c, newKey2[:], changeAdminPINCmd(newPIN)); sw != "9000" {
				t.Fatalf("84 5E with the new master key: %s", sw)
			}
		}},
		{"84 class elsewhere", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			if sw := smSW(t, c, mk[:], apdu.Command{CLA: 0x80, INS: 0xE0, P1: 0x01, Data: []byte{1}}); sw != "6D00" {
				t.Fatalf("84 E0 in the PKI ADF: %s", sw)
			}
			run(t, c, step{selSSSENoFCI, "9000"}, step{"845E010014" + hx(make([]byte, 20)), "6E00"},
				step{"00D6000001AA", "6D00"})
		}},
	}
	for _, profile := range []string{"gen3-blank", "gen3"} {
		for _, tt := range tests {
			t.Run(profile+"/"+tt.name, func(t *testing.T) {
				c := newCard(t, profile, Contactless)
				pin, mk := simAdmin(c)
				selectPKI(t, c)
				tt.f(t, c, pin, mk)
			})
		}
	}
}
