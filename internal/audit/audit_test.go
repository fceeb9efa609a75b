package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func openTest(t testing.TB, opts Options) *Log {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "audit.log")
	}
	if opts.Key == nil {
		opts.Key = testKey
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// readLines returns the lines of path, failing on a line that is not a
// JSON object.
func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRecordFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name  string
		entry Entry
		want  map[string]any // fields and their values; nil value: must be absent
	}{
		{
			name: "ok",
			entry: Entry{Time: at, Client: "uid:1000", Op: "info", Reader: "sim", Card: "c0ffee",
				Outcome: "ok", Duration: 12.5, Insertion: 7},
			want: map[string]any{"time": "2026-03-01T04:00:00.123456789Z", "client": "uid:1000", "op": "info",
				"reader": "sim", "card": "c0ffee", "outcome": "ok", "duration_ms": 12.5, "insertion": 7.0,
				"level": nil, "pan": nil, "error": nil},
		},
		{
			name: "error",
			entry: Entry{Time: at, Client: "origin:https://example.org", Op: "pin.verify", Outcome: "wrong_pin",
				Error: "wrong PIN, 2 tries left"},
			want: map[string]any{"client": "origin:https://example.org", "op": "pin.verify", "outcome": "wrong_pin",
				"error": "wrong PIN, 2 tries left", "duration_ms": 0.0, "reader": nil, "card": nil, "insertion": nil},
		},
		{
			name:  "link and pan",
			entry: Entry{Time: at, Client: "uid:0", Op: "link", Level: 2, PAN: "621799*********4561", Outcome: "ok"},
			want:  map[string]any{"level": 2.0, "pan": "621799*********4561"},
		},
		{
			name:  "unmasked pan masked",
			entry: Entry{Time: at, Client: "uid:0", Op: "pboc.read", PAN: "6217991000001234561", Outcome: "ok"},
			want:  map[string]any{"pan": "621799*********4561"},
		},
		{
			name:  "html and newlines stay on one line",
			entry: Entry{Time: at, Client: "origin:https://a.example/<x>&y", Op: "info", Outcome: "card_error", Error: "line1\nline2"},
			want:  map[string]any{"client": "origin:https://a.example/<x>&y", "error": "line1\nline2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openTest(t, Options{})
			if err := l.Record(tt.entry); err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, l.path)
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1", len(lines))
			}
			for k, want := range tt.want {
				got, ok := lines[0][k]
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want absent", k, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

func TestRecordSetsTime(t *testing.T) {
	l := openTest(t, Options{})
	before := time.Now()
	if err := l.Record(Entry{Client: "uid:1", Op: "info", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	s := readLines(t, l.path)[0]["time"].(string)
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("time %q not UTC", s)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Before(before.Add(-time.Second)) || tm.After(time.Now().Add(time.Second)) {
		t.Errorf("time %v not now", tm)
	}
}

func TestFileMode(t *testing.T) {
	l := openTest(t, Options{})
	st, err := os.Stat(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
	}{
		{"no path", Options{Key: testKey}},
		{"short key", Options{Path: filepath.Join(dir, "a.log"), Key: []byte("short")}},
		{"missing dir", Options{Path: filepath.Join(dir, "nope", "a.log"), Key: testKey}},
		{"directory", Options{Path: dir, Key: testKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := Open(tt.opts); err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no digits", "no digits"},
		{"PIN 123456 and SW 6983", "PIN 123456 and SW 6983"},
		{"card 6217991000001234561 not found", "card 621799*********4561 not found"},
		{"6217991000001234561", "621799*********4561"},
		{"pan=6217991000001234,x", "pan=621799******1234,x"},
		{"12 digits 123456789012!", "12 digits ********9012!"},
		{"11 digits 12345678901", "11 digits 12345678901"},
		{"ssn 11010519491231002X ok", "ssn 110105********002X ok"},
		{"ssn 110105194912310021", "ssn 110105********0021"},
		{"two 6217991000001234561/6222021234567890123", "two 621799*********4561/622202*********0123"},
		{"already 621799*********4561", "already 621799*********4561"},
		{"long 123456789012345678901234", "long 123456**************1234"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskPAN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"6217991000001234561", "621799*********4561"},
		{"6217991000001234", "621799******1234"},
		{"6217991000001", "621799***0001"},
		{"621799100000", "********0000"},
		{"12345", "*2345"},
		{"1234", "1234"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskPAN(tt.in); got != tt.want {
			t.Errorf("MaskPAN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorScrubbedInFile(t *testing.T) {
	l := openTest(t, Options{})
	err := l.Record(Entry{Client: "uid:1", Op: "pboc.read", Outcome: "card_error",
		Error: "record for 6217991000001234561 (holder 11010519491231002X) malformed", PAN: "6217991000001234561"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(l.path)
	for _, secret := range []string{"6217991000001234561", "1000001234", "19491231"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("log holds %q: %s", secret, data)
		}
	}
	if !bytes.Contains(data, []byte("621799*********4561")) {
		t.Errorf("masked PAN missing: %s", data)
	}
}

func TestCardHash(t *testing.T) {
	l1 := openTest(t, Options{Key: testKey})
	l1b := openTest(t, Options{Key: testKey})
	l2 := openTest(t, Options{Key: []byte("another key of 32 bytes........!")})
	id := "6217991000001234561"
	h := l1.CardHash(id)
	if len(h) != 32 || strings.ToLower(h) != h {
		t.Errorf("hash %q: want 32 lowercase hex digits", h)
	}
	if strings.Contains(h, id) {
		t.Error("hash contains id")
	}
	if l1b.CardHash(id) != h {
		t.Error("hash not stable for the same key")
	}
	if l2.CardHash(id) == h {
		t.Error("same hash under different keys")
	}
	if l1.CardHash("6217991000001234562") == h {
		t.Error("same hash for different ids")
	}
}

func TestNil(t *testing.T) {
	var l *Log = Discard
	if err := l.Record(Entry{Op: "info"}); err != nil {
		t.Error(err)
	}
	if l.CardHash("x") != "" {
		t.Error("CardHash on nil")
	}
	if err := l.Reopen(); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}

func TestClosed(t *testing.T) {
	l := openTest(t, Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(Entry{Op: "info"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// files returns path, path.1, ... that exist, and fails when a rotated
// file beyond keep exists or one is missing in between.
func files(t *testing.T, path string, keep int) []string {
	t.Helper()
	out := []string{path}
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		if i > keep {
			t.Fatalf("%s exists, keep is %d", p, keep)
		}
		out = append(out, p)
	}
	return out
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		keep    int
		n       int
		errLen  int
	}{
		{"small", 1000, 3, 200, 10},
		{"keep one", 500, 1, 50, 10},
		{"line larger than max", 100, 2, 10, 300},
		{"no rotation", 1 << 20, 5, 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openTest(t, Options{MaxSize: tt.maxSize, Keep: tt.keep})
			for i := range tt.n {
				e := Entry{Client: "uid:1", Op: "info", Outcome: "ok", Insertion: uint64(i + 1),
					Error: strings.Repeat("e", tt.errLen)}
				if err := l.Record(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			fs := files(t, l.path, tt.keep)
			// The newest lines are all there, in order, across the files.
			var all []map[string]any
			for i := len(fs) - 1; i >= 0; i-- {
				lines := readLines(t, fs[i])
				st, _ := os.Stat(fs[i])
				if st.Size() > tt.maxSize && len(lines) > 1 {
					t.Errorf("%s: %d bytes in %d lines, max %d", fs[i], st.Size(), len(lines), tt.maxSize)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v", fs[i], st.Mode().Perm())
				}
				all = append(all, lines...)
			}
			if len(all) == 0 {
				t.Fatal("no lines")
			}
			last := tt.n
			for i := len(all) - 1; i >= 0; i-- {
				if got := int(all[i]["insertion"].(float64)); got != last {
					t.Fatalf("line %d: insertion %d, want %d", i, got, last)
				}
				last--
			}
			if tt.maxSize >= 1<<20 && len(all) != tt.n {
				t.Errorf("%d lines, want %d", len(all), tt.n)
			}
			if tt.maxSize < 1<<20 && len(fs) != tt.keep+1 {
				t.Errorf("%d files, want %d", len(fs), tt.keep+1)
			}
		})
	}
}

func TestConcurrentRecord(t *testing.T) {
	const (
		goroutines = 50
		perG       = 200
	)
	// Keep is large enough that no line is dropped by rotation, so every
	// line can be counted.
	l := openTest(t, Options{MaxSize: 64 << 10, Keep: 1000})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				err := l.Record(Entry{Client: fmt.Sprintf("uid:%d", g), Op: "info", Outcome: "ok",
					Insertion: uint64(g*perG + i + 1), Error: strings.Repeat("x", g*7)})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fs := files(t, l.path, 1000)
	if len(fs) < 5 {
		t.Fatalf("only %d files: no rotation exercised", len(fs))
	}
	seen := make(map[int]bool)
	for _, f := range fs {
		for _, m := range readLines(t, f) {
			ins := int(m["insertion"].(float64))
			g := (ins - 1) / perG
			errMsg, _ := m["error"].(string)
			if m["client"] != fmt.Sprintf("uid:%d", g) || errMsg != capField(strings.Repeat("x", g*7)) {
				t.Fatalf("line %v corrupt", m)
			}
			if seen[ins] {
				t.Fatalf("insertion %d twice", ins)
			}
			seen[ins] = true
		}
	}
	if len(seen) != goroutines*perG {
		t.Errorf("%d lines, want %d", len(seen), goroutines*perG)
	}
}

func TestReopenAfterRename(t *testing.T) {
	l := openTest(t, Options{})
	rec := func(i uint64) {
		t.Helper()
		if err := l.Record(Entry{Client: "uid:1", Op: "info", Outcome: "ok", Insertion: i}); err != nil {
			t.Fatal(err)
		}
	}
	rec(1)
	old := l.path + "-20260301"
	if err := os.Rename(l.path, old); err != nil {
		t.Fatal(err)
	}
	rec(2) // logrotate renamed, the daemon has not been told yet: still the old file
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	rec(3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]float64{old: {1, 2}, l.path: {3}} {
		lines := readLines(t, path)
		var got []float64
		for _, m := range lines {
			got = append(got, m["insertion"].(float64))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: insertions %v, want %v", path, got, want)
		}
	}
	st, err := os.Stat(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("reopened mode %v", st.Mode().Perm())
	}
}

func TestRotationFailureKeepsLine(t *testing.T) {
	// path.1 is a non-empty directory, so that renaming path onto it fails
	// (also for root, who ignores permissions).
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	if err := os.MkdirAll(filepath.Join(path+".1", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	l := openTest(t, Options{Path: path, MaxSize: 200, Keep: 1})
	for i := range 5 {
		err := l.Record(Entry{Client: "uid:1", Op: "info", Outcome: "ok", Insertion: uint64(i + 1), Error: strings.Repeat("e", 100)})
		if i > 0 && !errors.Is(err, ErrRotate) {
			t.Errorf("record %d: %v, want ErrRotate", i, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readLines(t, path)); n != 5 {
		t.Errorf("%d lines, want 5", n)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize {
		t.Fatalf("key of %d bytes", len(k1))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("key changed on reload")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	bad := []struct {
		name  string
		data  []byte
		mode  os.FileMode
		isDir bool
	}{
		{"group readable", k1, 0o640, false},
		{"world readable", k1, 0o604, false},
		{"short", k1[:16], 0o600, false},
		{"long", append(bytes.Clone(k1), 0), 0o600, false},
		{"directory", nil, 0o700, true},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "k")
			if tt.isDir {
				if err := os.Mkdir(p, tt.mode); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.WriteFile(p, tt.data, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadOrCreateKey(p); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.key")
	keys := make([][]byte, 20)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent creators disagree on the key")
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	l := openTest(b, Options{MaxSize: 1 << 20, Keep: 2})
	e := Entry{Client: "uid:1000", Op: "info", Reader: "ACS ACR39U ICC Reader 00 00", Card: l.CardHash("6217991000001234561"),
		Outcome: "ok", Duration: 42.1, Insertion: 3}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFieldCap: no field of a line exceeds MaxField, whatever is recorded,
// and a cut never splits a character.
func TestFieldCap(t *testing.T) {
	l := openTest(t, Options{})
	long := strings.Repeat("名", 6000) // 18 KB, 3 bytes a character
	if err := l.Record(Entry{Client: long, Op: long, Reader: long, Outcome: long, Error: long, PAN: long, Card: long}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	lines := readLines(t, l.path)
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, k := range []string{"client", "op", "reader", "outcome", "error", "pan", "card"} {
		v, _ := lines[0][k].(string)
		if len(v) > MaxField || !utf8.ValidString(v) || !strings.HasSuffix(v, "…") {
			t.Errorf("%s: %d bytes (valid UTF-8 %v), want at most %d ending in …", k, len(v), utf8.ValidString(v), MaxField)
		}
	}
}
