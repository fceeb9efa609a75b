package ccid

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"65 00000000 00 00 000000",
		"81 00000000 00 09 42FE00",
		"80 02000000 00 01 000000 9000",
		"6B 01000000 00 00 000000 02",
		"69 1C000000 00 1B 000000 00 1E 82 08 00 08 06 02 01 04 09 00 000000 00 20 00 00 08 FFFFFFFFFFFFFFFF",
	} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_ = m.Err()
		out, err := m.AppendBinary(nil)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoded % X, %v; input % X", out, err, b)
		}
	})
}

// splitReader hands out data in the given sizes, each used once (0 is a
// (0, nil) read), then the rest at once, then (0, nil) forever.
type splitReader struct {
	data  []byte
	sizes []byte
}

func (r *splitReader) Read(p []byte) (int, error) {
	n := len(r.data)
	if len(r.sizes) > 0 {
		n, r.sizes = int(r.sizes[0]), r.sizes[1:]
	}
	n = min(n, len(r.data), len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// result is what Next gave, without the timeouts a split read causes.
type result struct {
	kind    FrameKind
	present bool
	msg     string
	err     string
}

func classify(err error) string {
	for _, e := range []error{ErrTooLong, ErrLRC, ErrFraming, ErrTimeout} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// decodeAll runs Next with a past deadline until the stream is used up.
// Every call either consumes a byte, meets a (0, nil) read or ends, so the
// number of calls is bounded.
func decodeAll(t *testing.T, stream, sizes []byte) []result {
	r := &splitReader{data: bytes.Clone(stream), sizes: sizes}
	d := NewDecoder(r)
	var out []result
	for calls := 0; ; calls++ {
		if calls > len(stream)+len(sizes)+2 {
			t.Fatalf("no end after %d calls", calls)
		}
		f, err := d.Next(past)
		if errors.Is(err, ErrTimeout) {
			if len(r.data) == 0 {
				return out
			}
			continue
		}
		if err == nil {
			if f.Kind == FrameMessage {
				if len(f.Message) < HeaderSize || len(f.Message) > MaxSerialMessage {
					t.Fatalf("message of %d bytes", len(f.Message))
				}
				if _, perr := ParseMessage(f.Message); perr != nil {
					t.Fatalf("decoded message does not parse: %v", perr)
				}
				if !bytes.Contains(stream, AppendFrame(nil, f.Message)) {
					t.Fatalf("frame % X not in the stream", f.Message)
				}
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		out = append(out, result{f.Kind, f.Present, string(f.Message), classify(err)})
	}
}

func FuzzDecoder(f *testing.F) {
	echo := "03 06 6F 05000000 00 05 000000 00A4040000 "
	f.Add(mustHex(f, "50 02 80 03 15 16 50 03"), []byte{1})
	f.Add(mustHex(f, "03 06 65 00000000 00 00 000000 60"), []byte{0, 3, 0, 1})
	f.Add(mustHex(f, "03 06 80 02000000 00 01 000000 9000 16 03 06 81 00000000 00 00 000000 87"), []byte{2, 0, 5})
	f.Add(mustHex(f, "03 06 81 00000000 00 07 000000 80 03 06 81 00000000 00 07 000000 81"), []byte{})
	f.Add(mustHex(f, "03 06 80 06010000 00 00 000000"), []byte{7})
	f.Add(mustHex(f, "00 03 07 03 15 17 50 04 FF"), []byte{0})
	f.Add(mustHex(f, echo), []byte{4, 4, 4})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		whole := decodeAll(t, stream, nil)
		split := decodeAll(t, stream, sizes)
		if len(whole) != len(split) {
			t.Fatalf("split reads gave %d results, one read %d", len(split), len(whole))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("result %d: split %+v, one read %+v", i, split[i], whole[i])
			}
		}
	})
}

func FuzzParseSecureData(f *testing.F) {
	f.Add(mustHex(f, "00 1E 82 08 00 08 06 02 01 04 09 00 000000 00 20 00 00 08 FFFFFFFFFFFFFFFF"))
	f.Add(mustHex(f, "00 00 81 03 00 06 06 02 01 04 09 00 000000 00 20 00 00 03 FFFFFF"))
	f.Add(mustHex(f, "00 00 89 47 04 0C 04 02 01 04 09 00 000000 00 20 00 80 08 2F FFFFFFFFFFFFFF"))
	f.Add(mustHex(f, "01 1E 82 08 00 00 08 08 04 03 02 01 0904 000102 000000 00 24 00 00 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF"))
	f.Add(mustHex(f, "04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, m, err := ParseSecureData(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || v != nil || m != nil {
				t.Fatalf("%v, %v, %v", v, m, err)
			}
			return
		}
		if (v == nil) == (m == nil) {
			t.Fatalf("verify %v, modify %v", v, m)
		}
		if v != nil {
			if out := v.SecureData(); !bytes.Equal(out, b) {
				t.Fatalf("re-encoded % X", out)
			}
			fillCheck(t, v.APDU, func(d string) ([]byte, error) { return v.Fill(d) })
		} else {
			if out := m.SecureData(); !bytes.Equal(out, b) {
				t.Fatalf("re-encoded % X", out)
			}
			fillCheck(t, m.APDU, func(d string) ([]byte, error) { return m.Fill(d, d) })
		}
	})
}

func FuzzParsePINVerifyPCSC(f *testing.F) {
	f.Add(mustHex(f, "1E 00 82 08 00 08 06 02 01 0409 00 000000 0D000000 00 20 00 00 08 FFFFFFFFFFFFFFFF"), "123456")
	f.Add(mustHex(f, "00 00 81 03 00 06 06 02 01 0409 00 000000 08000000 00 20 00 00 03 FFFFFF"), "123456")
	f.Add(mustHex(f, "1E 1E 89 47 04 0C 04 02 01 0409 00 000000 0D000000 00 20 00 80 08 2F FFFFFFFFFFFFFF"), "1234")
	f.Fuzz(func(t *testing.T, b []byte, digits string) {
		p, err := ParsePINVerifyPCSC(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		if out := p.PCSC(); !bytes.Equal(out, b) {
			t.Fatalf("re-encoded % X", out)
		}
		fillCheck(t, p.APDU, func(string) ([]byte, error) { return p.Fill(digits) })
	})
}

// fillCheck calls fill with a few PINs: it must not panic, must leave the
// template alone and must keep the APDU length.
func fillCheck(t *testing.T, apdu []byte, fill func(string) ([]byte, error)) {
	tmpl := bytes.Clone(apdu)
	for _, d := range []string{"1234", "123456", "12345678", ""} {
		out, err := fill(d)
		if !bytes.Equal(apdu, tmpl) {
			t.Fatal("Fill changed the template")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPINLength) {
				t.Fatalf("Fill error %v wraps neither ErrMalformed nor ErrPINLength", err)
			}
			continue
		}
		if len(out) != len(apdu) {
			t.Fatalf("Fill made %d bytes of %d", len(out), len(apdu))
		}
	}
}
