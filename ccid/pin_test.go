package ccid

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// docVerify is the Secure example of docs/serial-ccid.md §5.
func docVerify(t testing.TB) PINVerify {
	return PINVerify{
		TimeOut: 0x1E, FormatString: 0x82, PINBlockString: 0x08,
		MaxDigits: 8, MinDigits: 6, EntryValidation: 0x02, NumberMessage: 0x01,
		LangID: 0x0904,
		APDU:   mustHex(t, "00 20 00 00 08 FFFFFFFFFFFFFFFF"),
	}
}

func TestPINVerifyEncodings(t *testing.T) {
	p := docVerify(t)
	p.TimeOut2 = 0x0F
	wantPCSC := mustHex(t, "1E 0F 82 08 00 08 06 02 01 0409 00 000000 0D000000 00 20 00 00 08 FFFFFFFFFFFFFFFF")
	if got := p.PCSC(); !bytes.Equal(got, wantPCSC) {
		t.Errorf("PCSC = % X\nwant   % X", got, wantPCSC)
	}
	// The bytes libccid 1.5.2 sent (docs §5, "[E] example").
	wantSecure := mustHex(t, "00 1E 82 08 00 08 06 02 01 04 09 00 000000 00 20 00 00 08 FFFFFFFFFFFFFFFF")
	if got := p.SecureData(); !bytes.Equal(got, wantSecure) {
		t.Errorf("SecureData = % X\nwant         % X", got, wantSecure)
	}

	back, err := ParsePINVerifyPCSC(wantPCSC)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("ParsePINVerifyPCSC = %+v, %v", back, err)
	}
	v, m, err := ParseSecureData(wantSecure)
	p.TimeOut2 = 0 // not in the CCID form
	if err != nil || m != nil || v == nil || !reflect.DeepEqual(*v, p) {
		t.Errorf("ParseSecureData = %+v, %+v, %v", v, m, err)
	}
}

func TestPINModifyEncodings(t *testing.T) {
	p := PINModify{
		TimeOut: 0x1E, TimeOut2: 0x05, FormatString: 0x82, PINBlockString: 0x08,
		PINLengthFormat: 0x00, InsertionOffsetOld: 0, InsertionOffsetNew: 8,
		MaxDigits: 8, MinDigits: 4, ConfirmPIN: 0x03, EntryValidation: 0x02,
		NumberMessage: 0x01, LangID: 0x0409, MsgIndex: [3]byte{0, 1, 2},
		TeoPrologue: [3]byte{0xA, 0xB, 0xC},
		APDU:        mustHex(t, "00 24 00 00 10"+" FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF"),
	}
	wantPCSC := mustHex(t, "1E 05 82 08 00 00 08 08 04 03 02 01 0904 000102 0A0B0C 15000000"+
		" 00 24 00 00 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF")
	if got := p.PCSC(); !bytes.Equal(got, wantPCSC) {
		t.Errorf("PCSC = % X\nwant   % X", got, wantPCSC)
	}
	// All three bMsgIndex bytes although bNumberMessage is 1 (GemPC PinPad).
	wantSecure := mustHex(t, "01 1E 82 08 00 00 08 08 04 03 02 01 0904 000102 0A0B0C"+
		" 00 24 00 00 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF")
	if got := p.SecureData(); !bytes.Equal(got, wantSecure) {
		t.Errorf("SecureData = % X\nwant         % X", got, wantSecure)
	}
	v, m, err := ParseSecureData(wantSecure)
	p.TimeOut2 = 0
	if err != nil || v != nil || m == nil || !reflect.DeepEqual(*m, p) {
		t.Errorf("ParseSecureData = %+v, %+v, %v", v, m, err)
	}
}

func TestParsePINRejects(t *testing.T) {
	pcsc := docVerify(t).PCSC()
	for i := 0; i < len(pcsc); i++ {
		if _, err := ParsePINVerifyPCSC(pcsc[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("PC/SC prefix %d: err = %v", i, err)
		}
	}
	short := PINVerify{APDU: []byte{0, 0x20, 0}}.PCSC() // 3-byte APDU
	if _, err := ParsePINVerifyPCSC(short); !errors.Is(err, ErrMalformed) {
		t.Errorf("3-byte APDU: err = %v", err)
	}
	bad := bytes.Clone(pcsc)
	bad[15]++ // ulDataLength
	if _, err := ParsePINVerifyPCSC(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong ulDataLength: err = %v", err)
	}

	verify := docVerify(t).SecureData()
	modify := PINModify{APDU: []byte{0, 0x24, 0, 0}}.SecureData()
	for _, tt := range []struct {
		name string
		b    []byte
		min  int // shortest accepted length
	}{
		{"verify", verify, 15 + 4},
		{"modify", modify, 20 + 4},
	} {
		for i := 0; i < tt.min; i++ {
			if _, _, err := ParseSecureData(tt.b[:i]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s prefix %d: err = %v", tt.name, i, err)
			}
		}
	}
	for _, op := range []byte{0x02, 0x04, 0x10, 0x20, 0xFF} {
		b := bytes.Clone(verify)
		b[0] = op
		if _, _, err := ParseSecureData(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("bPINOperation %02X: err = %v", op, err)
		}
	}
}

func TestPINVerifyFill(t *testing.T) {
	const ff8 = " FFFFFFFFFFFFFFFF"
	tests := []struct {
		name          string
		format, block byte
		length        byte
		minD, maxD    byte
		apdu          string
		digits        string
		want          string
		wantErr       error
	}{
		// Social security card VERIFY: 00 20 00 00 03 <6 BCD digits>.
		{"SSC BCD", 0x81, 0x03, 0x00, 6, 6, "00 20 00 00 03 FFFFFF", "123456", "00 20 00 00 03 123456", nil},
		{"SSC BCD 00 fill", 0x81, 0x03, 0x00, 6, 6, "00 20 00 00 03 000000", "123456", "00 20 00 00 03 123456", nil},
		{"SSC BCD odd left", 0x81, 0x03, 0x00, 4, 6, "00 20 00 00 03 FFFFFF", "12345", "00 20 00 00 03 12345F", nil},
		{"SSC BCD odd left 00 fill", 0x81, 0x03, 0x00, 4, 6, "00 20 00 00 03 000000", "12345", "00 20 00 00 03 123450", nil},
		{"SSC BCD odd right", 0x85, 0x03, 0x00, 4, 6, "00 20 00 00 03 FFFFFF", "12345", "00 20 00 00 03 F12345", nil},
		{"SSC BCD 4 right", 0x85, 0x03, 0x00, 4, 6, "00 20 00 00 03 000000", "1234", "00 20 00 00 03 001234", nil},
		{"SSC BCD too long for block", 0x81, 0x03, 0x00, 4, 8, "00 20 00 00 03 FFFFFF", "1234567", "", ErrPINLength},

		// ISO 9564 format 2: 2L PP PP .. FF; PIN at byte 1, 4-bit length at bit 4.
		{"format 2 block 7", 0x89, 0x47, 0x04, 4, 12, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "123456", "00 20 00 80 08 26 123456FFFFFFFF", nil},
		{"format 2 block 7 template 20", 0x89, 0x47, 0x04, 4, 12, "00 20 00 80 08 20 FFFFFFFFFFFFFF", "1234", "00 20 00 80 08 24 1234FFFFFFFFFF", nil},
		{"format 2 12 digits", 0x89, 0x47, 0x04, 4, 12, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "123456789012", "00 20 00 80 08 2C 123456789012FF", nil},
		{"format 2 odd", 0x89, 0x47, 0x04, 4, 12, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "12345", "00 20 00 80 08 25 12345FFFFFFFFF", nil},
		{"format 2 13 digits overflow block 7", 0x89, 0x47, 0x04, 4, 14, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "1234567890123", "", ErrPINLength},
		{"format 2 OpenSC block 8", 0x89, 0x48, 0x04, 4, 12, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "123456", "00 20 00 80 08 26 123456FFFFFFFF", nil},
		{"format 2 bit position", 0x08<<3 | 0x01, 0x48, 0x04, 4, 12, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "1234", "00 20 00 80 08 24 1234FFFFFFFFFF", nil},

		// ASCII, the docs §5 example shape, and variants.
		{"ASCII left", 0x82, 0x08, 0x00, 6, 8, "00 20 00 00 08" + ff8, "123456", "00 20 00 00 08 313233343536FFFF", nil},
		{"ASCII right", 0x86, 0x08, 0x00, 4, 8, "00 20 00 00 08" + ff8, "1234", "00 20 00 00 08 FFFFFFFF31323334", nil},
		{"ASCII no block", 0x82, 0x00, 0x00, 4, 8, "00 20 00 01 06 000000000000", "123456", "00 20 00 01 06 313233343536", nil},
		{"ASCII byte length", 0x8A, 0x88, 0x10, 4, 8, "00 20 00 01 09 00" + ff8, "123456", "00 20 00 01 09 06 313233343536FFFF", nil},
		{"binary", 0x80, 0x04, 0x00, 4, 4, "00 20 00 00 04 FFFFFFFF", "1290", "00 20 00 00 04 01020900", nil},
		{"binary right pos 1", 0x8C, 0x05, 0x00, 2, 4, "00 20 00 00 05 AA FFFFFFFF", "12", "00 20 00 00 05 AA FFFF0102", nil},

		// Errors.
		{"too few digits", 0x82, 0x08, 0x00, 6, 8, "00 20 00 00 08" + ff8, "12345", "", ErrPINLength},
		{"too many digits", 0x82, 0x08, 0x00, 4, 8, "00 20 00 00 08" + ff8, "123456789", "", ErrPINLength},
		{"not a digit", 0x82, 0x08, 0x00, 4, 8, "00 20 00 00 08" + ff8, "12a4", "", ErrPINLength},
		{"empty PIN", 0x82, 0x08, 0x00, 4, 8, "00 20 00 00 08" + ff8, "", "", ErrPINLength},
		{"length field too small", 0x89, 0x27, 0x04, 4, 8, "00 20 00 80 08 2F FFFFFFFFFFFFFF", "1234", "", ErrPINLength},
		{"reserved coding", 0x83, 0x08, 0x00, 4, 8, "00 20 00 00 08" + ff8, "1234", "", ErrMalformed},
		{"template too short", 0x82, 0x08, 0x00, 4, 8, "00 20 00 00 04 FFFFFFFF", "1234", "", ErrMalformed},
		{"header only", 0x82, 0x00, 0x00, 4, 8, "00 20 00 00", "1234", "", ErrMalformed},
		{"length beyond template", 0x8A, 0x80, 0x1F, 4, 8, "00 20 00 01 09 00" + ff8, "1234", "", ErrMalformed},
		{"min above max", 0x82, 0x08, 0x00, 8, 4, "00 20 00 00 08" + ff8, "123456", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PINVerify{
				FormatString: tt.format, PINBlockString: tt.block, PINLengthFormat: tt.length,
				MinDigits: tt.minD, MaxDigits: tt.maxD, APDU: mustHex(t, tt.apdu),
			}
			tmpl := bytes.Clone(p.APDU)
			got, err := p.Fill(tt.digits)
			if !bytes.Equal(p.APDU, tmpl) {
				t.Fatal("Fill changed the template")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Fill = % X\nwant   % X", got, want)
			}
		})
	}
}

func TestPINModifyFill(t *testing.T) {
	const ff8 = " FFFFFFFFFFFFFFFF"
	tests := []struct {
		name          string
		format, block byte
		length        byte
		offOld        byte
		offNew        byte
		confirm       byte
		apdu          string
		old, new      string
		want          string
		wantErr       error
	}{
		{"ASCII old+new", 0x82, 0x08, 0x00, 0, 8, 0x03, "00 24 00 00 10" + ff8 + ff8, "1234", "567890",
			"00 24 00 00 10 31323334FFFFFFFF 353637383930FFFF", nil},
		{"new only", 0x82, 0x08, 0x00, 0, 0, 0x01, "00 2C 02 00 08" + ff8, "ignored", "567890",
			"00 2C 02 00 08 353637383930FFFF", nil},
		{"format 2 pair", 0x89, 0x47, 0x04, 0, 8, 0x02, "00 24 00 80 10 2F FFFFFFFFFFFFFF 2F FFFFFFFFFFFFFF", "1234", "123456",
			"00 24 00 80 10 24 1234FFFFFFFFFF 26 123456FFFFFFFF", nil},
		{"SSC BCD old+new", 0x81, 0x03, 0x00, 0, 4, 0x02, "80 5E 01 00 07 FFFFFF FF FFFFFF", "123456", "654321",
			"80 5E 01 00 07 123456 FF 654321", nil},
		{"bad old", 0x82, 0x08, 0x00, 0, 8, 0x03, "00 24 00 00 10" + ff8 + ff8, "12", "567890", "", ErrPINLength},
		{"bad new", 0x82, 0x08, 0x00, 0, 8, 0x03, "00 24 00 00 10" + ff8 + ff8, "1234", "5x7890", "", ErrPINLength},
		{"new beyond template", 0x82, 0x08, 0x00, 0, 9, 0x03, "00 24 00 00 10" + ff8 + ff8, "1234", "567890", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PINModify{
				FormatString: tt.format, PINBlockString: tt.block, PINLengthFormat: tt.length,
				InsertionOffsetOld: tt.offOld, InsertionOffsetNew: tt.offNew, ConfirmPIN: tt.confirm,
				MinDigits: 4, MaxDigits: 8, APDU: mustHex(t, tt.apdu),
			}
			got, err := p.Fill(tt.old, tt.new)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Fill = % X\nwant   % X", got, want)
			}
		})
	}
}
