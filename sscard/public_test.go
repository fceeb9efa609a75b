package sscard

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sim"
)

// Public data of the built-in profiles (sim/personalise.go, sim/public_test.go).
var publicWant = map[string]PublicInfo{
	"gen3": {HukouType: "10", HukouAddress: "河南省周口市川汇区人民路1号", HukouRegion: "411602",
		ResidenceAddress: "河南省周口市川汇区人民路1号", ResidenceRegion: "411602"},
}

func TestReadPublic(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			tc := openSim(t, "gen3", m.mode)
			s := tc.sess
			n := tc.rec.count()
			if _, err := s.ReadPublic(ctx); !errors.Is(err, ErrNeedsPIN) || !errors.Is(err, apdu.ErrSecurityStatus) {
				t.Fatalf("without PIN: %v, want ErrNeedsPIN", err)
			}
			if tc.rec.count()-n != 2 { // SELECT DF01 + first READ RECORD
				t.Errorf("%d APDUs before the refusal", tc.rec.count()-n)
			}
			if err := s.VerifyPIN(ctx, "123456", PINOptions{}); err != nil {
				t.Fatal(err)
			}
			n = tc.rec.count()
			p, err := s.ReadPublic(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if *p != publicWant["gen3"] {
				t.Errorf("public = %+v\nwant %+v", *p, publicWant["gen3"])
			}
			want := []string{"00A4040C06D15600000501", "00B2012C04", "00B2022C52", "00B2032C05", "00B2013452", "00B2023405"}
			got := tc.rec.cmds[n:]
			if len(got) != len(want) {
				t.Fatalf("%d APDUs, want %d", len(got), len(want))
			}
			for i, c := range got {
				if h := strings.ToUpper(hexs(c)); h != want[i] {
					t.Errorf("APDU %d: %s, want %s", i, h, want[i])
				}
			}
			// Again: selecting DF01 again keeps the PIN state.
			if p2, err := s.ReadPublic(ctx); err != nil || *p2 != *p {
				t.Fatalf("second ReadPublic: %v %v", p2, err)
			}
			// The session re-selects SSSE for the basic information...
			n = tc.rec.count()
			info, err := ReadWithHSM(ctx, s, simHSM{}, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkInfo(t, info, &gen3Want)
			if !strings.HasPrefix(strings.ToUpper(hexs(tc.rec.cmds[n])), "00A4040C0F") {
				t.Errorf("first APDU after ReadPublic %X, want SELECT SSSE", tc.rec.cmds[n])
			}
			// ...which clears the PIN state on the card.
			if _, err := s.ReadPublic(ctx); !errors.Is(err, ErrNeedsPIN) {
				t.Fatalf("after re-selecting SSSE: %v, want ErrNeedsPIN", err)
			}
			if err := s.VerifyPIN(ctx, "123456", PINOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReadPublic(ctx); err != nil {
				t.Fatal(err)
			}
			if tries, err := s.PINStatus(ctx); err != nil || tries != 3 {
				// PINStatus re-selects SSSE: verified state gone, 3 tries.
				t.Errorf("PINStatus after ReadPublic = %d, %v", tries, err)
			}
		})
	}
}

func TestReadPublicGen2(t *testing.T) {
	ctx := context.Background()
	tc := openSim(t, "gen2", sim.Contact)
	if err := tc.sess.VerifyPIN(ctx, "123456", PINOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := tc.sess.ReadPublic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.HukouRegion != "330102" || p.HukouType == "" || p.HukouAddress == "" || strings.HasSuffix(p.HukouAddress, " ") {
		t.Errorf("gen2 public = %+v", p)
	}
	if _, err := tc.sess.Read(ctx, ReadOptions{}); err != nil {
		t.Fatalf("Read after ReadPublic: %v", err)
	}
}

func TestPublicInfoJSON(t *testing.T) {
	b, err := json.Marshal(publicWant["gen3"])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"hukouType":"10","hukouAddress":"河南省周口市川汇区人民路1号","hukouRegion":"411602","residenceAddress":"河南省周口市川汇区人民路1号","residenceRegion":"411602"}`
	if string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
}

func TestReadPublicMalformed(t *testing.T) {
	for _, tt := range []struct{ name, rec string }{
		{"wrong tag", "2102" + "3130"},
		{"wrong length", "200131"},
		{"not GBK", "2150" + strings.Repeat("FF", 80)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			card := &fakeCard{f: func(cmd []byte) []byte {
				switch {
				case cmd[1] == 0xA4:
					return []byte{0x90, 0x00}
				case cmd[1] == 0xB2 && cmd[3] == 0x2C && cmd[2] == 3: // SSSE version at Open
					return mustHex("0304332E30309000")
				case cmd[1] == 0xB2 && cmd[2] == 1 && tt.name != "not GBK":
					return mustHex(tt.rec + "9000")
				case cmd[1] == 0xB2 && cmd[2] == 1:
					return mustHex("200231309000")
				case cmd[1] == 0xB2 && cmd[2] == 2:
					return mustHex(tt.rec + "9000")
				}
				return []byte{0x6A, 0x82}
			}}
			s, err := Open(context.Background(), card, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p, err := s.ReadPublic(context.Background()); !errors.Is(err, ErrMalformedRecord) || p != nil {
				t.Fatalf("ReadPublic = %v, %v; want ErrMalformedRecord", p, err)
			}
		})
	}
}

func TestReadPublicBusy(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contact)
	req, err := tc.sess.BeginHSM(context.Background(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer req.Abort()
	if _, err := tc.sess.ReadPublic(context.Background()); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func hexs(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
