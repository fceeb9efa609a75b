package batch

import (
	"strings"

	"github.com/sscard/ssc/sscard"
)

// binding is what the journal says of a line: the card it is bound to and
// whether it is issued there.
type binding struct {
	card   string // uppercase hex
	reader string
	done   bool
	failed string // the last batch.failed error, if not done since
}

// replay reads the batch state from journal entries: the binding of every
// line (the first batch.assign wins: a line is never bound twice) and the
// line of every bound card. A line is done when batch.issued follows its
// assignment, or the card's write session reached "done" after it (a
// crash between the two entries).
func replay(entries []sscard.JournalEntry) (lines map[string]*binding, cards map[string]string) {
	lines, cards = map[string]*binding{}, map[string]string{}
	for _, e := range entries {
		id := strings.ToUpper(e.CardID)
		switch e.Step {
		case sscard.StepBatchAssign:
			if e.Line == "" || id == "" {
				continue
			}
			if _, bound := lines[e.Line]; bound {
				continue
			}
			if _, bound := cards[id]; bound {
				continue
			}
			lines[e.Line] = &binding{card: id, reader: e.Reader}
			cards[id] = e.Line
		case sscard.StepBatchIssued:
			if b := lines[e.Line]; b != nil && b.card == id {
				b.done, b.failed = true, ""
			}
		case sscard.StepBatchFailed:
			if b := lines[e.Line]; b != nil && b.card == id && !b.done {
				b.failed = e.Error
			}
		case sscard.StepDone:
			if l, ok := cards[id]; ok {
				lines[l].done, lines[l].failed = true, ""
			}
		}
	}
	return lines, cards
}
