package keysystem

import (
	"context"
	"errors"

	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
)

// ErrAdminPINChanged: the run being resumed changed the admin PIN, so the
// card's admin PIN is no longer the SIM one; the new one must be given.
var ErrAdminPINChanged = errors.New("keysystem: the run to resume changed the admin PIN")

// SIMAdminKeys completes in with the SIM admin secrets of the software
// card of s, which the SIM key system derives from the card identification
// code (read with in.HSM): the admin PIN (GLYPIN, simkeys.PKIAdminPIN) when pin
// is set, the master key (ZKMY, simkeys.PKIMasterKey) when key is set; the
// caller's own values are kept otherwise. When in.Resume records a run of
// this card that changed the admin PIN, the admin PIN is in.NewAdminPIN,
// ErrAdminPINChanged without one.
func SIMAdminKeys(ctx context.Context, s *sscard.Session, in *sscard.PersonaliseInput, pin, key bool) error {
	if !pin && !key {
		return nil
	}
	info, err := sscard.ReadAuto(ctx, s, in.HSM, sscard.ReadOptions{Fields: sscard.FieldCardID})
	if err != nil {
		return err
	}
	if pin {
		in.AdminPIN = simkeys.PKIAdminPIN(info.CardID)
		if st := sscard.PKIStatus(in.Resume, info.CardID.String()); st != nil && st.AdminPIN == sscard.PKISecretNew {
			if in.NewAdminPIN == nil {
				return ErrAdminPINChanged
			}
			in.AdminPIN = *in.NewAdminPIN
		}
	}
	if key {
		in.MasterKey = simkeys.PKIMasterKey(info.CardID)
	}
	return nil
}
