package hostile

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ReadLog parses the lines Record wrote.
func ReadLog(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("hostile log line %d: %w", n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Table renders entries as a Markdown table: one row per area and row name,
// counts summed over the tests (and repeated runs of one test) that did it.
func Table(entries []Entry) string {
	type key struct{ area, row string }
	counts := map[key]map[string]int{}
	tests := map[key]map[string]bool{}
	for _, e := range entries {
		k := key{e.Area, e.Row}
		if counts[k] == nil {
			counts[k], tests[k] = map[string]int{}, map[string]bool{}
		}
		for c, n := range e.Counts {
			counts[k][c] += n
		}
		tests[k][strings.SplitN(e.Test, "/", 2)[0]] = true
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.area, b.area), cmp.Compare(a.row, b.row))
	})
	var b strings.Builder
	b.WriteString("| area | what the tests do | counts (one run) | tests |\n|---|---|---|---|\n")
	for _, k := range keys {
		names := slices.Sorted(maps.Keys(tests[k]))
		for i, n := range names {
			names[i] = "`" + n + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.area, k.row, formatCounts(counts[k]), strings.Join(names, ", "))
	}
	return b.String()
}
