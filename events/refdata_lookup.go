package events

// PLACEHOLDER: the events helper replaces this file with the embedded divisions and industry data.

// Township is a township or street of the district.
type Township struct{ Code, Name string }

// Industry is a GB/T 4754-2017 entry.
type Industry struct {
	Code, Name string
	Level      int
}

func LookupTownship(s string) (Township, bool) { return Township{}, false }
func LookupIndustry(code string) (Industry, bool) { return Industry{}, false }
