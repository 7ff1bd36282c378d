package events

// NormalizeTownship resolves a township given as a nine-digit statistical code or as a name of a
// Lizhou township or street, returning its code and name; unknown input is returned as the code
// with an empty name.
func NormalizeTownship(s string) (code, name string) {
	if t, ok := LookupTownship(s); ok {
		return t.Code, t.Name
	}
	return s, ""
}

// IndustryName returns the GB/T 4754-2017 name of a code, or "".
func IndustryName(code string) string {
	if c, ok := LookupIndustry(code); ok {
		return c.Name
	}
	return ""
}
