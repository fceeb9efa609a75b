//go:build cgo && !nopcsc

package pcsc

import (
	"errors"
	"maps"
	"testing"

	"github.com/sscard/ssc/reader"
)

func TestParseFeatures(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want map[byte]uint32
		err  bool
	}{
		{"empty", nil, map[byte]uint32{}, false},
		// libccid, GemPC PinPad (docs/serial-ccid.md §5).
		{"pinpad", []byte{
			0x06, 0x04, 0x42, 0x33, 0x00, 0x06,
			0x07, 0x04, 0x42, 0x33, 0x00, 0x07,
			0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A,
			0x12, 0x04, 0x42, 0x33, 0x00, 0x12,
		}, map[byte]uint32{0x06: 0x42330006, 0x07: 0x42330007, 0x0A: 0x4233000A, 0x12: 0x42330012}, false},
		{"twin", []byte{0x12, 0x04, 0x42, 0x33, 0x00, 0x12}, map[byte]uint32{0x12: 0x42330012}, false},
		{"tag only", []byte{0x06}, nil, true},
		{"short value", []byte{0x06, 0x04, 0x42, 0x33}, nil, true},
		{"length 2", []byte{0x06, 0x02, 0x42, 0x33}, nil, true},
		{"trailing byte", []byte{0x12, 0x04, 0x42, 0x33, 0x00, 0x12, 0x06}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseFeatures(c.in)
			if c.err {
				if !errors.Is(err, reader.ErrNotSupported) {
					t.Fatalf("err %v, want ErrNotSupported", err)
				}
				return
			}
			if err != nil || !maps.Equal(got, c.want) {
				t.Fatalf("parseFeatures = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestPINPadStatus(t *testing.T) {
	for _, c := range []struct {
		rsp  []byte
		want error
	}{
		{[]byte{0x64, 0x00}, reader.ErrPINPadTimeout},
		{[]byte{0x64, 0x01}, reader.ErrPINPadCancelled},
		{[]byte{0x64, 0x02}, nil}, // new PINs differ: the caller's to judge
		{[]byte{0x90, 0x00}, nil},
		{[]byte{0x63, 0xC2}, nil},
		{[]byte{0x01, 0x64, 0x00}, nil},
		{nil, nil},
	} {
		if err := pinPadStatus(c.rsp); !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
			t.Errorf("pinPadStatus(% X) = %v, want %v", c.rsp, err, c.want)
		}
	}
}

func TestFeatureRequestIOCTL(t *testing.T) {
	// SCARD_CTL_CODE(3400) on pcsc-lite (docs/serial-ccid.md §5).
	if ioctlGetFeatureRequest != 0x42000D48 {
		t.Errorf("CM_IOCTL_GET_FEATURE_REQUEST = %#x", ioctlGetFeatureRequest)
	}
}
