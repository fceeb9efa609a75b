package ministry

import (
	"context"
)

// GetReaderInfo is iGetReaderInfo: the reader's name (the reader of
// iType 3, in place of a serial number: PC/SC does not give one) and the
// configured terminal number (terminal_no; there is no PSAM). On failure
// the message goes to pReaderSN and pPsamTermNo is left empty.
func (l *Lib) GetReaderInfo() (sn Result, termNo string) {
	if r, ok := l.start(noIType); !ok {
		return r, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	infos, err := l.listReaders(ctx)
	if err != nil {
		return errorResult(err), ""
	}
	name := ""
	for _, p := range l.candidates(ITypeAutoContactFirst) {
		for _, in := range infos {
			if p != "" && (in.Name == p || contains(in.Name, p)) {
				name = in.Name
				break
			}
		}
		if name != "" {
			break
		}
	}
	if name == "" {
		if len(infos) == 0 {
			return fail(ErrNoReader, ""), ""
		}
		name = infos[0].Name
	}
	return Result{Out: name}, l.cfg.TerminalNo
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && indexFold(s, sub) >= 0
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub); j++ {
			a, b := s[i+j], sub[j]
			if 'A' <= a && a <= 'Z' {
				a += 'a' - 'A'
			}
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			if a != b {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// DoDebit is iDoDebit and ReadDebitRecord iReadDebitRecord: the old
// electronic purse is not in the card model (3rd-gen cards pay through the
// bank application), so both answer ErrNotSupported — never a fake
// success.
func (l *Lib) DoDebit(iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	return fail(ErrNotSupported, "the purse is not supported")
}

// ReadDebitRecord is iReadDebitRecord (see DoDebit).
func (l *Lib) ReadDebitRecord(iType int) Result { return l.DoDebit(iType) }
