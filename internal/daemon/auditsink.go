package daemon

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sscard/ssc/internal/audit"
)

// auditSink is the daemon's audit log, replaced as a whole on reload.
type auditSink struct {
	mu  sync.Mutex
	log *audit.Log // nil: no audit log configured
	cfg AuditConfig
}

// record writes e with the card number hashed and the PAN masked.
func (a *auditSink) record(e audit.Entry, card, pan string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.log == nil {
		return nil
	}
	if card != "" {
		e.Card = a.log.CardHash(card)
	}
	if pan != "" {
		e.PAN = audit.MaskPAN(pan)
	}
	return a.log.Record(e)
}

func (a *auditSink) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.log == nil {
		return nil
	}
	err := a.log.Close()
	a.log = nil
	return err
}

// reloadAudit applies an audit configuration: the same path is reopened
// (after logrotate moved the file), another one replaces the log.
func (d *Daemon) reloadAudit(old, next AuditConfig) error {
	a := &d.audit
	if next.Path == "" {
		return a.close()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.log != nil && old == next {
		return a.log.Reopen()
	}
	keyFile := next.KeyFile
	if keyFile == "" {
		keyFile = defaultAuditKey(next.Path)
	}
	key, err := audit.LoadOrCreateKey(keyFile)
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	l, err := audit.Open(audit.Options{Path: next.Path, MaxSize: next.MaxSize, Keep: next.Keep, Key: key})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if a.log != nil {
		a.log.Close()
	}
	a.log, a.cfg = l, next
	return nil
}

// defaultAuditKey places the key next to the log under a name a logrotate
// pattern for the log ("audit.log*") does not catch: audit.log → audit.key.
func defaultAuditKey(logPath string) string {
	base := strings.TrimSuffix(logPath, filepath.Ext(logPath))
	if base == logPath || filepath.Base(base) == "" {
		return logPath + "-key"
	}
	return base + ".key"
}
