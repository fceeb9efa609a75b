package pboc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sscard/ssc/apdu"
)

// Selection methods (CandidateList.Method, Candidate.Source).
const (
	MethodPSE      = "PSE"
	MethodPPSE     = "PPSE"
	MethodAIDList  = "AID list"
	SourceExplicit = "explicit" // Candidate.Source of ReadOptions.AID not found by selection
)

// Applications runs application selection and returns the candidate list.
// When nothing is selectable the list (with the blocked applications) is
// returned together with an error matching ErrNoApplication.
func (s *Session) Applications(ctx context.Context) (*CandidateList, error) {
	var list *CandidateList
	err := s.do(ctx, func() error {
		var err error
		list, err = s.selectApplications(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(list.Candidates) == 0 {
		return list, noApplication(list)
	}
	return list, nil
}

// selectApplications builds the candidate list: the PSE (contact) or PPSE
// (contactless) directory, else the terminal's AID list.
func (s *Session) selectApplications(ctx context.Context) (*CandidateList, error) {
	aids := s.opts.AIDs
	if aids == nil {
		aids = DefaultAIDs()
	}
	method := MethodPSE
	if s.iface == Contactless {
		method = MethodPPSE
	}
	list := &CandidateList{Method: method}
	entries, reason, err := s.readDirectory(ctx, method)
	if err != nil {
		return nil, err
	}
	list.Directory = entries
	for _, e := range entries {
		if _, ok := Supports(aids, e.AID); !ok {
			list.Unsupported = append(list.Unsupported, e)
		}
	}
	if reason == "" {
		matched := matchEntries(entries, aids)
		if len(matched) == 0 {
			reason = method + " lists no application of the terminal's AID list"
		} else if err := s.confirmEntries(ctx, list, matched, method); err != nil {
			return nil, err
		} else if len(list.Candidates) == 0 && len(list.Blocked) == 0 {
			reason = "no " + method + " entry could be selected"
		}
	}
	if reason != "" {
		// EMV Book 1 §12.3: no usable directory means the list of AIDs method.
		*list = CandidateList{Method: MethodAIDList, Fallback: reason, Skipped: list.Skipped,
			Directory: list.Directory, Unsupported: list.Unsupported}
		if err := s.aidList(ctx, list, aids); err != nil {
			return nil, err
		}
	}
	sortCandidates(list.Candidates)
	s.cands = list
	return list, nil
}

// readDirectory selects the PSE or PPSE and returns its application
// entries; reason says why the directory cannot be used ("" when it can).
// Only a blocked card (6A81) and transport failures are errors.
func (s *Session) readDirectory(ctx context.Context, method string) (entries []DirectoryEntry, reason string, err error) {
	name := PSEName()
	if method == MethodPPSE {
		name = PPSEName()
	}
	resp, err := s.selectName(ctx, name, false)
	if err != nil {
		return nil, "", fmt.Errorf("pboc: select %s: %w", name, err)
	}
	switch resp.SW {
	case apdu.SWOK:
	case apdu.SWFunctionNotSupported:
		return nil, "", fmt.Errorf("pboc: select %s: %w: %w", name, ErrCardBlocked, resp.Err())
	default: // 6A82 missing, 6283 blocked, anything else: AID list
		return nil, fmt.Sprintf("%s: %v", method, resp.Err()), nil
	}
	fci, err := ParseFCI(resp.Data)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", method, err), nil
	}
	if method == MethodPPSE {
		if len(fci.Entries) == 0 {
			return nil, "PPSE: FCI has no directory entries", nil
		}
		return fci.Entries, "", nil
	}
	sfi := fci.DirectorySFI
	if sfi < 1 || sfi > 30 {
		return nil, fmt.Sprintf("PSE: FCI gives directory SFI %d", sfi), nil
	}
	for n := 1; n <= maxDirectoryRecords; n++ {
		data, err := s.exec(ctx, readRecordCmd(n, sfi))
		if isSW(err, apdu.SWRecordNotFound) {
			return entries, "", nil
		}
		if err != nil {
			if _, ok := apdu.StatusOf(err); !ok {
				return nil, "", fmt.Errorf("pboc: read PSE directory record %d: %w", n, err)
			}
			return nil, fmt.Sprintf("PSE: directory record %d: %v", n, err), nil
		}
		e, err := ParseDirectoryRecord(data)
		if err != nil {
			return nil, fmt.Sprintf("PSE: directory record %d: %v", n, err), nil
		}
		entries = append(entries, e...)
	}
	return nil, fmt.Sprintf("PSE: directory has more than %d records", maxDirectoryRecords), nil
}

// matchEntries keeps the directory entries the terminal supports, once each.
func matchEntries(entries []DirectoryEntry, aids []TerminalAID) []DirectoryEntry {
	var out []DirectoryEntry
	for _, e := range entries {
		if !slices.ContainsFunc(aids, func(t TerminalAID) bool { return t.matches(e.AID) }) {
			continue
		}
		if slices.ContainsFunc(out, func(o DirectoryEntry) bool { return bytes.Equal(o.AID, e.AID) }) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// matches reports whether card AID aid is an application of t: the same,
// or (partial selection) an extension of it.
func (t TerminalAID) matches(aid []byte) bool {
	if len(t.AID) == 0 {
		return false
	}
	return bytes.Equal(aid, t.AID) || (t.Partial && bytes.HasPrefix(aid, t.AID))
}

// confirmEntries selects every matched directory entry (the final SELECT
// whose FCI carries the PDOL). The entries are selected lowest priority
// first so that the top candidate stays selected for Read.
func (s *Session) confirmEntries(ctx context.Context, list *CandidateList, matched []DirectoryEntry, method string) error {
	matched = slices.Clone(matched)
	slices.SortStableFunc(matched, func(a, b DirectoryEntry) int { return rank(a.Priority) - rank(b.Priority) })
	found := make([]*Candidate, len(matched))
	for i := len(matched) - 1; i >= 0; i-- {
		e := matched[i]
		c := Candidate{DirectoryEntry: e, Name: AIDName(e.AID), Source: method}
		fci, err := s.selectApp(ctx, e.AID)
		switch {
		case err == nil:
			c.FCI = fci
			found[i] = &c
			s.cur, s.gpo, s.stale = &c, false, false
		case errors.Is(err, ErrApplicationBlocked):
			c.Blocked = true
			found[i] = &c
		case errors.Is(err, ErrCardBlocked) || !cardAnswer(err):
			return err
		default: // not on the card after all, or a bad FCI: not a candidate
			list.Skipped = append(list.Skipped, err.Error())
		}
	}
	for _, c := range found {
		switch {
		case c == nil:
		case c.Blocked:
			list.Blocked = append(list.Blocked, *c)
		default:
			list.Candidates = append(list.Candidates, *c)
		}
	}
	return nil
}

// aidList is the list of AIDs method: SELECT each terminal AID and, for
// partial ones, SELECT next occurrence until 6A82.
func (s *Session) aidList(ctx context.Context, list *CandidateList, aids []TerminalAID) error {
	seen := func(aid []byte) bool {
		same := func(c Candidate) bool { return bytes.Equal(c.AID, aid) }
		return slices.ContainsFunc(list.Candidates, same) || slices.ContainsFunc(list.Blocked, same)
	}
	for _, t := range aids {
		if len(t.AID) < 5 || len(t.AID) > 16 {
			continue // not an AID (ISO 7816-4 §8.2.1.2)
		}
		var returned [][]byte // DF names this terminal AID gave, to stop a card ignoring P2=02
	rounds:
		for round := 0; round < maxNextOccurrence; round++ {
			resp, err := s.selectName(ctx, t.AID, round > 0)
			if err != nil {
				return fmt.Errorf("pboc: select %X: %w", t.AID, err)
			}
			var fci *FCI
			var ferr error
			if len(resp.Data) > 0 {
				fci, ferr = ParseFCI(resp.Data)
			}
			switch resp.SW {
			case apdu.SWOK:
				if fci == nil {
					if ferr == nil {
						ferr = errors.New("no FCI")
					}
					list.Skipped = append(list.Skipped, fmt.Sprintf("select %X: %v", t.AID, ferr))
					break
				}
				aid := fci.DFName
				if slices.ContainsFunc(returned, func(b []byte) bool { return bytes.Equal(b, aid) }) {
					break rounds
				}
				returned = append(returned, aid)
				if !t.matches(aid) || seen(aid) {
					break
				}
				c := candidateFromFCI(fci, MethodAIDList)
				list.Candidates = append(list.Candidates, c)
				s.cur, s.gpo, s.stale = &c, false, false
			case apdu.SWFileInvalidated:
				aid := t.AID
				if fci != nil {
					aid = fci.DFName
				}
				if seen(aid) || !t.matches(aid) {
					break
				}
				c := Candidate{DirectoryEntry: DirectoryEntry{AID: bytes.Clone(aid)}, Name: AIDName(aid), FCI: fci, Blocked: true, Source: MethodAIDList}
				if fci != nil {
					c.DirectoryEntry = entryFromFCI(fci)
				}
				list.Blocked = append(list.Blocked, c)
			case apdu.SWFileNotFound:
				break rounds
			case apdu.SWFunctionNotSupported:
				return fmt.Errorf("pboc: select %X: %w: %w", t.AID, ErrCardBlocked, resp.Err())
			default:
				list.Skipped = append(list.Skipped, fmt.Sprintf("select %X: %v", t.AID, resp.Err()))
				break rounds
			}
			if !t.Partial {
				break
			}
			if round == maxNextOccurrence-1 {
				list.Skipped = append(list.Skipped, fmt.Sprintf("select %X: stopped after %d next occurrences", t.AID, maxNextOccurrence))
			}
		}
	}
	return nil
}

func entryFromFCI(fci *FCI) DirectoryEntry {
	return DirectoryEntry{
		AID: fci.DFName, Label: fci.Label, PreferredName: fci.PreferredName,
		Priority: fci.Priority, HasPriority: fci.HasPriority, IssuerCodeTable: fci.IssuerCodeTable,
	}
}

func candidateFromFCI(fci *FCI, source string) Candidate {
	return Candidate{DirectoryEntry: entryFromFCI(fci), Name: AIDName(fci.DFName), FCI: fci, Source: source}
}

// rank orders priorities: 1 (highest) .. 15, then none.
func rank(p Priority) int {
	if r := p.Rank(); r != 0 {
		return r
	}
	return 16
}

// sortCandidates orders by priority; equal ones (and those without) keep
// the card's order.
func sortCandidates(cs []Candidate) {
	slices.SortStableFunc(cs, func(a, b Candidate) int { return rank(a.Priority) - rank(b.Priority) })
}

// choose returns the first candidate that may be selected: one that needs
// cardholder confirmation only when Options.Confirm gives it.
func (s *Session) choose(list *CandidateList) (*Candidate, error) {
	for i := range list.Candidates {
		c := &list.Candidates[i]
		if c.Priority.NeedsConfirmation() && (s.opts.Confirm == nil || !s.opts.Confirm(*c)) {
			continue
		}
		return c, nil
	}
	return nil, noApplication(list)
}

// noAppError is ErrNoApplication because every matching application is
// blocked; it matches ErrApplicationBlocked too.
type noAppError struct{ blocked int }

func (e *noAppError) Error() string {
	return fmt.Sprintf("%v: %d matching application(s) blocked (6283)", ErrNoApplication, e.blocked)
}

func (e *noAppError) Unwrap() []error { return []error{ErrNoApplication, ErrApplicationBlocked} }

func noApplication(list *CandidateList) error {
	switch {
	case len(list.Candidates) > 0:
		return fmt.Errorf("%w: %d application(s) need cardholder confirmation", ErrNoApplication, len(list.Candidates))
	case len(list.Blocked) > 0:
		return &noAppError{blocked: len(list.Blocked)}
	case len(list.Unsupported) > 0 && len(list.Unsupported) == len(list.Directory):
		return &UnsupportedError{Apps: slices.Clone(list.Unsupported)}
	}
	return ErrNoApplication
}

// UnsupportedError is ErrNoApplication for a card whose directory (PSE or
// PPSE) lists applications, none of them in the terminal's AID list (and
// none found by the list of AIDs method): it names them, so the clerk
// knows the card is, say, a Visa card on a UnionPay-only terminal.
type UnsupportedError struct {
	// Apps are the directory entries the terminal does not support.
	Apps []DirectoryEntry
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrNoApplication.Error())
	b.WriteString(": the card offers only applications this terminal does not support: ")
	for i, a := range e.Apps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%X", []byte(a.AID))
		label := printableLabel(a.Label)
		if label == "" {
			label = AIDName(a.AID)
		}
		if label != "" {
			fmt.Fprintf(&b, " (%s)", label)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoApplication) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrNoApplication }

// printableLabel keeps a card-supplied label printable and short for
// messages (labels are "ans", ASCII letters, digits and spaces).
func printableLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 32 {
		s = s[:32]
	}
	return s
}

// selectName sends SELECT by DF name, first (P2 00) or next occurrence
// (P2 02). The answer is returned whatever its status; only transport
// failures are errors.
func (s *Session) selectName(ctx context.Context, name []byte, next bool) (apdu.Response, error) {
	p2 := byte(0x00)
	if next {
		p2 = 0x02
	}
	resp, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: p2, Data: name, Ne: apdu.MaxShortNe})
	// Any SELECT may change what the card has selected.
	s.cur, s.gpo = nil, false
	return resp, err
}

// selectApp selects the application aid (exact DF name) and returns its
// FCI. 6283 gives ErrApplicationBlocked, 6A81 ErrCardBlocked. The caller
// records the selection in s.cur.
func (s *Session) selectApp(ctx context.Context, aid []byte) (*FCI, error) {
	resp, err := s.selectName(ctx, aid, false)
	if err == nil {
		switch resp.SW {
		case apdu.SWOK:
		case apdu.SWFileInvalidated:
			err = fmt.Errorf("%w: %w", ErrApplicationBlocked, resp.Err())
		case apdu.SWFunctionNotSupported:
			err = fmt.Errorf("%w: %w", ErrCardBlocked, resp.Err())
		default:
			err = resp.Err()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pboc: select %X: %w", aid, err)
	}
	fci, err := ParseFCI(resp.Data)
	if err != nil {
		return nil, fmt.Errorf("pboc: select %X: %w", aid, err)
	}
	if !bytes.Equal(fci.DFName, aid) {
		return nil, fmt.Errorf("pboc: select %X: %w", aid, malformed("FCI", "DF name %X, selected %X", []byte(fci.DFName), aid))
	}
	return fci, nil
}

// prepare makes sure an application is selected: aid (exact) when given,
// else (for a fresh start, Read) the first candidate of application
// selection, else the current one or that first candidate. With fresh,
// the application is selected again if GPO already ran in it.
func (s *Session) prepare(ctx context.Context, aid []byte, fresh bool) (*Candidate, error) {
	usable := func(c *Candidate) bool { return c != nil && !s.stale && !(fresh && s.gpo) }
	if aid == nil && !fresh && s.cur != nil {
		if !s.stale {
			return s.cur, nil
		}
		aid = s.cur.AID // chosen in an earlier transaction: select it again
	}
	if aid == nil {
		list := s.cands
		if list == nil {
			var err error
			if list, err = s.selectApplications(ctx); err != nil {
				return nil, err
			}
		}
		c, err := s.choose(list)
		if err != nil {
			return nil, err
		}
		aid = c.AID
		if usable(s.cur) && bytes.Equal(s.cur.AID, aid) {
			return s.cur, nil // selection ended with it
		}
	} else if usable(s.cur) && bytes.Equal(s.cur.AID, aid) {
		return s.cur, nil
	}
	fci, err := s.selectApp(ctx, aid)
	if err != nil {
		if errors.Is(err, apdu.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrNoApplication, err)
		}
		return nil, err
	}
	c := candidateFromFCI(fci, SourceExplicit)
	if s.cands != nil {
		// Keep what selection knew (directory label, source).
		if i := slices.IndexFunc(s.cands.Candidates, func(k Candidate) bool { return bytes.Equal(k.AID, aid) }); i >= 0 {
			c = s.cands.Candidates[i]
			c.FCI = fci
		}
	}
	s.cur, s.gpo, s.stale = &c, false, false
	return s.cur, nil
}

// cardAnswer reports whether err is the card's (status word, malformed
// data) rather than the link's or the caller's.
func cardAnswer(err error) bool {
	_, ok := apdu.StatusOf(err)
	return ok || errors.Is(err, ErrMalformed)
}

// Select selects the application aid (exact DF name) for the operations
// that work on "the selected application" (GetData, Balance, Counters,
// Log), without GPO; nil aid means the first candidate of application
// selection. A blocked application gives ErrApplicationBlocked.
func (s *Session) Select(ctx context.Context, aid []byte) (*Candidate, error) {
	var c *Candidate
	err := s.do(ctx, func() error {
		var err error
		c, err = s.prepare(ctx, aid, aid == nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := *c
	return &out, nil
}
