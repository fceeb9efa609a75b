package reader

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// ATR is a card's answer to reset; it marshals as uppercase hex.
type ATR []byte

func (a ATR) String() string { return strings.ToUpper(hex.EncodeToString(a)) }

// MarshalText implements encoding.TextMarshaler.
func (a ATR) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *ATR) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("reader: ATR is not hex: %w", err)
	}
	*a = v
	return nil
}
