package pboc

// EMV numeric encodings (Book 3 §4.3): n is BCD, right-justified with
// leading zeros; cn is BCD, left-justified and padded with F nibbles.

// bcdDigits returns the digits of n-format data; ok is false when a
// nibble is not a decimal digit.
func bcdDigits(b []byte) (string, bool) {
	d := make([]byte, 0, 2*len(b))
	for _, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return "", false
		}
		d = append(d, '0'+hi, '0'+lo)
	}
	return string(d), true
}

// cnDigits returns the digits of cn-format data: digits, then only F
// nibbles. ok is false for any other nibble or when there is no digit.
func cnDigits(b []byte) (string, bool) {
	d := make([]byte, 0, 2*len(b))
	pad := false
	for _, c := range b {
		for _, x := range [2]byte{c >> 4, c & 0x0F} {
			switch {
			case x == 0x0F:
				pad = true
			case x <= 9 && !pad:
				d = append(d, '0'+x)
			default:
				return "", false
			}
		}
	}
	return string(d), len(d) > 0
}

// bcdUint decodes n-format data as a number; ok is false for non-BCD data
// or a value that does not fit in uint64.
func bcdUint(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		for _, x := range [2]byte{hi, lo} {
			if v > (^uint64(0)-uint64(x))/10 {
				return 0, false
			}
			v = v*10 + uint64(x)
		}
	}
	return v, true
}

// bcdByte decodes one BCD byte (n2).
func bcdByte(c byte) (int, bool) {
	hi, lo := c>>4, c&0x0F
	if hi > 9 || lo > 9 {
		return 0, false
	}
	return int(hi)*10 + int(lo), true
}

// appendBCD encodes v as n-format data of size bytes: the rightmost
// 2*size digits, with leading zeros (higher digits are dropped, as EMV
// truncates numeric data on the left).
func appendBCD(dst []byte, v uint64, size int) []byte {
	out := make([]byte, size)
	for i := size - 1; i >= 0; i-- {
		lo := v % 10
		v /= 10
		hi := v % 10
		v /= 10
		out[i] = byte(hi<<4 | lo)
	}
	return append(dst, out...)
}

// resize fits a value to a DOL entry of size bytes following EMV Book 3
// §5.4: numeric data is right-justified (truncated on the left or padded
// with leading zeros), compressed numeric is left-justified and padded
// with F, anything else left-justified and padded with zeros.
func resize(f Format, v []byte, size int) []byte {
	if size < 0 {
		size = 0
	}
	out := make([]byte, size)
	switch f {
	case FormatNumeric:
		if len(v) >= size {
			copy(out, v[len(v)-size:])
		} else {
			copy(out[size-len(v):], v)
		}
		return out
	case FormatCompressedNumeric:
		for i := range out {
			out[i] = 0xFF
		}
	}
	copy(out, v)
	return out
}
