package sim

import (
	"testing"

	"github.com/sscard/ssc/apdu"
)

// The master key of the PKI DDF (ssc-facts §3.5: the master key is changed
// at the ADF, then at the DDF): its own key (at first the ADF's ZKMY), try
// counter and volatile state, with the same commands as the ADF's.

func TestPKIDDFMasterKey(t *testing.T) {
	newKey := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}
	newKey2 := [16]byte{0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F}
	selDDF := step{selPKIDDF, "*9000"}
	changeSW := func(t *testing.T, c *Card, key [16]byte, to [16]byte) string {
		t.Helper()
		return smSW(t, c, key[:], changeMasterKeyCmd(to))
	}
	tests := []struct {
		name string
		f    func(t *testing.T, c *Card, pin [4]byte, mk [16]byte)
	}{
		{"authenticate: right, wrong, fresh challenge, P1P2", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"}) // the SIM ZKMY, tries back to 5
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C4"})
			cmd := masterAuthCmd(t, c, mk)
			run(t, c, step{cmd, "9000"}, step{cmd, "6985"}, step{"0082000110" + cmd[10:], "6A86"})
			run(t, c, step{"0084000008", "*9000"}, step{cmd, "6985"}) // an 8-byte challenge
		}},
		{"blocked, its own counter", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			for _, sw := range []string{"63C4", "63C3", "63C2", "63C1", "63C0"} {
				run(t, c, step{masterAuthCmd(t, c, newKey), sw})
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "6983"})
			c.Reset()
			run(t, c, selDDF, step{masterAuthCmd(t, c, mk), "6983"})
			// The ADF's master key is another counter.
			run(t, c, step{selPKIADF, "*9000"}, step{masterAuthCmd(t, c, mk), "9000"})
			if sw := changeSW(t, c, mk, newKey); sw != "9000" {
				t.Fatalf("ADF change with the DDF blocked: %s", sw)
			}
		}},
		{"change master key", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			if sw := changeSW(t, c, mk, newKey); sw != "6982" {
				t.Fatalf("without master-key state: %s", sw)
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
			if sw := changeSW(t, c, newKey, newKey); sw != "6988" {
				t.Fatalf("wrong MAC key: %s", sw)
			}
			bad := changeMasterKeyCmd(newKey)
			bad.Data[0] = 1
			if sw := smSW(t, c, mk[:], bad); sw != "6A80" {
				t.Fatalf("bad plaintext: %s", sw)
			}
			if sw := changeSW(t, c, mk, newKey); sw != "9000" {
				t.Fatalf("change: %s", sw)
			}
			// The state stays: a second change with the new key's MAC.
			if sw := changeSW(t, c, mk, newKey2); sw != "6988" {
				t.Fatalf("old key MAC after the change: %s", sw)
			}
			if sw := changeSW(t, c, newKey, newKey2); sw != "9000" {
				t.Fatalf("second change: %s", sw)
			}
			c.Reset()
			run(t, c, selDDF)
			run(t, c, step{masterAuthCmd(t, c, mk), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C3"})
			run(t, c, step{masterAuthCmd(t, c, newKey2), "9000"})
			// The ADF's key is untouched.
			run(t, c, step{selPKIADF, "*9000"})
			run(t, c, step{masterAuthCmd(t, c, newKey2), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
		}},
		{"the ADF change leaves the DDF key", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			run(t, c, step{selPKIADF, "*9000"}, step{masterAuthCmd(t, c, mk), "9000"})
			if sw := changeSW(t, c, mk, newKey); sw != "9000" {
				t.Fatalf("ADF change: %s", sw)
			}
			run(t, c, selDDF)
			run(t, c, step{masterAuthCmd(t, c, newKey), "63C4"})
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
		}},
		{"any selection clears the state", func(t *testing.T, c *Card, _ [4]byte, mk [16]byte) {
			for _, sel := range []string{selPKIDDF, "00A40000023F00", selSSSENoFCI, selPKIADF} {
				run(t, c, selDDF, step{masterAuthCmd(t, c, mk), "9000"}, step{sel, "*9000"})
				if sel != selPKIDDF {
					run(t, c, selDDF)
				}
				if sw := changeSW(t, c, mk, newKey); sw != "6982" {
					t.Fatalf("after SELECT %s: %s", sel, sw)
				}
			}
			// The ADF's state does not carry to the DDF, nor the DDF's to
			// the ADF.
			run(t, c, step{selPKIADF, "*9000"}, step{masterAuthCmd(t, c, mk), "9000"}, selDDF)
			if sw := changeSW(t, c, mk, newKey); sw != "6982" {
				t.Fatalf("DDF with the ADF's state: %s", sw)
			}
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"}, step{selPKIADF, "*9000"})
			if sw := changeSW(t, c, mk, newKey); sw != "6982" {
				t.Fatalf("ADF with the DDF's state: %s", sw)
			}
			// A failed selection changes nothing.
			run(t, c, selDDF, step{masterAuthCmd(t, c, mk), "9000"}, step{"00A4000C02EF05", "6A82"})
			if sw := changeSW(t, c, mk, newKey); sw != "9000" {
				t.Fatalf("after a failed SELECT: %s", sw)
			}
		}},
		{"the other personalisation commands are the ADF's", func(t *testing.T, c *Card, pin [4]byte, mk [16]byte) {
			run(t, c, step{masterAuthCmd(t, c, mk), "9000"})
			if sw := smSW(t, c, mk[:], changeAdminPINCmd([4]byte{1, 2, 3, 4})); sw != "6D00" {
				t.Fatalf("84 5E at the DDF: %s", sw)
			}
			if sw := smSW(t, c, mk[:], apdu.Command{CLA: 0x80, INS: 0xE0, P1: 0x01, Data: []byte{1}}); sw != "6D00" {
				t.Fatalf("84 E0 at the DDF: %s", sw)
			}
			run(t, c,
				step{adminVerifyCmd(t, c, pin), "6A88"},
				step{generateKeyPair, "6D00"},
				step{"804E000100", "6D00"},
				step{"80C4010306C104" + hx(pin[:]) + "00", "6D00"},
				step{"00D6000001AA", "6D00"},
			)
		}},
	}
	for _, profile := range []string{"gen3-blank", "gen3"} {
		for _, tt := range tests {
			t.Run(profile+"/"+tt.name, func(t *testing.T) {
				c := newCard(t, profile, Contactless)
				pin, mk := simAdmin(c)
				run(t, c, selDDF)
				tt.f(t, c, pin, mk)
			})
		}
	}
}
