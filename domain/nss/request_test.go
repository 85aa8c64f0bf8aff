package nss_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
)

// madrid returns Europe/Madrid.
func madrid(t testing.TB) *time.Location {
	t.Helper()
	loc, err := calendar.LoadMadrid()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// requestDay is the instant the validation tests run at: Monday 5 July
// 2021, 10:00 in Madrid.
func requestDay(t testing.TB) time.Time { return time.Date(2021, 7, 5, 10, 0, 0, 0, madrid(t)) }

// validRequest is a request that passes every rule.
func validRequest() nss.Request {
	return nss.Request{
		DocumentType:   "DNI",
		DocumentNumber: "12345678z",
		FirstName:      "  María   José ",
		Surname1:       "García",
		Surname2:       "López-Ibáñez",
		BirthDate:      "1990-05-17",
		Sex:            "Mujer",
		Nationality:    "esp",
		MobilePhone:    "+34 612 345 678",
		PhoneConsent:   true,
		Address: nss.Address{
			TipoVia: "cl", NombreVia: "Mayor", Numero: "5", Piso: "3", Puerta: "B",
			CodigoPostal: "28100", Localidad: "alcobendas",
		},
		Email: "maria.garcia@example.com",
	}
}

// fieldsOf returns the sorted field names of an invalid error.
func fieldsOf(err error) []string {
	var out []string
	for _, f := range errs.FieldsOf(err) {
		out = append(out, f.Field)
	}
	sort.Strings(out)
	return out
}

func TestValidateValid(t *testing.T) {
	p, err := nss.Validate(validRequest(), nss.DefaultPolicy(nss.DefaultCatalogue()), requestDay(t))
	if err != nil {
		t.Fatalf("Validate: %v (fields %v)", err, errs.FieldsOf(err))
	}
	want := nss.Person{
		DocumentType: ident.DocumentDNI, DocumentNumber: "12345678Z",
		FirstName: "María José", Surname1: "García", Surname2: "López-Ibáñez",
		BirthDate: calendar.Date{Year: 1990, Month: 5, Day: 17}, Sex: "mujer", Nationality: "ESP",
		MobilePhone: "+34612345678", PhoneConsent: true,
		Address: nss.Address{TipoVia: "CL", NombreVia: "Mayor", Numero: "5", Piso: "3", Puerta: "B",
			CodigoPostal: "28100", Localidad: "Alcobendas"},
		Email: "maria.garcia@example.com",
	}
	if p.DocumentType != want.DocumentType || p.DocumentNumber != want.DocumentNumber || p.FirstName != want.FirstName ||
		p.Surname1 != want.Surname1 || p.Surname2 != want.Surname2 || p.BirthDate != want.BirthDate ||
		p.Sex != want.Sex || p.Nationality != want.Nationality || p.MobilePhone != want.MobilePhone ||
		!p.PhoneConsent || p.Address != want.Address || p.NotificationAddress != nil || p.Email != want.Email || p.EmailDeclined {
		t.Errorf("person =\n %+v\nwant\n %+v", p, want)
	}
	if p.Province() != 28 {
		t.Errorf("Province = %d, want 28", p.Province())
	}
	if got := p.Masked(); strings.Contains(got, "1234") || !strings.HasPrefix(got, "DNI ") {
		t.Errorf("Masked = %q leaks the document", got)
	}
	if p.FullName() != "María José García López-Ibáñez" {
		t.Errorf("FullName = %q", p.FullName())
	}
}

// TestValidateComposesNames: a name typed with combining accents (e +
// U+0301) is the same name as with the composed letters, stored composed.
func TestValidateComposesNames(t *testing.T) {
	r := validRequest()
	r.FirstName, r.Surname2 = "Mari\u0301a Jose\u0301", "Lo\u0301pez-Iba\u0301n\u0303ez"
	p, err := nss.Validate(r, nss.DefaultPolicy(nss.DefaultCatalogue()), requestDay(t))
	if err != nil {
		t.Fatalf("Validate: %v (fields %v)", err, errs.FieldsOf(err))
	}
	if p.FirstName != "María José" || p.Surname2 != "López-Ibáñez" {
		t.Errorf("names %q %q, want them composed", p.FirstName, p.Surname2)
	}
	r.FirstName = strings.Repeat("a\u0301", 50) // 50 letters, 100 code points
	if _, err := nss.Validate(r, nss.DefaultPolicy(nss.DefaultCatalogue()), requestDay(t)); err != nil {
		t.Errorf("50 accented letters typed apart: %v", errs.FieldsOf(err))
	}
}

// TestValidateEveryFieldAtOnce: an empty request reports every mandatory
// field in one error.
func TestValidateEveryFieldAtOnce(t *testing.T) {
	_, err := nss.Validate(nss.Request{}, nss.DefaultPolicy(nss.DefaultCatalogue()), requestDay(t))
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("err = %v, want invalid", err)
	}
	want := []string{
		"address.codigoPostal", "address.localidad", "address.nombreVia", "address.tipoVia",
		"birthDate", "documentNumber", "documentType", "email", "firstName", "mobilePhone",
		"nationality", "phoneConsent", "sex", "surname1", "surname2",
	}
	if got := fieldsOf(err); !slices.Equal(got, want) {
		t.Errorf("fields =\n %v\nwant\n %v", got, want)
	}
	for _, f := range errs.FieldsOf(err) {
		if f.Reason == "" {
			t.Errorf("field %s has no reason", f.Field)
		}
	}
}

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *nss.Request)
		policy func(p *nss.Policy)
		fields []string // the failing fields; nil means valid
		reason string   // a fragment of the first field's reason
	}{
		// Documents.
		{name: "DNI 00000000T", mutate: func(r *nss.Request) { r.DocumentNumber = "00000000T" }},
		{name: "DNI 99999999R", mutate: func(r *nss.Request) { r.DocumentNumber = "99999999R" }},
		{name: "DNI 26885671M", mutate: func(r *nss.Request) { r.DocumentNumber = "26885671M" }},
		{name: "DNI with a wrong letter", mutate: func(r *nss.Request) { r.DocumentNumber = "12345678A" },
			fields: []string{"documentNumber"}},
		{name: "DNI too short", mutate: func(r *nss.Request) { r.DocumentNumber = "1234567Z" },
			fields: []string{"documentNumber"}},
		{name: "unknown document type", mutate: func(r *nss.Request) { r.DocumentType = "PASAPORTE" },
			fields: []string{"documentType"}},
		{name: "NIE refused by the default policy", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber, r.Nationality = "NIE", "X1234567L", "MAR"
		}, fields: []string{"documentType"}, reason: "solo admite DNI"},
		{name: "NIE accepted when configured", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber, r.Nationality = "NIE", "Y1234567X", "MAR"
		}, policy: func(p *nss.Policy) { p.DocumentTypes = []ident.DocumentType{ident.DocumentDNI, ident.DocumentNIE} }},
		{name: "NIE Z1234567R", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber, r.Nationality = "nie", "z1234567r", "ROU"
		}, policy: func(p *nss.Policy) { p.DocumentTypes = []ident.DocumentType{ident.DocumentNIE} }},
		{name: "NIE with a wrong letter", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber, r.Nationality = "NIE", "X1234567A", "MAR"
		}, policy: func(p *nss.Policy) { p.DocumentTypes = []ident.DocumentType{ident.DocumentNIE} }, fields: []string{"documentNumber"}},
		{name: "NIE but DNI-only policy still checks the number", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber, r.Nationality = "NIE", "X1234567A", "MAR"
		}, fields: []string{"documentNumber", "documentType"}},

		// Nationality.
		{name: "DNI needs ESP", mutate: func(r *nss.Request) { r.Nationality = "FRA" },
			fields: []string{"nationality"}, reason: "nacionalidad española"},
		{name: "NIE cannot be ESP", mutate: func(r *nss.Request) {
			r.DocumentType, r.DocumentNumber = "NIE", "X1234567L"
		}, policy: func(p *nss.Policy) { p.DocumentTypes = []ident.DocumentType{ident.DocumentNIE} }, fields: []string{"nationality"}},
		{name: "nationality alpha-2", mutate: func(r *nss.Request) { r.Nationality = "ES" }, fields: []string{"nationality"}},
		{name: "nationality not ISO", mutate: func(r *nss.Request) { r.Nationality = "XXX" }, fields: []string{"nationality"}},

		// Names.
		{name: "name with digits", mutate: func(r *nss.Request) { r.FirstName = "M4ría" }, fields: []string{"firstName"}},
		{name: "surname of only punctuation", mutate: func(r *nss.Request) { r.Surname1 = "--" }, fields: []string{"surname1"}},
		{name: "apostrophe and dot", mutate: func(r *nss.Request) { r.Surname1 = "D'Ors"; r.Surname2 = "St. John" }},
		{name: "name too long", mutate: func(r *nss.Request) { r.FirstName = strings.Repeat("a", 51) }, fields: []string{"firstName"}},
		{name: "second surname missing", mutate: func(r *nss.Request) { r.Surname2 = " " }, fields: []string{"surname2"}},

		// Birth date: today is 2021-07-05.
		{name: "birth date in the future", mutate: func(r *nss.Request) { r.BirthDate = "2022-01-01" },
			fields: []string{"birthDate"}, reason: "anterior a hoy"},
		{name: "birth date today", mutate: func(r *nss.Request) { r.BirthDate = "2021-07-05" }, fields: []string{"birthDate"}},
		{name: "birth date not real", mutate: func(r *nss.Request) { r.BirthDate = "1990-02-30" }, fields: []string{"birthDate"}},
		{name: "birth date in another format", mutate: func(r *nss.Request) { r.BirthDate = "17/05/1990" }, fields: []string{"birthDate"}},
		{name: "more than 120 years", mutate: func(r *nss.Request) { r.BirthDate = "1900-07-05" }, fields: []string{"birthDate"}},
		{name: "exactly 120 years", mutate: func(r *nss.Request) { r.BirthDate = "1901-07-05" }},
		{name: "under 16", mutate: func(r *nss.Request) { r.BirthDate = "2005-07-06" }, fields: []string{"birthDate"}, reason: "16 años"},
		{name: "16 today", mutate: func(r *nss.Request) { r.BirthDate = "2005-07-05" }},
		{name: "no minimum age", mutate: func(r *nss.Request) { r.BirthDate = "2020-01-01" },
			policy: func(p *nss.Policy) { p.MinAge = 0 }},

		// Sex.
		{name: "sex HOMBRE", mutate: func(r *nss.Request) { r.Sex = "HOMBRE" }},
		{name: "sex abbreviated", mutate: func(r *nss.Request) { r.Sex = "M" }, fields: []string{"sex"}},

		// Phone and consent.
		{name: "mobile without +34", mutate: func(r *nss.Request) { r.MobilePhone = "612345678" }},
		{name: "mobile 7x", mutate: func(r *nss.Request) { r.MobilePhone = "0034 712 345 678" }},
		{name: "landline", mutate: func(r *nss.Request) { r.MobilePhone = "912345678" }, fields: []string{"mobilePhone"}},
		{name: "foreign mobile", mutate: func(r *nss.Request) { r.MobilePhone = "+33612345678" }, fields: []string{"mobilePhone"}},
		{name: "no consent", mutate: func(r *nss.Request) { r.PhoneConsent = false }, fields: []string{"phoneConsent"}, reason: "consentimiento expreso"},

		// Address.
		{name: "optional address parts empty", mutate: func(r *nss.Request) { r.Address.Numero, r.Address.Piso, r.Address.Puerta = "", "", "" }},
		{name: "tipo de vía not in the catalogue", mutate: func(r *nss.Request) { r.Address.TipoVia = "XX" }, fields: []string{"address.tipoVia"}},
		{name: "nombre de vía missing", mutate: func(r *nss.Request) { r.Address.NombreVia = "" }, fields: []string{"address.nombreVia"}},
		{name: "nombre de vía too long", mutate: func(r *nss.Request) { r.Address.NombreVia = strings.Repeat("x", 101) }, fields: []string{"address.nombreVia"}},
		{name: "piso too long", mutate: func(r *nss.Request) { r.Address.Piso = "12345678901" }, fields: []string{"address.piso"}},
		{name: "postal code 4 digits", mutate: func(r *nss.Request) { r.Address.CodigoPostal = "2810" }, fields: []string{"address.codigoPostal"}},
		{name: "postal code province 53", mutate: func(r *nss.Request) { r.Address.CodigoPostal = "53001" }, fields: []string{"address.codigoPostal"}},
		{name: "localidad of another postal code", mutate: func(r *nss.Request) { r.Address.Localidad = "Barcelona" },
			fields: []string{"address.localidad"}, reason: "localidades del código postal 28100"},
		{name: "localidad missing", mutate: func(r *nss.Request) { r.Address.Localidad = "" }, fields: []string{"address.localidad"}},
		{name: "Vitoria-Gasteiz 01001", mutate: func(r *nss.Request) {
			r.Address.CodigoPostal, r.Address.Localidad, r.Address.TipoVia = "01001", "Vitoria-Gasteiz", "PZ"
		}},
		{name: "Melilla 52001", mutate: func(r *nss.Request) { r.Address.CodigoPostal, r.Address.Localidad = "52001", "Melilla" }},
		{name: "tipo de vía by name", mutate: func(r *nss.Request) { r.Address.TipoVia = "Avenida" }},
		{name: "localidad spelt without accents or case", mutate: func(r *nss.Request) {
			r.Address.CodigoPostal, r.Address.Localidad = "01001", "VITORIA GASTEIZ"
		}},

		// Notification address.
		{name: "valid notification address", mutate: func(r *nss.Request) {
			r.NotificationAddress = &nss.Address{TipoVia: "AV", NombreVia: "Diagonal", CodigoPostal: "08001", Localidad: "Barcelona"}
		}},
		{name: "notification address with errors", mutate: func(r *nss.Request) {
			r.NotificationAddress = &nss.Address{TipoVia: "ZZ", CodigoPostal: "08001", Localidad: "Alcobendas"}
		}, fields: []string{"notificationAddress.localidad", "notificationAddress.nombreVia", "notificationAddress.tipoVia"}},

		// Email.
		{name: "email declined", mutate: func(r *nss.Request) { r.Email, r.EmailDeclined = "", true }},
		{name: "email and declined", mutate: func(r *nss.Request) { r.EmailDeclined = true }, fields: []string{"email"}, reason: "no ambas"},
		{name: "neither email nor declined", mutate: func(r *nss.Request) { r.Email = "" }, fields: []string{"email"}},
		{name: "email invalid", mutate: func(r *nss.Request) { r.Email = "maria@" }, fields: []string{"email"}},

		// Several at once.
		{name: "three fields at once", mutate: func(r *nss.Request) {
			r.DocumentNumber, r.MobilePhone, r.Address.CodigoPostal = "12345678A", "812345678", "99999"
		}, fields: []string{"address.codigoPostal", "documentNumber", "mobilePhone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := validRequest()
			tc.mutate(&req)
			pol := nss.DefaultPolicy(nss.DefaultCatalogue())
			if tc.policy != nil {
				tc.policy(&pol)
			}
			_, err := nss.Validate(req, pol, requestDay(t))
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("want invalid, got %v", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tc.fields, err)
			}
			if tc.reason != "" && !strings.Contains(errs.FieldsOf(err)[0].Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", errs.FieldsOf(err)[0].Reason, tc.reason)
			}
		})
	}
}

// TestValidateBirthDateInMadrid: the day of "now" is taken in Madrid, not
// UTC: at 00:30 on 6 July in Madrid (22:30 UTC on the 5th), a person born
// on 6 July 2005 is already 16.
func TestValidateBirthDateInMadrid(t *testing.T) {
	req := validRequest()
	req.BirthDate = "2005-07-06"
	now := time.Date(2021, 7, 5, 22, 30, 0, 0, time.UTC)
	if _, err := nss.Validate(req, nss.DefaultPolicy(nss.DefaultCatalogue()), now); err != nil {
		t.Fatalf("want valid on 6 July in Madrid, got %v", err)
	}
	if _, err := nss.Validate(req, nss.DefaultPolicy(nss.DefaultCatalogue()), now.Add(-time.Hour)); !errs.Is(errs.Invalid, err) {
		t.Fatalf("want invalid on 5 July in Madrid, got %v", err)
	}
}

// TestValidateLeapDay: someone born on 29 February 2004 turns 16 on
// 1 March 2020 (2020 is a leap year: on 29 February 2020).
func TestValidateLeapDay(t *testing.T) {
	req := validRequest()
	req.BirthDate = "2004-02-29"
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, madrid(t)) }
	pol := nss.DefaultPolicy(nss.DefaultCatalogue())
	if _, err := nss.Validate(req, pol, at(2020, 2, 28)); err == nil {
		t.Error("valid on 2020-02-28, want under 16")
	}
	if _, err := nss.Validate(req, pol, at(2020, 2, 29)); err != nil {
		t.Errorf("invalid on 2020-02-29: %v", err)
	}
	req.BirthDate = "2003-02-28"
	if _, err := nss.Validate(req, pol, at(2019, 2, 28)); err != nil {
		t.Errorf("invalid on the 16th birthday: %v", err)
	}
}

// FuzzValidate: Validate never panics, and what it accepts is a fixed point:
// validating the normalised person again gives the same person.
func FuzzValidate(f *testing.F) {
	f.Add("DNI", "12345678Z", "María", "1990-05-17", "mujer", "ESP", "+34612345678", "CL", "28100", "Alcobendas", "a@example.com")
	f.Add("NIE", "X1234567L", "Ana", "2000-02-29", "hombre", "MAR", "712345678", "av", "08001", "barcelona", "")
	f.Add("", "", "", "", "", "", "", "", "", "", "")
	f.Add("dni", "00000000t", "O'Neill", "1901-07-05", "HOMBRE", "esp", "0034 6 1 2 3 4 5 6 7 8", "PZ", "01001", "VITORIA-GASTEIZ", "x@y.es")
	cat := nss.DefaultCatalogue()
	now := requestDay(f)
	pol := nss.DefaultPolicy(cat)
	pol.DocumentTypes = []ident.DocumentType{ident.DocumentDNI, ident.DocumentNIE}
	f.Fuzz(func(t *testing.T, docType, doc, name, birth, sex, nat, phone, via, pc, loc, email string) {
		req := nss.Request{DocumentType: docType, DocumentNumber: doc, FirstName: name, Surname1: name, Surname2: name,
			BirthDate: birth, Sex: sex, Nationality: nat, MobilePhone: phone, PhoneConsent: true,
			Address: nss.Address{TipoVia: via, NombreVia: name, CodigoPostal: pc, Localidad: loc},
			Email:   email, EmailDeclined: email == ""}
		p, err := nss.Validate(req, pol, now)
		if err != nil {
			if !errs.Is(errs.Invalid, err) || len(errs.FieldsOf(err)) == 0 {
				t.Fatalf("error is not invalid with fields: %v", err)
			}
			return
		}
		again := nss.Request{DocumentType: string(p.DocumentType), DocumentNumber: p.DocumentNumber, FirstName: p.FirstName,
			Surname1: p.Surname1, Surname2: p.Surname2, BirthDate: p.BirthDate.String(), Sex: p.Sex, Nationality: p.Nationality,
			MobilePhone: p.MobilePhone, PhoneConsent: p.PhoneConsent, Address: p.Address, Email: p.Email, EmailDeclined: p.EmailDeclined}
		q, err := nss.Validate(again, pol, now)
		if err != nil {
			t.Fatalf("normalised person does not validate: %v", err)
		}
		if q.DocumentNumber != p.DocumentNumber || q.FirstName != p.FirstName || q.MobilePhone != p.MobilePhone ||
			q.Address != p.Address || q.Email != p.Email || q.BirthDate != p.BirthDate {
			t.Fatalf("not a fixed point:\n %+v\n %+v", p, q)
		}
	})
}
