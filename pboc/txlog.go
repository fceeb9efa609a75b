package pboc

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// Log reads the transaction log, newest first: the log entry 9F4D of the
// selected application's FCI (BF0C) gives the SFI and the number of
// records, GET DATA 9F4F the record format; records are read until 6A83
// or the count.
func (s *Session) Log(ctx context.Context) ([]LogRecord, error) {
	var out []LogRecord
	err := s.doSelected(ctx, func(c *Candidate) error {
		le := c.FCI.LogEntry
		if le == nil {
			return &MissingDataError{Tag: 0x9F4D, Step: "log"}
		}
		if le.SFI < 1 || le.SFI > 30 {
			return fmt.Errorf("pboc: log: %w", malformed("log entry 9F4D", "SFI %d", le.SFI))
		}
		v, err := s.getData(ctx, 0x9F4F)
		if err != nil {
			return fmt.Errorf("pboc: log format: %w", err)
		}
		format, err := ParseDOL(v)
		if err != nil {
			return fmt.Errorf("pboc: log format: %w", err)
		}
		if format.DataLen() == 0 {
			return fmt.Errorf("pboc: log format: %w", malformed("log format 9F4F", "empty"))
		}
		for n := 1; n <= int(le.Records); n++ {
			data, err := s.exec(ctx, readRecordCmd(n, le.SFI))
			if isSW(err, apdu.SWRecordNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("pboc: log record %d: %w", n, err)
			}
			rec, err := ParseLogRecord(format, data)
			if err != nil {
				return fmt.Errorf("pboc: log record %d: %w", n, err)
			}
			out = append(out, *rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
