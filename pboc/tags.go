package pboc

import "github.com/sscard/ssc/apdu"

// Format is how a data object's value is encoded (EMV Book 3 §4.3).
type Format int

const (
	FormatBinary            Format = iota // b: shown as hex
	FormatNumeric                         // n: BCD, right-justified, leading zeros
	FormatCompressedNumeric               // cn: BCD, left-justified, F-padded
	FormatAlphanumeric                    // an/ans: ASCII text
	FormatText                            // text in a national code page (GBK unless 9F11 says otherwise)
	FormatTemplate                        // constructed: children are shown
	FormatDOL                             // a data object list (tag/length pairs)
	FormatAFL                             // application file locator
)

// TagInfo describes one data object of the dictionary.
type TagInfo struct {
	Tag    apdu.Tag
	Name   string // English name as in EMV / JR/T 0025 ("Application PAN")
	Format Format
	// Source is "EMV", "PBOC" (JR/T 0025 proprietary) or "ECASH".
	Source string
}

// LookupTag returns the dictionary entry of tag.
func LookupTag(tag apdu.Tag) (TagInfo, bool) {
	t, ok := tagIndex[tag]
	return t, ok
}

// TagName returns the dictionary name of tag, or "unknown".
func TagName(tag apdu.Tag) string {
	if t, ok := LookupTag(tag); ok {
		return t.Name
	}
	return "unknown"
}

// Tags returns the whole dictionary, sorted by tag.
func Tags() []TagInfo {
	out := make([]TagInfo, len(tagTable))
	copy(out, tagTable)
	return out
}

// formatOf is the dictionary format of tag; unknown tags are binary (or
// templates when constructed), which is how EMV Book 3 §5.4 treats them.
func formatOf(tag apdu.Tag) Format {
	if t, ok := tagIndex[tag]; ok {
		return t.Format
	}
	if tag.Constructed() {
		return FormatTemplate
	}
	return FormatBinary
}

var tagIndex = func() map[apdu.Tag]TagInfo {
	m := make(map[apdu.Tag]TagInfo, len(tagTable))
	for _, t := range tagTable {
		m[t.Tag] = t
	}
	return m
}()

// tagTable: EMV 4.3 Book 3 annex A, JR/T 0025 (PBOC 3.0) proprietary tags
// and the e-cash / qPBOC tags of JR/T 0025.12/13 as confirmed by public tag
// dictionaries (ssc-facts §4). Labels, preferred names and merchant names
// are FormatText because Chinese cards carry GBK there. Sorted by tag.
var tagTable = dictionary()

func dictionary() []TagInfo {
	// Short local names keep the table one line per tag.
	const (
		b   = FormatBinary
		n   = FormatNumeric
		cn  = FormatCompressedNumeric
		an  = FormatAlphanumeric
		txt = FormatText
		tpl = FormatTemplate
		dol = FormatDOL
		afl = FormatAFL
	)
	return []TagInfo{
		{0x42, "Issuer Identification Number (IIN)", n, "EMV"},
		{0x4F, "Application Identifier (AID) - card", b, "EMV"},
		{0x50, "Application Label", txt, "EMV"},
		{0x57, "Track 2 Equivalent Data", b, "EMV"},
		{0x5A, "Application Primary Account Number (PAN)", cn, "EMV"},
		{0x61, "Application Template", tpl, "EMV"},
		{0x6F, "File Control Information (FCI) Template", tpl, "EMV"},
		{0x70, "READ RECORD Response Message Template", tpl, "EMV"},
		{0x71, "Issuer Script Template 1", tpl, "EMV"},
		{0x72, "Issuer Script Template 2", tpl, "EMV"},
		{0x73, "Directory Discretionary Template", tpl, "EMV"},
		{0x77, "Response Message Template Format 2", tpl, "EMV"},
		{0x80, "Response Message Template Format 1", b, "EMV"},
		{0x81, "Amount, Authorised (Binary)", b, "EMV"},
		{0x82, "Application Interchange Profile", b, "EMV"},
		{0x83, "Command Template", b, "EMV"},
		{0x84, "Dedicated File (DF) Name", b, "EMV"},
		{0x86, "Issuer Script Command", b, "EMV"},
		{0x87, "Application Priority Indicator", b, "EMV"},
		{0x88, "Short File Identifier (SFI)", b, "EMV"},
		{0x89, "Authorisation Code", an, "EMV"},
		{0x8A, "Authorisation Response Code", an, "EMV"},
		{0x8C, "Card Risk Management Data Object List 1 (CDOL1)", dol, "EMV"},
		{0x8D, "Card Risk Management Data Object List 2 (CDOL2)", dol, "EMV"},
		{0x8E, "Cardholder Verification Method (CVM) List", b, "EMV"},
		{0x8F, "Certification Authority Public Key Index", b, "EMV"},
		{0x90, "Issuer Public Key Certificate", b, "EMV"},
		{0x91, "Issuer Authentication Data", b, "EMV"},
		{0x92, "Issuer Public Key Remainder", b, "EMV"},
		{0x93, "Signed Static Application Data", b, "EMV"},
		{0x94, "Application File Locator (AFL)", afl, "EMV"},
		{0x95, "Terminal Verification Results", b, "EMV"},
		{0x97, "Transaction Certificate Data Object List (TDOL)", dol, "EMV"},
		{0x98, "Transaction Certificate (TC) Hash Value", b, "EMV"},
		{0x99, "Transaction Personal Identification Number (PIN) Data", b, "EMV"},
		{0x9A, "Transaction Date", n, "EMV"},
		{0x9B, "Transaction Status Information", b, "EMV"},
		{0x9C, "Transaction Type", n, "EMV"},
		{0x9D, "Directory Definition File (DDF) Name", b, "EMV"},
		{0xA5, "File Control Information (FCI) Proprietary Template", tpl, "EMV"},
		{0x5F20, "Cardholder Name", an, "EMV"},
		{0x5F24, "Application Expiration Date", n, "EMV"},
		{0x5F25, "Application Effective Date", n, "EMV"},
		{0x5F28, "Issuer Country Code", n, "EMV"},
		{0x5F2A, "Transaction Currency Code", n, "EMV"},
		{0x5F2D, "Language Preference", an, "EMV"},
		{0x5F30, "Service Code", n, "EMV"},
		{0x5F34, "Application PAN Sequence Number", n, "EMV"},
		{0x5F36, "Transaction Currency Exponent", n, "EMV"},
		{0x5F50, "Issuer URL", an, "EMV"},
		{0x5F53, "International Bank Account Number (IBAN)", b, "EMV"},
		{0x5F54, "Bank Identifier Code (BIC)", b, "EMV"},
		{0x5F55, "Issuer Country Code (alpha2 format)", an, "EMV"},
		{0x5F56, "Issuer Country Code (alpha3 format)", an, "EMV"},
		{0x5F57, "Account Type", n, "EMV"},
		{0x9F01, "Acquirer Identifier", n, "EMV"},
		{0x9F02, "Amount, Authorised (Numeric)", n, "EMV"},
		{0x9F03, "Amount, Other (Numeric)", n, "EMV"},
		{0x9F04, "Amount, Other (Binary)", b, "EMV"},
		{0x9F05, "Application Discretionary Data", b, "EMV"},
		{0x9F06, "Application Identifier (AID) - terminal", b, "EMV"},
		{0x9F07, "Application Usage Control", b, "EMV"},
		{0x9F08, "Application Version Number (card)", b, "EMV"},
		{0x9F09, "Application Version Number (terminal)", b, "EMV"},
		{0x9F0B, "Cardholder Name Extended", an, "EMV"},
		{0x9F0D, "Issuer Action Code - Default", b, "EMV"},
		{0x9F0E, "Issuer Action Code - Denial", b, "EMV"},
		{0x9F0F, "Issuer Action Code - Online", b, "EMV"},
		{0x9F10, "Issuer Application Data", b, "EMV"},
		{0x9F11, "Issuer Code Table Index", n, "EMV"},
		{0x9F12, "Application Preferred Name", txt, "EMV"},
		{0x9F13, "Last Online Application Transaction Counter (ATC) Register", b, "EMV"},
		{0x9F14, "Lower Consecutive Offline Limit", b, "EMV"},
		{0x9F15, "Merchant Category Code", n, "EMV"},
		{0x9F16, "Merchant Identifier", an, "EMV"},
		{0x9F17, "Personal Identification Number (PIN) Try Counter", b, "EMV"},
		{0x9F18, "Issuer Script Identifier", b, "EMV"},
		{0x9F1A, "Terminal Country Code", n, "EMV"},
		{0x9F1B, "Terminal Floor Limit", b, "EMV"},
		{0x9F1C, "Terminal Identification", an, "EMV"},
		{0x9F1D, "Terminal Risk Management Data", b, "EMV"},
		{0x9F1E, "Interface Device (IFD) Serial Number", an, "EMV"},
		{0x9F1F, "Track 1 Discretionary Data", an, "EMV"},
		{0x9F20, "Track 2 Discretionary Data", cn, "EMV"},
		{0x9F21, "Transaction Time", n, "EMV"},
		{0x9F22, "Certification Authority Public Key Index (terminal)", b, "EMV"},
		{0x9F23, "Upper Consecutive Offline Limit", b, "EMV"},
		{0x9F26, "Application Cryptogram", b, "EMV"},
		{0x9F27, "Cryptogram Information Data", b, "EMV"},
		{0x9F2A, "Kernel Identifier", b, "EMV"},
		{0x9F2D, "ICC PIN Encipherment Public Key Certificate", b, "EMV"},
		{0x9F2E, "ICC PIN Encipherment Public Key Exponent", b, "EMV"},
		{0x9F2F, "ICC PIN Encipherment Public Key Remainder", b, "EMV"},
		{0x9F32, "Issuer Public Key Exponent", b, "EMV"},
		{0x9F33, "Terminal Capabilities", b, "EMV"},
		{0x9F34, "Cardholder Verification Method (CVM) Results", b, "EMV"},
		{0x9F35, "Terminal Type", n, "EMV"},
		{0x9F36, "Application Transaction Counter (ATC)", b, "EMV"},
		{0x9F37, "Unpredictable Number", b, "EMV"},
		{0x9F38, "Processing Options Data Object List (PDOL)", dol, "EMV"},
		{0x9F39, "Point-of-Service (POS) Entry Mode", n, "EMV"},
		{0x9F3A, "Amount, Reference Currency", b, "EMV"},
		{0x9F3B, "Application Reference Currency", n, "EMV"},
		{0x9F3C, "Transaction Reference Currency Code", n, "EMV"},
		{0x9F3D, "Transaction Reference Currency Exponent", n, "EMV"},
		{0x9F40, "Additional Terminal Capabilities", b, "EMV"},
		{0x9F41, "Transaction Sequence Counter", n, "EMV"},
		{0x9F42, "Application Currency Code", n, "EMV"},
		{0x9F43, "Application Reference Currency Exponent", n, "EMV"},
		{0x9F44, "Application Currency Exponent", n, "EMV"},
		{0x9F45, "Data Authentication Code", b, "EMV"},
		{0x9F46, "ICC Public Key Certificate", b, "EMV"},
		{0x9F47, "ICC Public Key Exponent", b, "EMV"},
		{0x9F48, "ICC Public Key Remainder", b, "EMV"},
		{0x9F49, "Dynamic Data Authentication Data Object List (DDOL)", dol, "EMV"},
		{0x9F4A, "Static Data Authentication Tag List", b, "EMV"},
		{0x9F4B, "Signed Dynamic Application Data", b, "EMV"},
		{0x9F4C, "ICC Dynamic Number", b, "EMV"},
		{0x9F4D, "Log Entry", b, "EMV"},
		{0x9F4E, "Merchant Name and Location", txt, "EMV"},
		{0x9F4F, "Log Format", dol, "EMV"},
		{0x9F51, "Application Currency Code (e-cash)", n, "PBOC"},
		{0x9F52, "Application Default Action (ADA)", b, "PBOC"},
		{0x9F53, "Consecutive Transaction Limit (International)", b, "PBOC"},
		{0x9F54, "Cumulative Total Transaction Amount Limit", n, "PBOC"},
		{0x9F55, "Geographic Indicator", b, "PBOC"},
		{0x9F56, "Issuer Authentication Indicator", b, "PBOC"},
		{0x9F57, "Issuer Country Code (risk management)", n, "PBOC"},
		{0x9F58, "Lower Consecutive Offline Limit (card)", b, "PBOC"},
		{0x9F59, "Upper Consecutive Offline Limit (card)", b, "PBOC"},
		{0x9F5C, "Cumulative Total Transaction Amount Upper Limit", n, "PBOC"},
		{0x9F5D, "Available Offline Spending Amount", n, "ECASH"},
		{0x9F63, "Product Identification Information", b, "PBOC"},
		{0x9F66, "Terminal Transaction Qualifiers (TTQ)", b, "ECASH"},
		{0x9F68, "Card Additional Processes", b, "PBOC"},
		{0x9F69, "Card Authentication Related Data", b, "ECASH"},
		{0x9F6B, "Card CVM Limit", n, "ECASH"},
		{0x9F6C, "Card Transaction Qualifiers (CTQ)", b, "ECASH"},
		{0x9F6D, "E-cash Reset Threshold", n, "ECASH"},
		{0x9F72, "Consecutive Transaction Limit (International-Country)", b, "PBOC"},
		{0x9F73, "Currency Conversion Factor", n, "PBOC"},
		{0x9F74, "E-cash Issuer Authorisation Code", an, "ECASH"},
		{0x9F75, "Cumulative Total Transaction Amount Limit (Dual Currency)", n, "PBOC"},
		{0x9F76, "Secondary Application Currency Code", n, "PBOC"},
		{0x9F77, "E-cash Balance Limit", n, "ECASH"},
		{0x9F78, "E-cash Single Transaction Limit", n, "ECASH"},
		{0x9F79, "E-cash Balance", n, "ECASH"},
		{0x9F7A, "E-cash Terminal Support Indicator", b, "ECASH"},
		{0x9F7B, "E-cash Terminal Transaction Limit", n, "ECASH"},
		{0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", tpl, "EMV"},
		{0xDF4D, "Load Log Entry", b, "PBOC"},
		{0xDF4F, "Load Log Format", dol, "PBOC"},
		{0xDF60, "CAPP Transaction Indicator", b, "PBOC"},
		{0xDF61, "Segmented Charge Application Indicator", b, "PBOC"},
		{0xDF69, "SM Algorithm Support Indicator", b, "PBOC"},
	}
}
