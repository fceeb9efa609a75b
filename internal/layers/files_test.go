package layers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTracked is the size above which a tracked file must be listed test data.
const maxTracked = 1 << 20

// largeTestData lists the tracked files allowed above maxTracked, each with
// why it must be that large. Empty today.
var largeTestData = map[string]string{}

// TestTrackedFiles keeps binaries, core dumps and captures out of the
// repository: no tracked file over 1 MB unless it is listed test data, and
// no executable or core image (ELF) at any size.
func TestTrackedFiles(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout: no tracked files to check")
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		path := filepath.Join(root, name)
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		if _, ok := largeTestData[name]; fi.Size() > maxTracked && !ok {
			t.Errorf("%s is %d bytes: over 1 MB and not listed test data (internal/layers/files_test.go)", name, fi.Size())
		}
		head := make([]byte, 4)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := f.Read(head)
		f.Close()
		if bytes.Equal(head[:n], []byte("\x7fELF")) {
			t.Errorf("%s is an ELF file (binary or core dump): build outputs and dumps are not tracked", name)
		}
	}
}
