package hostile

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// LogEnv names the file Record appends to.
const LogEnv = "SSC_HOSTILE_LOG"

// Entry is one Record call as written to the log.
type Entry struct {
	Area   string         `json:"area"`   // e.g. "daemon socket", "pcscd", "card"
	Row    string         `json:"row"`    // what was done, one line
	Test   string         `json:"test"`   // the test that did it
	Counts map[string]int `json:"counts"` // e.g. {"requests": 500}
}

// writeMu keeps lines of parallel tests of one process whole; O_APPEND
// keeps those of separate test binaries whole (each line is one write).
var writeMu sync.Mutex

// Record notes that the calling test did counts of hostile things in area.
// Call it once the test has checked its guarantees (after the assertions),
// so a failing test records nothing.
func Record(t testing.TB, area, row string, counts map[string]int) {
	t.Helper()
	if t.Failed() {
		return
	}
	e := Entry{Area: area, Row: row, Test: t.Name(), Counts: counts}
	t.Logf("hostile: %s: %s: %s", area, row, formatCounts(counts))
	path := os.Getenv(LogEnv)
	if path == "" {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	writeMu.Lock()
	defer writeMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		t.Fatalf("hostile: %v", err)
	}
}

func formatCounts(c map[string]int) string {
	keys := slices.Sorted(maps.Keys(c))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", c[k], k)
	}
	return strings.Join(parts, ", ")
}
