package sim

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

const (
	selPKIDDF = "00A404000C504B492EC9E7BBE1B1A3D5CF"
	selPKIADF = "00A404000C53532E434552542E41444631"
	// SM3(12 34 56), ssc-facts §3.5.
	pinHash123456 = "3DE741F445DD357BEA4E6C3FE6437036F62B5E3EC0F00D62796EDB4305ED627F"
)

// pkiVerifyCmd gets a challenge of n bytes and returns the PKI VERIFY
// command for pin.
func pkiVerifyCmd(t *testing.T, c *Card, n int, pin string) string {
	t.Helper()
	resp := run(t, c, step{fmt.Sprintf("00840000%02X", n), "*9000"})
	crypt, err := sm.PKIPINCryptogram(pin, resp[:n])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("0020018110%X", crypt)
}

// pkiVerify runs GET CHALLENGE n + PKI VERIFY for pin and checks the status.
func pkiVerify(t *testing.T, c *Card, n int, pin, want string) {
	t.Helper()
	run(t, c, step{pkiVerifyCmd(t, c, n, pin), want})
}

func selectPKI(t *testing.T, c *Card) {
	t.Helper()
	run(t, c, step{selPKIDDF, "*9000"}, step{selPKIADF, "*9000"})
}

func TestPKISelect(t *testing.T) {
	c := newCard(t, "gen3", Contactless)
	run(t, c,
		step{"00A404000C504B492EC9E7BBE1B1A3D5CF", "6F0E840C504B492EC9E7BBE1B1A3D5CF9000"},
		step{"00A4040C0C53532E434552542E41444631", "9000"},
		step{"00A40000023F00", "9000"},
		step{selPKIDDF, "*9000"},
		step{"00A4000002DF01", "6F0E840C53532E434552542E41444631" + "9000"}, // by FID after the DDF
		step{"00A4000C020012", "9000"},
		step{"00A4000C020019", "9000"}, // the encryption certificate
		step{"00A4000C020014", "9000"}, // the encryption public key
		step{"00A4000C020016", "6A82"},
		step{"00A4000C02EF05", "6A82"},
	)
	c2 := newCard(t, "gen2", Contact)
	run(t, c2, step{selPKIDDF, "6A82"}, step{selPKIADF, "6A82"}, step{"80C4010305C10312345600", "6E00"})
}

func TestPKIPublicKeyAndCertificate(t *testing.T) {
	c := newCard(t, "gen3", Contactless)
	p := c.Profile()
	cardID := h(p.SSSE.CardID)
	key, err := simkeys.CardSigningKey(cardID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sm.MarshalCardPublicKey(&key.PublicKey)
	selectPKI(t, c)
	run(t, c, step{"00A4000C020012", "9000"}, step{"00B0000042", hx(want) + "9000"}, step{"00B0004201", "6B00"})
	run(t, c, step{"00A4000C020013", "9000"}, step{"00B0000042", "6982"}, step{"00B0000000", "6982"})
	run(t, c, step{"00A4000C020018", "9000"})
	der := readAll(t, c, 0x70) // chunked, as hosts write it
	if ext := run(t, c, step{"00B00000000000", "*9000"}); !bytes.Equal(ext[:len(ext)-2], der) {
		t.Error("extended READ BINARY of EF 0018 differs from the chunked read")
	}
	cert, err := sm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "张三" || cert.Subject.SerialNumber != "A12345678" {
		t.Errorf("subject %v", cert.Subject)
	}
	if !cert.NotBefore.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || !cert.NotAfter.Equal(time.Date(2034, 1, 1, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("validity %v .. %v", cert.NotBefore, cert.NotAfter)
	}
	pub, err := sm.CertificatePublicKey(cert)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Errorf("certificate key %v, %v", pub, err)
	}
	pool, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Verify(cert, sm.CertVerifyOptions{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("certificate does not verify: %v", err)
	}

	q, _ := Builtin("gen3")
	q.PKI.CertCommonName = "A12345678"
	c2, err := New(q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c2, step{"00A4040C0C53532E434552542E41444631", "9000"}, step{"00A4000C020018", "9000"})
	c2.mode = Contactless // read without GET RESPONSE
	cert2, err := sm.ParseCertificate(readAll(t, c2, 0xF0))
	if err != nil || cert2.Subject.CommonName != "A12345678" {
		t.Errorf("override: %v, %v", cert2, err)
	}
}

func TestPKIPINHash(t *testing.T) {
	tests := []struct{ name, cmd, want string }{
		{"123456", "80C4010305C10312345600", pinHash123456 + "9000"},
		{"no Le", "80C4010305C103123456", pinHash123456 + "9000"},
		{"P1P2", "80C4010205C10312345600", "6A86"},
		{"tag", "80C4010305C20312345600", "6A80"},
		{"TLV length", "80C4010305C10412345600", "6A80"},
		{"empty value", "80C4010302C10000", "6A80"},
		{"one byte", "80C4010301C100", "6700"},
		{"no data", "80C4010300", "6700"},
		{"other INS", "80CA010300", "6D00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contactless)
			selectPKI(t, c)
			run(t, c, step{tt.cmd, tt.want})
		})
	}
	t.Run("only in the PKI application", func(t *testing.T) {
		c := newCard(t, "gen3", Contactless)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"80C4010305C10312345600", "6E00"})
	})
}

func TestPKIVerifyAndSign(t *testing.T) {
	e := bytes.Repeat([]byte{0x5A}, 32)
	pso := fmt.Sprintf("002A9E9A20%X00", e)
	t.Run("sign after VERIFY", func(t *testing.T) {
		for _, n := range []int{16, 8} {
			c := newCard(t, "gen3", Contactless)
			selectPKI(t, c)
			run(t, c, step{pso, "6982"}, step{"0020018100", "63C3"})
			run(t, c, step{pkiVerifyCmd(t, c, n, "123456"), "9000"}, step{"0020018100", "9000"})
			resp := run(t, c, step{pso, "*9000"})
			if len(resp) != 66 {
				t.Fatalf("signature %X", resp)
			}
			key, _ := simkeys.CardSigningKey(h(c.Profile().SSSE.CardID))
			if err := sm.VerifyDigest(&key.PublicKey, e, resp[:64]); err != nil {
				t.Fatalf("challenge %d: signature: %v", n, err)
			}
			// The host flow: e = SM3(Z || M) with the key of EF 0012.
			msg := []byte("hello")
			d, _ := sm.SM2Digest(&key.PublicKey, nil, msg)
			resp = run(t, c, step{fmt.Sprintf("002A9E9A20%X00", d), "*9000"})
			if err := sm.Verify(&key.PublicKey, nil, msg, resp[:64]); err != nil {
				t.Fatal(err)
			}
			// Contact mode: 61 40 + GET RESPONSE.
			c.mode = Contact
			run(t, c, step{pso, "6140"}, step{"00C0000040", "*9000"})
		}
	})
	tests := []struct {
		name  string
		steps func(t *testing.T, c *Card) []step
	}{
		{"wrong PIN counts and blocks", func(t *testing.T, c *Card) []step {
			pkiVerify(t, c, 16, "111111", "63C2")
			pkiVerify(t, c, 16, "111111", "63C1")
			pkiVerify(t, c, 8, "111111", "63C0")
			return []step{{pkiVerifyCmd(t, c, 16, "123456"), "6983"}, {"0020018100", "6983"}, {pso, "6982"}}
		}},
		{"success resets the counter", func(t *testing.T, c *Card) []step {
			pkiVerify(t, c, 16, "111111", "63C2")
			pkiVerify(t, c, 16, "123456", "9000")
			return []step{{pkiVerifyCmd(t, c, 8, "654321"), "63C2"}, {pso, "6982"}}
		}},
		{"no challenge", func(t *testing.T, c *Card) []step {
			return []step{{"002001811000112233445566778899AABBCCDDEEFF", "6985"}, {"0020018100", "63C3"}}
		}},
		{"challenge consumed", func(t *testing.T, c *Card) []step {
			cmd := pkiVerifyCmd(t, c, 16, "123456")
			return []step{{cmd, "9000"}, {cmd, "6985"}}
		}},
		{"wrong length", func(t *testing.T, c *Card) []step {
			return []step{{"00200181080011223344556677", "6700"}}
		}},
		{"P1 00", func(t *testing.T, c *Card) []step {
			return []step{{"0020008100", "6A86"}}
		}},
		{"unknown reference", func(t *testing.T, c *Card) []step {
			return []step{{"0020018200", "6A88"}, {"0020010000", "63C5"}} // 01 00: the admin PIN (5 tries)
		}},
		{"SSSE style VERIFY", func(t *testing.T, c *Card) []step {
			return []step{{"0020000003123456", "6A86"}}
		}},
		{"PSO Lc", func(t *testing.T, c *Card) []step {
			run(t, c, step{pkiVerifyCmd(t, c, 16, "123456"), "9000"})
			return []step{{"002A9E9A1F" + hx(e[:31]) + "00", "6700"}, {"002A9E9A00", "6700"}, {"002A9E9A21" + hx(e) + "0000", "6700"}}
		}},
		{"PSO P1P2", func(t *testing.T, c *Card) []step {
			return []step{{fmt.Sprintf("002A9E9B20%X00", e), "6A86"}, {fmt.Sprintf("002A809A20%X00", e), "6A86"}}
		}},
		{"reselecting the ADF clears the PIN", func(t *testing.T, c *Card) []step {
			run(t, c, step{pkiVerifyCmd(t, c, 16, "123456"), "9000"})
			return []step{{"00A4000C020018", "9000"}, {pso, "*9000"}, {selPKIADF, "*9000"}, {pso, "6982"}}
		}},
		{"reset clears the PIN, keeps the counter", func(t *testing.T, c *Card) []step {
			pkiVerify(t, c, 16, "111111", "63C2")
			pkiVerify(t, c, 16, "123456", "9000")
			pkiVerify(t, c, 16, "111111", "63C2")
			c.Reset()
			selectPKI(t, c)
			return []step{{pso, "6982"}, {"0020018100", "63C2"}}
		}},
		{"no PIN change or unblock", func(t *testing.T, c *Card) []step {
			return []step{{"0024018106123456654321", "6A86"}, {"002C018103123456", "6A86"}, {"0024000006123456654321", "6A86"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contactless)
			selectPKI(t, c)
			run(t, c, tt.steps(t, c)...)
		})
	}
	t.Run("PSO outside the PKI application", func(t *testing.T) {
		c := newCard(t, "gen3", Contactless)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0020000003123456", "9000"}, step{pso, "6A88"})
	})
	t.Run("profile PIN and tries", func(t *testing.T) {
		p, _ := Builtin("gen3")
		p.PKI.PIN, p.PKI.PINTries = "888888", 5
		c, err := New(p, Options{Mode: Contactless})
		if err != nil {
			t.Fatal(err)
		}
		selectPKI(t, c)
		run(t, c, step{"0020018100", "63C5"})
		pkiVerify(t, c, 16, "123456", "63C4")
		pkiVerify(t, c, 16, "888888", "9000")
		run(t, c, step{"80C4010305C10388888800", "*9000"})
	})
}
