package cardlink

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
)

// bankAccount reads the account of the card's bank application.
func bankAccount(ctx context.Context, card reader.Card, opts pboc.Options, oda bool) (*link.Bank, error) {
	r, err := pboc.NewSession(card, opts).Read(ctx, pboc.ReadOptions{ODA: oda})
	switch {
	case errors.Is(err, pboc.ErrApplicationBlocked):
		return nil, fmt.Errorf("%w: %w", link.ErrBankBlocked, err)
	case errors.As(err, new(*pboc.UnsupportedError)):
		// The card has payment applications, only none the terminal's AID
		// list accepts: the message names them (pboc.UnsupportedError).
		return nil, fmt.Errorf("%w that the terminal's AID list accepts: %w", ErrNoBankApp, err)
	case errors.Is(err, pboc.ErrNoApplication):
		return nil, fmt.Errorf("%w: %w", ErrNoBankApp, err)
	case err != nil && r != nil && r.ODA != nil && !r.ODA.OK:
		return nil, fmt.Errorf("cardlink: the bank application failed authentication (%s): %w", r.ODA.Method, err)
	case err != nil:
		return nil, fmt.Errorf("cardlink: read the bank application: %w", err)
	case r.Account == nil || r.Account.PAN == "":
		return nil, fmt.Errorf("%w: the application gave no account number", ErrNoBankApp)
	}
	return &link.Bank{
		AID:     strings.ToUpper(hex.EncodeToString(r.Application.AID)),
		PAN:     r.Account.PAN,
		Expiry:  yymmdd(r.Account.Expiry),
		Blocked: r.Application.Blocked,
	}, nil
}

// yymmdd turns pboc's "YYYY-MM-DD" back into the card's YYMMDD.
func yymmdd(d string) string {
	if len(d) == 10 && d[4] == '-' && d[7] == '-' {
		return d[2:4] + d[5:7] + d[8:10]
	}
	return d
}
