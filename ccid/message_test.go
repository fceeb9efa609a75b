package ccid

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hexBytes(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hexBytes decodes hex with spaces and "|" allowed, as in the notes.
func hexBytes(s string) ([]byte, error) {
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	var out []byte
	for i := 0; i+1 < len(s); i += 2 {
		var v byte
		for _, c := range []byte(s[i : i+2]) {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				return nil, errors.New("bad hex " + s[i:i+2])
			}
		}
		out = append(out, v)
	}
	if len(s)%2 != 0 {
		return nil, errors.New("odd hex length")
	}
	return out, nil
}

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		wire string
	}{
		{"GetSlotStatus", Message{Type: GetSlotStatus, Seq: 3}, "65 00000000 00 03 000000"},
		{"PowerOn 5V", Message{Type: IccPowerOn, Seq: 4, Param: [3]byte{1}}, "62 00000000 00 04 010000"},
		{"Escape firmware", Message{Type: Escape, Data: []byte{0x02}}, "6B 01000000 00 00 000000 02"},
		{"SlotStatus absent", Message{Type: SlotStatus, Seq: 9, Param: [3]byte{0x42, 0xFE, 0}}, "81 00000000 00 09 42FE00"},
		{"DataBlock", Message{Type: DataBlock, Slot: 1, Seq: 0xFF, Data: []byte{0x90, 0x00}}, "80 02000000 01 FF 000000 9000"},
		{"Secure (notes §5)", Message{Type: Secure, Seq: 0x1B, Data: mustHex(t,
			"00 1E 82 08 00 08 06 02 01 04 09 00 000000 00 20 00 00 08 FFFFFFFFFFFFFFFF")},
			"69 1C000000 00 1B 000000 00 1E 82 08 00 08 06 02 01 04 09 00 000000 00 20 00 00 08 FFFFFFFFFFFFFFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := mustHex(t, tt.wire)
			got, err := tt.msg.AppendBinary([]byte{0xAA})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte{0xAA}, wire...)) {
				t.Fatalf("AppendBinary = % X, want AA % X", got, wire)
			}
			m, err := ParseMessage(wire)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, tt.msg) {
				t.Fatalf("ParseMessage = %+v, want %+v", m, tt.msg)
			}
			// Data must not alias the input.
			if len(m.Data) > 0 {
				wire[HeaderSize] ^= 0xFF
				if m.Data[0] == wire[HeaderSize] {
					t.Fatal("Data aliases the input")
				}
			}
		})
	}
}

func TestParseMessageRejects(t *testing.T) {
	valid := mustHex(t, "80 02000000 00 01 000000 9000")
	for i := 0; i < len(valid); i++ {
		if _, err := ParseMessage(valid[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix of %d bytes: err = %v, want ErrMalformed", i, err)
		}
	}
	for _, s := range []string{
		"80 02000000 00 01 000000 900000", // one byte too many
		"80 FFFFFFFF 00 01 000000",        // huge dwLength
		"80 00000001 00 01 000000",        // big-endian length
	} {
		if _, err := ParseMessage(mustHex(t, s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", s, err)
		}
	}
}

func TestMessageErr(t *testing.T) {
	tests := []struct {
		name     string
		param    [3]byte
		wantNil  bool
		sentinel error
		icc      int
	}{
		{"ok active", [3]byte{0x00, 0, 0}, true, nil, ICCActive},
		{"ok inactive", [3]byte{0x01, 0, 0}, true, nil, ICCInactive},
		{"time extension", [3]byte{0x80, 2, 0}, true, nil, ICCActive},
		{"absent", [3]byte{0x42, 0xFE, 0}, false, ErrICCMute, ICCAbsent},
		{"PIN cancelled", [3]byte{0x40, 0xEF, 0}, false, ErrPINCancelled, ICCActive},
		{"PIN timeout", [3]byte{0x40, 0xF0, 0}, false, ErrPINTimeout, ICCActive},
		{"not supported", [3]byte{0x40, 0x00, 0}, false, ErrCommandNotSupported, ICCActive},
		{"parity", [3]byte{0x41, 0xFD, 0}, false, nil, ICCInactive},
		{"reserved status 3", [3]byte{0xC0, 0xFB, 0}, false, nil, ICCActive},
	}
	all := []error{ErrICCMute, ErrPINCancelled, ErrPINTimeout, ErrCommandNotSupported}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{Type: DataBlock, Param: tt.param}
			err := m.Err()
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Err = %v, want nil", err)
				}
				return
			}
			var se *SlotError
			if !errors.As(err, &se) {
				t.Fatalf("Err = %v, want *SlotError", err)
			}
			if se.Code != tt.param[1] || se.ICCStatus != tt.icc || se.Type != DataBlock {
				t.Errorf("SlotError = %+v", se)
			}
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(%v) = %v", s, got)
				}
			}
			if !strings.Contains(err.Error(), "RDR_to_PC_DataBlock") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}
