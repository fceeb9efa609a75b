package keysystem

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
)

// SIM is the SIM software key system of sim-profile §1/§3: it derives the
// card keys from the SIM test master keys (simkeys.CardKey) and answers
// RESULT1 = C1||O1 (kid 09, factor F1) and RESULT2 = C2||O2 (kid 0A,
// factor F2). It holds the write key too (sscard.WriteKeyHSM) and the
// update key (sscard.Authorizer). For tests and the software card only.
type SIM struct{}

var (
	_ sscard.HSM         = SIM{}
	_ sscard.WriteKeyHSM = SIM{}
	_ sscard.Authorizer  = SIM{}
)

// Authenticate implements sscard.HSM.
func (SIM) Authenticate(ctx context.Context, st sscard.Step1) (sscard.Step2Input, error) {
	var out sscard.Step2Input
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for i, p := range []struct {
		kid  byte
		f, o []byte
		dst  *[16]byte
	}{{sscard.KidInternal, st.F1, st.O1, &out.Result1}, {sscard.KidRead, st.F2, st.O2, &out.Result2}} {
		c, err := simCryptogram(p.kid, st.CardID, p.f, p.o)
		if err != nil {
			return sscard.Step2Input{}, fmt.Errorf("SIM HSM result %d: %w", i+1, err)
		}
		copy(p.dst[:8], c[:])
		copy(p.dst[8:], p.o)
	}
	return out, nil
}

// AuthorizeWrite implements sscard.WriteKeyHSM with the SIM keys
// (sim-profile §1): RESULT = C||ODATA, C the kid-04 cryptogram with factor
// KEYFAC.
func (SIM) AuthorizeWrite(ctx context.Context, req sscard.WriteKeyRequest) (sscard.WriteKeyAnswer, error) {
	var out sscard.WriteKeyAnswer
	if err := ctx.Err(); err != nil {
		return out, err
	}
	c, err := simCryptogram(sscard.KidUpdate, req.CardID, req.Factor, req.Orig)
	if err != nil {
		return sscard.WriteKeyAnswer{}, fmt.Errorf("SIM HSM write key: %w", err)
	}
	copy(out.Result[:8], c[:])
	copy(out.Result[8:], req.Orig)
	return out, nil
}

// ExternalAuthCryptogram implements sscard.Authorizer with the SIM keys.
func (SIM) ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	if err := ctx.Err(); err != nil {
		return [8]byte{}, err
	}
	return simCryptogram(kid, cardID, factor, orig)
}

func simCryptogram(kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	key, err := simkeys.CardKey(kid, cardID)
	if err != nil {
		return [8]byte{}, err
	}
	defer clear(key[:])
	return sm.SIMCryptogram(key[:], factor, orig)
}
