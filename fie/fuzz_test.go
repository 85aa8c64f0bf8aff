package fie_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"redengine/fie"
	"redengine/fie/fietest"
)

// FuzzParse: Parse never panics; a refusal is always a *ParseError; an
// accepted file formats back to a file that parses to the same content,
// and that canonical file formats to itself.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validDoc()))
	f.Add([]byte(strings.ReplaceAll(validDoc(), "\n", "\r\n")))
	f.Add([]byte(doc(lEMP, strings.TrimRight(lRZS, " "), lTRA, lAYN, lDIT, lCIT)))
	f.Add([]byte(doc(lTRA, lAYN, lDIT)))
	f.Add([]byte(doc(lEMP, lRZS, lTRA, "AYN\xd1U\xd1OZ")))
	f.Add([]byte(""))
	f.Add([]byte(lETI + "\nETF000000002\n"))
	var gen bytes.Buffer
	if err := fietest.Generate(&gen, 2, 2, 3, 1); err != nil {
		f.Fatal(err)
	}
	f.Add(gen.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := fie.Parse(bytes.NewReader(data))
		if err != nil {
			var pe *fie.ParseError
			if !errors.As(err, &pe) || len(pe.Errors) == 0 {
				t.Fatalf("refusal is not a *ParseError with errors: %v", err)
			}
			for _, le := range pe.Errors {
				if le.Reason == "" || le.Line < 0 {
					t.Fatalf("bad line error %+v", le)
				}
			}
			return
		}
		var out bytes.Buffer
		if err := fie.Format(&out, file); err != nil {
			t.Fatalf("accepted file does not format: %v", err)
		}
		again, err := fie.Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("formatted file refused: %v\n%q", err, out.String())
		}
		if !reflect.DeepEqual(again, file) {
			t.Fatalf("re-parsed file differs:\n%+v\n%+v", again, file)
		}
		var out2 bytes.Buffer
		if err := fie.Format(&out2, again); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("Format is not stable: %v", err)
		}
		var streamed []fie.Record
		if err := fie.ParseRecords(bytes.NewReader(data), func(r fie.Record) error {
			streamed = append(streamed, r)
			return nil
		}); err != nil {
			t.Fatalf("ParseRecords refuses what Parse accepts: %v", err)
		}
		if !reflect.DeepEqual(streamed, file.Records()) && len(streamed)+len(file.Records()) > 0 {
			t.Fatal("ParseRecords and Parse disagree")
		}
	})
}

// FuzzParseLine replaces one line of a valid file with fuzzed text, which
// reaches the field rules far more often than whole random files; the same
// properties as FuzzParse must hold.
func FuzzParseLine(f *testing.F) {
	body := []string{lEMP, lRZS, lTRA, lAYN, lDIT, lITD, lOIT, lCIT, lEMP2, lRZS2, lTRA2, lAYN2, lDIT2}
	for i, l := range body {
		f.Add(uint8(i), l)
	}
	f.Add(uint8(4), put(lDIT, 45, "9"))
	f.Add(uint8(3), "AYNÑ")
	f.Fuzz(func(t *testing.T, at uint8, line string) {
		lines := append([]string(nil), body...)
		lines[int(at)%len(lines)] = strings.TrimRight(line, "\r\n")
		data := []byte(doc(lines...))
		file, err := fie.Parse(bytes.NewReader(data))
		if err != nil {
			var pe *fie.ParseError
			if !errors.As(err, &pe) || len(pe.Errors) == 0 {
				t.Fatalf("refusal is not a *ParseError with errors: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := fie.Format(&out, file); err != nil {
			t.Fatalf("accepted file does not format: %v", err)
		}
		again, err := fie.Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("formatted file refused: %v\n%q", err, out.String())
		}
		if !reflect.DeepEqual(again, file) {
			t.Fatalf("re-parsed file differs:\n%+v\n%+v", again, file)
		}
		for _, r := range file.Records() {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted record does not validate: %v", err)
			}
		}
	})
}

// FuzzParseDate: ParseDate (with its fast path for YYYY-MM-DD) and a date
// read through JSON give what time.Parse gives, for any input.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "1900-01-01", "0000-00-00", "9999-12-31", "1899-12-31",
		"2024-13-01", "2024-1-01", "+024-01-01", "2024-01-0a", "", "2024/01/01", "２０２４-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fie.ParseDate(s)
		var want fie.Date
		ok := s == ""
		if tm, perr := time.Parse(time.DateOnly, s); perr == nil {
			want, ok = fie.DateOf(tm), true
			if !want.Valid() {
				ok = false
			}
		}
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("ParseDate(%q) = %v, %v; time.Parse gives %v (ok %v)", s, got, err, want, ok)
		}
		if s == "" {
			return
		}
		var viaJSON fie.Date
		jerr := json.Unmarshal([]byte(strconv.Quote(s)), &viaJSON)
		if (jerr == nil) != ok || (ok && viaJSON != want) {
			t.Fatalf("JSON %q = %v, %v; want %v (ok %v)", s, viaJSON, jerr, want, ok)
		}
	})
}
