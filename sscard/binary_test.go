package sscard

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/sscard/ssc/sim"
)

func TestReadBinaryFiles(t *testing.T) {
	photo, err := os.ReadFile("../sim/profiles/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		profile string
		mode    sim.Mode
		ext     ExtendedMode
		maxAPDU int // for the binary part
	}{
		{"gen2 T=0", "gen2", sim.Contact, ExtendedAuto, 0},
		{"gen3 T=0", "gen3", sim.Contact, ExtendedAuto, 0},
		{"gen3 contactless short", "gen3", sim.Contactless, ExtendedOff, 0},
		{"gen3 contactless extended", "gen3", sim.Contactless, ExtendedOn, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := openSimOpts(t, tt.profile, tt.mode, Options{Extended: tt.ext})
			opts := ReadOptions{Fields: FieldsFree, Fingerprint: true, Photo: true}
			n0 := tc.rec.count()
			var info *BasicInfo
			var err error
			{
				if _, err := tc.sess.Read(ctx, opts); !errors.Is(err, ErrNeedsHSM) {
					t.Fatalf("without HSM: %v", err)
				}
				p, err := tc.sess.Read(ctx, ReadOptions{Fields: FieldsFree, Photo: true, AllowPartial: true})
				if err != nil || p.Photo != nil || len(p.Unavailable) != 1 || p.Unavailable[0] != "photo" {
					t.Fatalf("partial: %v %v", err, p)
				}
				n0 = tc.rec.count()
				info, err = ReadWithHSM(ctx, tc.sess, simHSM{}, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Fingerprint) != 768 || !bytes.Equal(info.Photo, photo) {
				t.Errorf("fingerprint %d bytes, photo %d bytes (want %d)", len(info.Fingerprint), len(info.Photo), len(photo))
			}
			t.Logf("%s: %d APDUs for the read with EF07 (%d B) + EF08 (%d B)", tt.name, tc.rec.count()-n0, len(info.Fingerprint), len(info.Photo))
			if tt.maxAPDU > 0 {
				n := 0
				for _, c := range tc.rec.cmds[n0:] {
					if c[1] == 0xB0 {
						n++
					}
				}
				if n > 2*tt.maxAPDU {
					t.Errorf("%d READ BINARY with extended Le, want <= %d", n, 2*tt.maxAPDU)
				}
			}
		})
	}
}

func TestReadBinaryCap(t *testing.T) {
	tc := openSimOpts(t, "gen2", sim.Contact, Options{MaxBinary: 500})
	_, err := ReadWithHSM(context.Background(), tc.sess, simHSM{}, ReadOptions{Fields: FieldCardID, Fingerprint: true})
	if !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
