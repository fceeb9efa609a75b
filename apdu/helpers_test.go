package apdu

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// h decodes hex written with optional spaces; it panics on typos in test
// tables, which is what we want.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func hexOf(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// checkErr reports a mismatch between err and the wanted sentinel (nil for
// success) and returns whether the call succeeded as wanted.
func checkErr(t *testing.T, err, want error) bool {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("error = %v, want %v", err, want)
	}
	return want == nil && err == nil
}
