package pboc

import (
	"testing"

	"github.com/sscard/ssc/apdu"
)

func TestLookupTag(t *testing.T) {
	tests := []struct {
		tag    apdu.Tag
		name   string
		format Format
		source string
	}{
		{0x5A, "Application Primary Account Number (PAN)", FormatCompressedNumeric, "EMV"},
		{0x9F38, "Processing Options Data Object List (PDOL)", FormatDOL, "EMV"},
		{0x94, "Application File Locator (AFL)", FormatAFL, "EMV"},
		{0x9F12, "Application Preferred Name", FormatText, "EMV"},
		{0x9F4E, "Merchant Name and Location", FormatText, "EMV"},
		{0x9F63, "Product Identification Information", FormatBinary, "PBOC"},
		{0xDF69, "SM Algorithm Support Indicator", FormatBinary, "PBOC"},
		{0x9F79, "E-cash Balance", FormatNumeric, "ECASH"},
		{0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", FormatTemplate, "EMV"},
	}
	for _, tt := range tests {
		got, ok := LookupTag(tt.tag)
		if !ok || got.Tag != tt.tag || got.Name != tt.name || got.Format != tt.format || got.Source != tt.source {
			t.Errorf("LookupTag(%s) = %+v, %v", tt.tag, got, ok)
		}
	}
	if _, ok := LookupTag(0xDF7F); ok {
		t.Error("DF7F is known")
	}
	if TagName(0xDF7F) != "unknown" || TagName(0x9F36) != "Application Transaction Counter (ATC)" {
		t.Error("TagName")
	}
}

// TestTagTable checks the dictionary itself: sorted, unique, constructed
// tags and templates agree, and every tag the brief lists is there.
func TestTagTable(t *testing.T) {
	tags := Tags()
	for i, ti := range tags {
		if i > 0 && tags[i-1].Tag >= ti.Tag {
			// Sort order is by encoded length first (one-byte tags come
			// before two-byte ones), which numeric order gives too.
			t.Errorf("%s after %s: not sorted or duplicate", ti.Tag, tags[i-1].Tag)
		}
		if ti.Tag.Constructed() != (ti.Format == FormatTemplate) {
			t.Errorf("%s: constructed %v but format %d", ti.Tag, ti.Tag.Constructed(), ti.Format)
		}
		if ti.Name == "" || (ti.Source != "EMV" && ti.Source != "PBOC" && ti.Source != "ECASH") {
			t.Errorf("%s: %+v", ti.Tag, ti)
		}
	}
	for _, tag := range []apdu.Tag{
		0x9F63, 0xDF69, 0xDF60, 0xDF61, 0x9F4F, 0x9F4D, 0xDF4D, 0xDF4F,
		0x9F79, 0x9F77, 0x9F78, 0x9F6D, 0x9F74, 0x9F5D, 0x9F6C, 0x9F66, 0x9F7A, 0x9F7B, 0x9F69, 0x9F6B, 0x9F51,
		0x4F, 0x50, 0x57, 0x5A, 0x5F20, 0x5F24, 0x5F25, 0x5F28, 0x5F34, 0x82, 0x84, 0x87, 0x88, 0x8C, 0x8D, 0x8E,
		0x8F, 0x90, 0x93, 0x94, 0x9F07, 0x9F08, 0x9F0B, 0x9F11, 0x9F12, 0x9F13, 0x9F17, 0x9F26, 0x9F27, 0x9F10,
		0x9F36, 0x9F37, 0x9F42, 0x9F44, 0x9F46, 0x9F49, 0x9F4A, 0x9F4B, 0x9F4E, 0x6F, 0xA5, 0x61, 0x70, 0x77,
	} {
		if _, ok := LookupTag(tag); !ok {
			t.Errorf("%s missing", tag)
		}
	}
}
