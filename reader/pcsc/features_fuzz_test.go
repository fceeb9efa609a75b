//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sscard/ssc/reader"
)

// FuzzParseFeatures feeds the answer of a PC/SC driver to
// CM_IOCTL_GET_FEATURE_REQUEST (a PIN-pad reader's feature list): never a
// panic; errors wrap reader.ErrNotSupported; an accepted list is a whole
// number of 6-byte TLVs, and re-encoding the parsed features (last one of
// a tag wins) parses to the same map; no truncation is accepted.
func FuzzParseFeatures(f *testing.F) {
	f.Add([]byte{0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x07, 0x04, 0x42, 0x33, 0x00, 0x07})
	f.Add([]byte{0x12, 0x04, 0x42, 0x33, 0x00, 0x12})
	f.Add([]byte{0x06, 0x04, 0x42, 0x33})
	f.Add([]byte{0x06})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseFeatures(b)
		if err != nil {
			if m != nil || !errors.Is(err, reader.ErrNotSupported) {
				t.Fatalf("parseFeatures = %v, %v", m, err)
			}
			return
		}
		if len(b)%6 != 0 {
			t.Fatalf("accepted %d bytes, not whole TLVs", len(b))
		}
		var enc []byte
		for tag, code := range m {
			enc = append(enc, tag, 4, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
		}
		m2, err := parseFeatures(enc)
		if err != nil || len(m2) != len(m) {
			t.Fatalf("re-encoded: %v, %v", m2, err)
		}
		for k, v := range m {
			if m2[k] != v {
				t.Fatalf("feature %02X: %08X, want %08X", k, m2[k], v)
			}
		}
		if len(b) > 0 {
			if _, err := parseFeatures(bytes.Clone(b[:len(b)-1])); err == nil {
				t.Fatal("truncated list accepted")
			}
		}
	})
}
