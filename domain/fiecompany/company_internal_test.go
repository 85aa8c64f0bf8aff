package fiecompany

import "testing"

// FuzzIsCompany checks isCompany against building the ID.
func FuzzIsCompany(f *testing.F) {
	for _, s := range [][3]string{
		{"0111-28123456742", "0111", "28123456742"},
		{"0111-28123456742", "0111", "28123456743"},
		{"0111-28123456742", "0111-2", "8123456742"},
		{"0111-28123456742", "011", "1-28123456742"},
		{"-", "", ""},
		{"", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, id, regimen, ccc string) {
		if got, want := isCompany(id, regimen, ccc), CompanyID(regimen, ccc) == id; got != want {
			t.Fatalf("isCompany(%q, %q, %q) = %v, want %v", id, regimen, ccc, got, want)
		}
	})
}
