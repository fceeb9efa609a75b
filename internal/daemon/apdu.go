package daemon

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sscd"
)

// maxAPDUBody caps an APDU request: MaxAPDUs extended APDUs in hex.
const maxAPDUBody = 1 << 20

// handleAPDU is the administrators' raw APDU passthrough: off unless
// admin.apdu is set, and then only for admin peers. The APDUs run in one
// operation (nobody else's APDUs in between) and the card is reset after
// them, since they may have changed its security state.
func (d *Daemon) handleAPDU(w http.ResponseWriter, r *http.Request) {
	if !d.conf().cfg.Admin.APDU {
		writeError(w, sscd.Errorf(sscd.CodeDisabled, "raw APDU passthrough is off (admin.apdu in the configuration)"))
		return
	}
	if !d.isAdmin(r) {
		writeError(w, sscd.Errorf(sscd.CodeForbidden, "raw APDUs are for administrators (admin.uids, admin.gids)"))
		return
	}
	var req sscd.APDURequest
	if err := readJSONLimit(w, r, &req, maxAPDUBody); err != nil {
		writeError(w, err)
		return
	}
	if n := len(req.APDUs); n == 0 || n > sscd.MaxAPDUs {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "%d APDUs: want 1 to %d", n, sscd.MaxAPDUs))
		return
	}
	for i, c := range req.APDUs {
		if _, err := apdu.ParseCommand(c); err != nil {
			writeError(w, sscd.Errorf(sscd.CodeBadRequest, "APDU %d: %v", i+1, err))
			return
		}
	}
	res := sscd.APDUResponse{Responses: []sscd.HexBytes{}}
	err := d.withRawCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true
		for i, c := range req.APDUs {
			rsp, err := op.card.Transmit(ctx, c)
			if err != nil {
				return fmt.Errorf("APDU %d of %d (the earlier ones were sent): %w", i+1, len(req.APDUs), err)
			}
			res.Responses = append(res.Responses, rsp)
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, res)
}
