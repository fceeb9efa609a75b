package pboc

import (
	"errors"
	"testing"
)

// rejectsPrefixes checks that parse refuses every strict prefix of valid
// (crypto/tls style: truncation must never go unnoticed) and that valid
// itself parses. Errors must wrap ErrMalformed.
func rejectsPrefixes(t *testing.T, valid []byte, parse func([]byte) error) {
	t.Helper()
	if err := parse(valid); err != nil {
		t.Fatalf("valid input %X: %v", valid, err)
	}
	for i := range len(valid) {
		err := parse(valid[:i])
		if err == nil {
			t.Errorf("prefix of %d/%d bytes %X accepted", i, len(valid), valid[:i])
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix of %d bytes: error %v does not wrap ErrMalformed", i, err)
		}
	}
}

func wantMalformed(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted")
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v does not wrap ErrMalformed", err)
	}
}
