package ministry

import (
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Output limits: the most bytes (terminating NUL included) the library
// writes into each output buffer. The C signatures carry no length, so
// these are the contract of sscard.h; an answer that would not fit is
// replaced by ErrOutputTooLong and its message.
const (
	MaxOutInfo    = 1024 // pOutInfo of every function except the PKI ones
	MaxPKIOutInfo = 4096 // pOutInfo of PKI_SignData and PKI_VerifySign
	MaxReaderSN   = 128  // pReaderSN of iGetReaderInfo
	MaxPsamTermNo = 64   // pPsamTermNo of iGetReaderInfo
)

// Input limits: the most bytes read from each input string (terminating
// NUL excluded); a longer string is refused without being used.
const (
	MaxKeyIn      = 256  // pKey
	MaxCardInfoIn = 1024 // pCardInfo
	MaxAddressIn  = MaxAddress
	MaxPINIn      = 16    // pUserPin (then it must be 6 digits)
	MaxDataIn     = 65536 // pInData, pClearText
	MaxCertIn     = 16384 // pCert (base64)
	MaxSigIn      = 256   // pSignature (hex)
)

// Encode turns r into the bytes to copy into an output buffer of max bytes
// (without the NUL the caller appends): GBK unless UTF-8 is configured. An
// answer that does not fit, or cannot be encoded, becomes an error
// Result whose message fits.
func Encode(r Result, max int, utf8 bool) (Code, []byte) {
	b, err := encodeString(r.Out, utf8)
	if err != nil {
		r = fail(ErrCardError, "answer not representable in GBK")
		b = []byte(r.Out)
	}
	if len(b)+1 > max {
		r = fail(ErrOutputTooLong, "")
		b = []byte(r.Out)
		if len(b)+1 > max {
			b = b[:max-1]
		}
	}
	return r.Code, b
}

func encodeString(s string, utf8 bool) ([]byte, error) {
	if utf8 {
		return []byte(s), nil
	}
	return simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
}
