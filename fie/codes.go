package fie

import (
	"fmt"
	"strconv"
)

// Contingency is the DIT contingencia code, kept raw ("1" … "5").
type Contingency string

// The contingencies of an IT process.
const (
	EnfermedadComun       Contingency = "1"
	AccidenteNoLaboral    Contingency = "2"
	AccidenteTrabajo      Contingency = "3"
	EnfermedadProfesional Contingency = "4"
	PeriodoObservacion    Contingency = "5"
)

// Description returns the Spanish meaning of the code, "" when unknown.
func (c Contingency) Description() string {
	switch c {
	case EnfermedadComun:
		return "Enfermedad común"
	case AccidenteNoLaboral:
		return "Accidente no laboral"
	case AccidenteTrabajo:
		return "Accidente de trabajo"
	case EnfermedadProfesional:
		return "Enfermedad profesional"
	case PeriodoObservacion:
		return "Periodo de observación"
	}
	return ""
}

// Valid reports whether c is one of the five contingencies.
func (c Contingency) Valid() bool { return c.Description() != "" }

// Carencia says whether the contribution period (carencia) is accredited:
// S acreditada, N no acreditada, P consultar al INSS; "" when not informed
// (a blank in the file: carencia is not required for every contingency).
type Carencia string

// The carencia codes.
const (
	CarenciaAcreditada   Carencia = "S"
	CarenciaNoAcreditada Carencia = "N"
	CarenciaConsultar    Carencia = "P"
	CarenciaNoInformada  Carencia = ""
)

// Description returns the Spanish meaning of the code.
func (c Carencia) Description() string {
	switch c {
	case CarenciaAcreditada:
		return "Acreditada"
	case CarenciaNoAcreditada:
		return "No acreditada"
	case CarenciaConsultar:
		return "Consultar al INSS"
	case CarenciaNoInformada:
		return "No informada"
	}
	return ""
}

// Valid reports whether c is a known code or empty.
func (c Carencia) Valid() bool { return c.Description() != "" }

// Flag is an S/N field, kept raw; "" only where the layout allows a blank.
type Flag string

// The flag values.
const (
	Si Flag = "S"
	No Flag = "N"
)

// Bool reports whether the flag is S.
func (f Flag) Bool() bool { return f == Si }

// Description returns "Sí", "No", or "" for a blank.
func (f Flag) Description() string {
	switch f {
	case Si:
		return "Sí"
	case No:
		return "No"
	}
	return ""
}

// ProcessType is the DIT tipo de proceso: the estimated-duration class of
// RD 625/2014 ("1" … "4"), "" when not informed.
type ProcessType string

// Description returns the Spanish meaning of the code, "" when blank or
// unknown.
func (p ProcessType) Description() string {
	switch p {
	case "1":
		return "Muy corta (menos de 5 días)"
	case "2":
		return "Corta (de 5 a 30 días)"
	case "3":
		return "Media (de 31 a 60 días)"
	case "4":
		return "Larga (61 días o más)"
	}
	return ""
}

// Valid reports whether p is blank or a known class.
func (p ProcessType) Valid() bool { return p == "" || p.Description() != "" }

// BenefitKind names the kind of benefit a record is about. FIE 2.0 files
// carry only incapacidad temporal today; the FIER groups DIP, JUB, DOP and
// NAC are reserved for the other kinds.
type BenefitKind string

// The benefit kinds.
const (
	KindIT BenefitKind = "IT" // incapacidad temporal
)

// Description returns the Spanish name of the benefit kind.
func (k BenefitKind) Description() string {
	if k == KindIT {
		return "Incapacidad temporal"
	}
	return ""
}

// WithDescription renders a code as "code - description" (as FIER shows
// codes), the code alone when there is no description, "" for no code.
func WithDescription(code, description string) string {
	switch {
	case code == "":
		return ""
	case description == "":
		return code
	}
	return code + " - " + description
}

// CCCControl returns the two control digits of a CCC whose first nine
// digits (province PP and number N) are given: (PP·10^7 + N) mod 97.
func CCCControl(first9 string) (string, error) {
	if len(first9) != 9 || !allDigits(first9) {
		return "", fmt.Errorf("se esperan 9 dígitos")
	}
	v, _ := strconv.ParseInt(first9, 10, 64)
	return fmt.Sprintf("%02d", v%97), nil
}

// NAFControl returns the two control digits of a NAF/NSS whose first ten
// digits (province PP and number N of 8 digits) are given: if N < 10^7 the
// number is PP·10^7 + N, else PP·10^8 + N; the control is that mod 97.
func NAFControl(first10 string) (string, error) {
	if len(first10) != 10 || !allDigits(first10) {
		return "", fmt.Errorf("se esperan 10 dígitos")
	}
	pp, _ := strconv.ParseInt(first10[:2], 10, 64)
	n, _ := strconv.ParseInt(first10[2:], 10, 64)
	v := pp*100_000_000 + n
	if n < 10_000_000 {
		v = pp*10_000_000 + n
	}
	return fmt.Sprintf("%02d", v%97), nil
}

// CheckCCC returns "" when s is a valid CCC (11 digits, province 01–52,
// right control digits) or the Spanish reason why it is not.
func CheckCCC(s string) string {
	if len(s) != 11 || !allDigits(s) {
		return fmt.Sprintf("CCC «%s» no válido: se esperan 11 dígitos", s)
	}
	if !validProvince(s[:2]) {
		return fmt.Sprintf("CCC «%s» no válido: la provincia %s no existe (01 a 52)", s, s[:2])
	}
	dc, _ := CCCControl(s[:9])
	if dc != s[9:] {
		return fmt.Sprintf("CCC «%s» no válido: dígitos de control %s, deberían ser %s", s, s[9:], dc)
	}
	return ""
}

// CheckNAF returns "" when s is a valid NAF/NSS (12 digits, province 01–52,
// right control digits) or the Spanish reason why it is not.
func CheckNAF(s string) string {
	if len(s) != 12 || !allDigits(s) {
		return fmt.Sprintf("NAF «%s» no válido: se esperan 12 dígitos", s)
	}
	if !validProvince(s[:2]) {
		return fmt.Sprintf("NAF «%s» no válido: la provincia %s no existe (01 a 52)", s, s[:2])
	}
	dc, _ := NAFControl(s[:10])
	if dc != s[10:] {
		return fmt.Sprintf("NAF «%s» no válido: dígitos de control %s, deberían ser %s", s, s[10:], dc)
	}
	return ""
}

func validProvince(pp string) bool {
	p, err := strconv.Atoi(pp)
	return err == nil && p >= 1 && p <= 52
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
