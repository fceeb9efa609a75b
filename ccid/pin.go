package ccid

import (
	"encoding/binary"
	"fmt"
)

// PINVerify is a PIN verification request for a reader's keypad: the
// fields of the PC/SC part 10 PIN_VERIFY_STRUCTURE and the APDU template
// the digits are inserted into.
//
// wPINMaxExtraDigit is the little-endian word (MinDigits << 8) | MaxDigits
// ("XXYYh, XX minimum, YY maximum" in CCID and PC/SC part 10; OpenSC
// builds it as min<<8 + max): on the wire MaxDigits comes first.
type PINVerify struct {
	TimeOut         byte   // bTimerOut: seconds; 0 = reader default
	TimeOut2        byte   // bTimerOut2 (PC/SC only; dropped in CCID)
	FormatString    byte   // bmFormatString: units, PIN position, justification, format (binary/BCD/ASCII)
	PINBlockString  byte   // bmPINBlockString: PIN length size (bits) and PIN block size (bytes)
	PINLengthFormat byte   // bmPINLengthFormat: units and position of the PIN length
	MaxDigits       byte   // low byte of wPINMaxExtraDigit, sent first
	MinDigits       byte   // high byte of wPINMaxExtraDigit, sent second
	EntryValidation byte   // bEntryValidationCondition: 01 max size, 02 validation key, 04 timeout
	NumberMessage   byte   // bNumberMessage
	LangID          uint16 // wLangId
	MsgIndex        byte   // bMsgIndex
	TeoPrologue     [3]byte
	APDU            []byte // abData: the VERIFY command with the PIN block to fill
}

// Sizes of the fixed parts of the structures.
const (
	pinVerifyPCSCSize   = 19 // PIN_VERIFY_STRUCTURE up to abData
	pinModifyPCSCSize   = 24 // PIN_MODIFY_STRUCTURE up to abData
	pinVerifySecureSize = 1 + 14
	pinModifySecureSize = 1 + 19
	minAPDU             = 4 // CLA INS P1 P2; libccid rejects less
)

// bPINOperation values of PC_to_RDR_Secure.
const (
	pinOpVerify = 0x00
	pinOpModify = 0x01
)

// PCSC encodes the PC/SC part 10 PIN_VERIFY_STRUCTURE (little-endian, 19
// bytes + APDU), as passed to SCardControl(FEATURE_VERIFY_PIN_DIRECT).
func (p PINVerify) PCSC() []byte {
	b := make([]byte, 0, pinVerifyPCSCSize+len(p.APDU))
	b = append(b, p.TimeOut, p.TimeOut2, p.FormatString, p.PINBlockString,
		p.PINLengthFormat, p.MaxDigits, p.MinDigits, p.EntryValidation,
		p.NumberMessage)
	b = binary.LittleEndian.AppendUint16(b, p.LangID)
	b = append(b, p.MsgIndex)
	b = append(b, p.TeoPrologue[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.APDU)))
	return append(b, p.APDU...)
}

// ParsePINVerifyPCSC decodes a PIN_VERIFY_STRUCTURE (the inverse of PCSC).
// Like libccid it wants ulDataLength to match the rest of b and at least
// a 4-byte APDU. Errors wrap ErrMalformed.
func ParsePINVerifyPCSC(b []byte) (PINVerify, error) {
	if len(b) < pinVerifyPCSCSize+minAPDU {
		return PINVerify{}, fmt.Errorf("%w: PIN_VERIFY_STRUCTURE of %d bytes, need %d",
			ErrMalformed, len(b), pinVerifyPCSCSize+minAPDU)
	}
	if n := binary.LittleEndian.Uint32(b[15:19]); uint64(n) != uint64(len(b)-pinVerifyPCSCSize) {
		return PINVerify{}, fmt.Errorf("%w: PIN_VERIFY_STRUCTURE ulDataLength %d but %d APDU bytes",
			ErrMalformed, n, len(b)-pinVerifyPCSCSize)
	}
	v := verifyFields(b, b[pinVerifyPCSCSize:])
	v.TimeOut, v.TimeOut2 = b[0], b[1]
	return v, nil
}

// verifyFields decodes bmFormatString .. bTeoPrologue, which both the
// PC/SC structure (after bTimerOut, bTimerOut2) and the CCID Secure data
// (after bPINOperation, bTimerOut) hold at offsets 2..14.
func verifyFields(b, apdu []byte) PINVerify {
	return PINVerify{
		FormatString:    b[2],
		PINBlockString:  b[3],
		PINLengthFormat: b[4],
		MaxDigits:       b[5],
		MinDigits:       b[6],
		EntryValidation: b[7],
		NumberMessage:   b[8],
		LangID:          binary.LittleEndian.Uint16(b[9:11]),
		MsgIndex:        b[11],
		TeoPrologue:     [3]byte{b[12], b[13], b[14]},
		APDU:            append([]byte(nil), apdu...),
	}
}

// SecureData encodes the abData of a PC_to_RDR_Secure verify as libccid
// builds it: bPINOperation 00, then the structure without bTimerOut2 and
// ulDataLength (14 bytes), then the APDU. Values are copied as they are:
// libccid's corrections for the GemPC PinPad (bNumberMessage 01,
// bEntryValidationCondition 02) are the caller's choice.
func (p PINVerify) SecureData() []byte {
	b := make([]byte, 0, pinVerifySecureSize+len(p.APDU))
	b = append(b, pinOpVerify, p.TimeOut, p.FormatString, p.PINBlockString,
		p.PINLengthFormat, p.MaxDigits, p.MinDigits, p.EntryValidation,
		p.NumberMessage)
	b = binary.LittleEndian.AppendUint16(b, p.LangID)
	b = append(b, p.MsgIndex)
	b = append(b, p.TeoPrologue[:]...)
	return append(b, p.APDU...)
}

// PINModify is a PIN change request for a reader's keypad (PC/SC part 10
// PIN_MODIFY_STRUCTURE). MaxDigits/MinDigits are wPINMaxExtraDigit as in
// PINVerify (max is the low byte, sent first).
type PINModify struct {
	TimeOut, TimeOut2                      byte
	FormatString                           byte
	PINBlockString                         byte
	PINLengthFormat                        byte
	InsertionOffsetOld, InsertionOffsetNew byte // bytes
	MaxDigits, MinDigits                   byte
	ConfirmPIN                             byte // bit 0: new PIN entered twice; bit 1: current PIN entered
	EntryValidation                        byte
	NumberMessage                          byte
	LangID                                 uint16
	MsgIndex                               [3]byte
	TeoPrologue                            [3]byte
	APDU                                   []byte
}

// ConfirmPIN bits.
const (
	confirmNewTwice   = 0x01
	confirmCurrentPIN = 0x02
)

// PCSC encodes the PIN_MODIFY_STRUCTURE (24 bytes + APDU).
func (p PINModify) PCSC() []byte {
	b := make([]byte, 0, pinModifyPCSCSize+len(p.APDU))
	b = append(b, p.TimeOut, p.TimeOut2, p.FormatString, p.PINBlockString,
		p.PINLengthFormat, p.InsertionOffsetOld, p.InsertionOffsetNew,
		p.MaxDigits, p.MinDigits, p.ConfirmPIN, p.EntryValidation,
		p.NumberMessage)
	b = binary.LittleEndian.AppendUint16(b, p.LangID)
	b = append(b, p.MsgIndex[:]...)
	b = append(b, p.TeoPrologue[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.APDU)))
	return append(b, p.APDU...)
}

// SecureData encodes the abData of a PC_to_RDR_Secure modify (bPINOperation
// 01) as libccid builds it for a GemPC PinPad: all three bMsgIndex bytes
// are always present, whatever bNumberMessage says, because that firmware
// reads them all (libccid's "Gemalto CCID Modify Pin Bug" fix). The CCID
// rule would drop bMsgIndex2 for 0 messages and bMsgIndex3 below 3.
func (p PINModify) SecureData() []byte {
	b := make([]byte, 0, pinModifySecureSize+len(p.APDU))
	b = append(b, pinOpModify, p.TimeOut, p.FormatString, p.PINBlockString,
		p.PINLengthFormat, p.InsertionOffsetOld, p.InsertionOffsetNew,
		p.MaxDigits, p.MinDigits, p.ConfirmPIN, p.EntryValidation,
		p.NumberMessage)
	b = binary.LittleEndian.AppendUint16(b, p.LangID)
	b = append(b, p.MsgIndex[:]...)
	b = append(b, p.TeoPrologue[:]...)
	return append(b, p.APDU...)
}

// ParseSecureData decodes the abData of a PC_to_RDR_Secure (what a reader
// receives): exactly one of verify and modify is set. The CCID form has no
// bTimerOut2 (zero here). A modify is read with all three bMsgIndex bytes,
// as a GemPC PinPad reads it (see PINModify.SecureData). The APDU must
// have at least CLA INS P1 P2 and is a copy. Errors wrap ErrMalformed.
func ParseSecureData(b []byte) (verify *PINVerify, modify *PINModify, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: empty PC_to_RDR_Secure data", ErrMalformed)
	}
	switch b[0] {
	case pinOpVerify:
		if len(b) < pinVerifySecureSize+minAPDU {
			return nil, nil, fmt.Errorf("%w: PIN verify data of %d bytes, need %d",
				ErrMalformed, len(b), pinVerifySecureSize+minAPDU)
		}
		v := verifyFields(b, b[pinVerifySecureSize:])
		v.TimeOut = b[1]
		return &v, nil, nil
	case pinOpModify:
		if len(b) < pinModifySecureSize+minAPDU {
			return nil, nil, fmt.Errorf("%w: PIN modify data of %d bytes, need %d",
				ErrMalformed, len(b), pinModifySecureSize+minAPDU)
		}
		return nil, &PINModify{
			TimeOut:            b[1],
			FormatString:       b[2],
			PINBlockString:     b[3],
			PINLengthFormat:    b[4],
			InsertionOffsetOld: b[5],
			InsertionOffsetNew: b[6],
			MaxDigits:          b[7],
			MinDigits:          b[8],
			ConfirmPIN:         b[9],
			EntryValidation:    b[10],
			NumberMessage:      b[11],
			LangID:             binary.LittleEndian.Uint16(b[12:14]),
			MsgIndex:           [3]byte{b[14], b[15], b[16]},
			TeoPrologue:        [3]byte{b[17], b[18], b[19]},
			APDU:               append([]byte(nil), b[pinModifySecureSize:]...),
		}, nil
	}
	return nil, nil, fmt.Errorf("%w: bPINOperation %02X not supported", ErrMalformed, b[0])
}

// Fill returns the verify APDU with the digits inserted as the format
// bytes say (BCD, ASCII or binary; left or right justified; at the PIN
// position in bytes or bits after the APDU header; the PIN length written
// where bmPINLengthFormat says, if its size is non-zero). digits must be
// between MinDigits and MaxDigits characters 0-9. Errors wrap ErrMalformed
// (bad structure) or ErrPINLength.
//
// The layout is the PC/SC part 10 one: the PIN block starts at the first
// byte after the 5-byte header (CLA INS P1 P2 Lc) and is bmPINBlockString
// bits 3-0 bytes long; the PIN and length positions count from its start,
// bits MSB first. A right-justified PIN ends at the end of the block; with
// block size 0 it just starts at its position. Bits that the PIN and its
// length do not cover keep the template's value (its FF or 00 fill,
// ISO 9564 format 2's control nibble), and Lc is left as it is, so the
// template must already hold the whole block.
func (p PINVerify) Fill(digits string) ([]byte, error) {
	if err := checkDigits(digits, p.MinDigits, p.MaxDigits); err != nil {
		return nil, err
	}
	f := pinFormat{p.FormatString, p.PINBlockString, p.PINLengthFormat}
	out := append([]byte(nil), p.APDU...)
	if err := f.insert(out, 0, digits); err != nil {
		return nil, err
	}
	return out, nil
}

// Fill returns the modify APDU with the current (if ConfirmPIN says it is
// entered) and the new PIN inserted at their offsets. Each PIN gets its own
// block, placed as in PINVerify.Fill but starting InsertionOffsetOld or
// InsertionOffsetNew bytes further into the data. oldDigits is ignored when
// ConfirmPIN bit 1 (current PIN) is clear.
func (p PINModify) Fill(oldDigits, newDigits string) ([]byte, error) {
	f := pinFormat{p.FormatString, p.PINBlockString, p.PINLengthFormat}
	out := append([]byte(nil), p.APDU...)
	if p.ConfirmPIN&confirmCurrentPIN != 0 {
		if err := checkDigits(oldDigits, p.MinDigits, p.MaxDigits); err != nil {
			return nil, fmt.Errorf("current PIN: %w", err)
		}
		if err := f.insert(out, int(p.InsertionOffsetOld), oldDigits); err != nil {
			return nil, fmt.Errorf("current PIN: %w", err)
		}
	}
	if err := checkDigits(newDigits, p.MinDigits, p.MaxDigits); err != nil {
		return nil, fmt.Errorf("new PIN: %w", err)
	}
	if err := f.insert(out, int(p.InsertionOffsetNew), newDigits); err != nil {
		return nil, fmt.Errorf("new PIN: %w", err)
	}
	return out, nil
}

func checkDigits(digits string, minDigits, maxDigits byte) error {
	if minDigits > maxDigits {
		return fmt.Errorf("%w: wPINMaxExtraDigit minimum %d above maximum %d",
			ErrMalformed, minDigits, maxDigits)
	}
	if n := len(digits); n < int(minDigits) || n > int(maxDigits) {
		return fmt.Errorf("%w: %d digits, allowed %d..%d", ErrPINLength, n, minDigits, maxDigits)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return fmt.Errorf("%w: character %d is not a digit", ErrPINLength, i+1)
		}
	}
	return nil
}

// apduHeader is CLA INS P1 P2 Lc: positions count from the byte after it.
const apduHeader = 5

// pinFormat holds the three CCID format bytes.
type pinFormat struct {
	format, block, length byte
}

// PIN coding, bmFormatString bits 1-0.
const (
	pinBinary = 0 // one byte per digit, 00..09
	pinBCD    = 1 // one nibble per digit
	pinASCII  = 2 // one byte per digit, '0'..'9'
)

// insert writes digits (already checked) into apdu, the block starting
// base bytes after the header.
func (f pinFormat) insert(apdu []byte, base int, digits string) error {
	coding := f.format & 0x03
	if coding > pinASCII {
		return fmt.Errorf("%w: bmFormatString %02X: PIN coding 3 is reserved", ErrMalformed, f.format)
	}
	digitBits := 8
	if coding == pinBCD {
		digitBits = 4
	}
	start := apduHeader*8 + base*8 // block start, in bits
	pinPos := int(f.format>>3) & 0x0F
	if f.format&0x80 != 0 {
		pinPos *= 8
	}
	blockBits := int(f.block&0x0F) * 8
	lenBits := int(f.block >> 4)
	lenPos := int(f.length) & 0x0F
	if f.length&0x10 != 0 {
		lenPos *= 8
	}

	pinBits := len(digits) * digitBits
	at := pinPos
	if blockBits > 0 {
		if pinPos+pinBits > blockBits {
			return fmt.Errorf("%w: %d digits do not fit the %d-byte PIN block at bit %d",
				ErrPINLength, len(digits), blockBits/8, pinPos)
		}
		if f.format&0x04 != 0 { // right justified: end at the block's end
			at = blockBits - pinBits
		}
	}
	end := max(start+at+pinBits, start+blockBits)
	if lenBits > 0 {
		end = max(end, start+lenPos+lenBits)
	}
	if end > len(apdu)*8 {
		return fmt.Errorf("%w: APDU template of %d bytes is too short for the PIN block (needs %d)",
			ErrMalformed, len(apdu), (end+7)/8)
	}

	if lenBits > 0 && uint64(len(digits)) >= 1<<lenBits {
		return fmt.Errorf("%w: %d digits do not fit a %d-bit PIN length",
			ErrPINLength, len(digits), lenBits)
	}

	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if coding == pinASCII {
			d += '0'
		}
		putBits(apdu, start+at+i*digitBits, digitBits, d)
	}
	if lenBits > 0 {
		putBits(apdu, start+lenPos, lenBits, uint64(len(digits)))
	}
	return nil
}

// putBits writes the low n bits of v at bit offset pos of b, MSB first,
// leaving the other bits alone. The caller checks the bounds.
func putBits(b []byte, pos, n int, v uint64) {
	for i := 0; i < n; i++ {
		bit := byte(v>>(n-1-i)) & 1
		p := pos + i
		mask := byte(0x80) >> (p % 8)
		if bit != 0 {
			b[p/8] |= mask
		} else {
			b[p/8] &^= mask
		}
	}
}
