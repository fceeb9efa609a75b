package apdu

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// HexBytes is binary data shown as uppercase hex (in JSON and String).
type HexBytes []byte

// String returns the uppercase hex form.
func (h HexBytes) String() string { return strings.ToUpper(hex.EncodeToString(h)) }

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("apdu: hex: %w", err)
	}
	*h = v
	return nil
}
