package main

import (
	"bytes"
	"image/jpeg"
	"os"
	"testing"
)

func TestRender(t *testing.T) {
	data, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 10<<10 || len(data) > 20<<10 {
		t.Errorf("photo is %d bytes, want 10–20 KB", len(data))
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("photo is %v, want %d×%d", b, width, height)
	}
	again, _ := Render()
	if !bytes.Equal(data, again) {
		t.Error("Render is not deterministic")
	}
}

// TestCheckedIn: the embedded sim/profiles/photo.jpg is what Render makes
// (after a change here or a Go release that encodes JPEG differently, run
// go generate ./sim).
func TestCheckedIn(t *testing.T) {
	want, err := os.ReadFile("../../profiles/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("profiles/photo.jpg is stale (%d bytes, Render gives %d): run go generate ./sim", len(want), len(got))
	}
}
