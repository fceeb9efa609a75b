package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sscard/ssc/internal/audit"
)

// Values of Config.LogFormat ("" is LogText).
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger makes the daemon's logger: logfmt-style text (the default) or
// JSON lines on w, records of level and above. level may be a
// *slog.LevelVar, so a reload can change it without a new logger.
func NewLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log_format %q: want text or json", format)
}

// ParseLogLevel reads Config.LogLevel: debug, info (also ""), warn or
// error. Only the names: slog's "INFO+2" forms would be a second syntax
// to document.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log_level %q: want debug, info, warn or error", s)
}

// errAttr is the "err" attribute of a record. Errors name fields, never
// their values, but a card layer could still quote a number: long digit
// runs (card numbers, SSNs) are masked as in the audit log.
func errAttr(err error) slog.Attr {
	return slog.String("err", audit.Scrub(err.Error()))
}
