// Package places holds the address catalogues of the engine, shipped as
// versioned data: the tipos de vía and the postal code → localidades
// catalogue.
//
// Both are CSV files embedded in the binary (the defaults) and can be loaded
// from any io.Reader (a full catalogue from a configured path, such as
// REDENGINE_LOCALIDADES). Loading is strict: a bad row is refused with its
// line number, nothing is half-loaded. A loaded catalogue is immutable and
// safe for concurrent use.
//
// A data file may start with comment lines ('#'); a comment "# version: X"
// names the version of the data. Version() returns X, or "sha256:" and the
// first 12 hex digits of the file's SHA-256 when the file names none;
// Digest() always returns the full SHA-256.
//
// Names are compared with Fold: case-, accent- and punctuation-insensitive,
// with INE's "Rozas de Madrid, Las" order understood as "Las Rozas de
// Madrid".
package places

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"redengine/errs"
)

// maxFileSize bounds a catalogue file (the full INE-derived postal
// catalogue is a few MiB).
const maxFileSize = 64 << 20

// maxNameLen bounds a name, in runes.
const maxNameLen = 120

// dataFile is a read catalogue file: its bytes, digest and declared version.
type dataFile struct {
	data    []byte
	digest  string
	version string
}

func readDataFile(op errs.Op, r io.Reader) (dataFile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return dataFile{}, errs.E(op, errs.Invalid, "no se puede leer el fichero", err)
	}
	if len(data) > maxFileSize {
		return dataFile{}, errs.E(op, errs.Invalid, fmt.Sprintf("el fichero supera %d MiB", maxFileSize>>20))
	}
	sum := sha256.Sum256(data)
	f := dataFile{data: bytes.TrimPrefix(data, []byte("\ufeff")), digest: hex.EncodeToString(sum[:])}
	if !utf8.Valid(f.data) {
		line := 1 + bytes.Count(f.data[:firstInvalidUTF8(f.data)], []byte("\n"))
		return dataFile{}, errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: el texto no está en UTF-8", line))
	}
	sc := bufio.NewScanner(bytes.NewReader(f.data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "version:"); ok {
			f.version = strings.TrimSpace(v)
		}
	}
	if f.version == "" {
		f.version = "sha256:" + f.digest[:12]
	}
	return f, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// records reads the CSV records of f after checking its header, calling fn
// with each record and its line number.
func (f dataFile) records(op errs.Op, header []string, fn func(line int, rec []string) error) error {
	cr := csv.NewReader(bytes.NewReader(f.data))
	cr.Comment = '#'
	cr.FieldsPerRecord = len(header)
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if first {
				return errs.E(op, errs.Invalid, "el fichero está vacío: falta la cabecera "+strings.Join(header, ","))
			}
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reason := pe.Err.Error()
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					reason = fmt.Sprintf("se esperaban %d columnas (%s)", len(header), strings.Join(header, ","))
				}
				return errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: %s", pe.Line, reason))
			}
			return errs.E(op, errs.Invalid, "no se puede leer el CSV", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			for i, h := range header {
				if !strings.EqualFold(strings.TrimSpace(rec[i]), h) {
					return errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: la cabecera debe ser %s", line, strings.Join(header, ",")))
				}
			}
			continue
		}
		if err := fn(line, rec); err != nil {
			return errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: %s", line, err.Error()))
		}
	}
}

// checkName trims a name and checks it is usable.
func checkName(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%s está vacío", what)
	}
	if utf8.RuneCountInString(s) > maxNameLen {
		return "", fmt.Errorf("%s tiene más de %d caracteres", what, maxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%s contiene caracteres de control", what)
		}
	}
	if Fold(s) == "" {
		return "", fmt.Errorf("%s no contiene letras ni dígitos", what)
	}
	return s, nil
}

// articles are the articles that INE writes after the name ("Rozas de
// Madrid, Las"), in Spanish, Catalan, Galician and Basque-area usage.
var articles = map[string]bool{
	"el": true, "la": true, "los": true, "las": true, "l": true, "lo": true,
	"els": true, "les": true, "es": true, "sa": true, "ses": true, "so": true,
	"a": true, "o": true, "as": true, "os": true,
}

// Fold returns the comparison key of a name: lower case, without accents or
// diacritics (ñ→n, ç→c), punctuation turned into single spaces, and a
// trailing ", Article" moved to the front ("Coruña, A" → "a coruna").
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		r = unicode.ToLower(r)
		if r >= 0x0300 && r <= 0x036F { // combining diacritical marks
			continue
		}
		if r == '·' || r == '\u2027' { // Catalan punt volat: l·l → ll
			continue
		}
		if f, ok := foldMap[r]; ok {
			r = f
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ',' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	out := b.String()
	// "rozas de madrid, las" → "las rozas de madrid"; other commas → spaces.
	if i := strings.LastIndexByte(out, ','); i >= 0 {
		if art := strings.TrimSpace(out[i+1:]); articles[art] {
			out = art + " " + strings.TrimSpace(out[:i])
		}
	}
	out = strings.Join(strings.FieldsFunc(out, func(r rune) bool { return r == ',' || r == ' ' }), " ")
	return out
}

var foldMap = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a',
	'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i',
	'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u',
	'ý': 'y', 'ÿ': 'y', 'ñ': 'n', 'ç': 'c',
}
