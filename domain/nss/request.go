package nss

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"redengine/catalog/places"
	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/errs"
)

// Address is a domicile as the form carries it (the "DATOS DE DOMICILIO"
// block). TipoVia, NombreVia, CodigoPostal and Localidad are mandatory; the
// rest is optional.
type Address struct {
	TipoVia      string `json:"tipoVia"`
	NombreVia    string `json:"nombreVia"`
	Numero       string `json:"numero,omitempty"`
	Piso         string `json:"piso,omitempty"`
	Puerta       string `json:"puerta,omitempty"`
	CodigoPostal string `json:"codigoPostal"`
	Localidad    string `json:"localidad"`
}

// Request is the body of POST /v1/nss-assignments: the person to assign an
// NSS to, as the autorizado typed it. Validate turns it into a Person.
type Request struct {
	// Authorization is the autorización RED the user acts for (it may be
	// left out when the user belongs to exactly one); the API resolves it,
	// Validate does not look at it.
	Authorization string `json:"authorization,omitempty"`

	DocumentType   string `json:"documentType"` // DNI | NIE
	DocumentNumber string `json:"documentNumber"`
	FirstName      string `json:"firstName"`
	Surname1       string `json:"surname1"`
	Surname2       string `json:"surname2"`
	BirthDate      string `json:"birthDate"`   // YYYY-MM-DD
	Sex            string `json:"sex"`         // hombre | mujer
	Nationality    string `json:"nationality"` // ISO 3166-1 alpha-3

	MobilePhone  string `json:"mobilePhone"`
	PhoneConsent bool   `json:"phoneConsent"`

	Address             Address  `json:"address"`
	NotificationAddress *Address `json:"notificationAddress,omitempty"`

	Email         string `json:"email,omitempty"`
	EmailDeclined bool   `json:"emailDeclined,omitempty"`
}

// The values of Person.Sex.
const (
	SexMale   = "hombre"
	SexFemale = "mujer"
)

// Person is a validated and normalised Request: what AssignmentRequested
// records. It is personal data: it lives only in events and read models,
// never in logs or metrics (use Masked for a log line).
type Person struct {
	DocumentType   ident.DocumentType `json:"documentType"`
	DocumentNumber string             `json:"documentNumber"` // upper case, no spaces or hyphens
	FirstName      string             `json:"firstName"`
	Surname1       string             `json:"surname1"`
	Surname2       string             `json:"surname2"`
	BirthDate      calendar.Date      `json:"birthDate"`
	Sex            string             `json:"sex"`
	Nationality    string             `json:"nationality"`
	MobilePhone    string             `json:"mobilePhone"` // E.164, "+34612345678"
	PhoneConsent   bool               `json:"phoneConsent"`

	Address             Address  `json:"address"`
	NotificationAddress *Address `json:"notificationAddress,omitempty"`

	Email         string `json:"email,omitempty"`
	EmailDeclined bool   `json:"emailDeclined,omitempty"`
}

// Document returns the person's identity document.
func (p Person) Document() ident.Document {
	return ident.Document{Type: p.DocumentType, Number: p.DocumentNumber}
}

// Province is the province (01–52) of the domicile's postal code: the
// province part of the NSS the person gets.
func (p Person) Province() int {
	pc, err := ident.ParsePostalCode(p.Address.CodigoPostal)
	if err != nil {
		return 0
	}
	return pc.Province()
}

// FullName renders "Nombre Apellido1 Apellido2".
func (p Person) FullName() string {
	return strings.Join(slices.DeleteFunc([]string{p.FirstName, p.Surname1, p.Surname2}, func(s string) bool { return s == "" }), " ")
}

// Masked is the only rendering of a person fit for a log line: the masked
// document and nothing else.
func (p Person) Masked() string { return p.Document().Masked() }

// Catalogue is the reference data Validate checks addresses against. It is
// read-only data in memory, so validation stays pure. Places adapts the
// catalogues of catalog/places (the shipped ones, or the full localidades
// loaded from REDENGINE_LOCALIDADES).
type Catalogue interface {
	// TipoVia reports whether s (a code such as "CL", or a name such as
	// "Calle") is a tipo de vía of the catalogue, and returns its code.
	TipoVia(s string) (code string, ok bool)
	// Localidad reports whether name is one of the localities of the postal
	// code, and returns its name as the catalogue spells it.
	Localidad(postalCode, name string) (canonical string, ok bool)
}

// Places adapts the catalog/places catalogues to Catalogue.
func Places(tipos *places.TiposVia, locs *places.Localidades) Catalogue {
	return placesCatalogue{tipos, locs}
}

// DefaultCatalogue is Places over the catalogues shipped with the engine.
func DefaultCatalogue() Catalogue { return Places(places.DefaultTiposVia(), places.Default()) }

type placesCatalogue struct {
	tipos *places.TiposVia
	locs  *places.Localidades
}

func (c placesCatalogue) TipoVia(s string) (string, bool) {
	if c.tipos == nil {
		return "", false
	}
	t, ok := c.tipos.Lookup(s)
	return t.Code, ok
}

func (c placesCatalogue) Localidad(pc, name string) (string, bool) {
	if c.locs == nil {
		return "", false
	}
	l, ok := c.locs.Match(pc, name)
	return l.Name, ok
}

// Policy is the configuration of the validation.
type Policy struct {
	// DocumentTypes are the accepted identity documents. Empty means DNI
	// only (the seed: at first, only Spanish nationals with DNI).
	DocumentTypes []ident.DocumentType
	// Catalogue holds the tipos de vía and the localities of each postal
	// code. Required.
	Catalogue Catalogue
	// MinAge is the minimum age in whole years on the day of the request;
	// 0 means no minimum. DefaultPolicy sets DefaultMinAge.
	MinAge int
}

// DefaultMinAge is the minimum age of DefaultPolicy: 16, the general
// minimum age to work (art. 6 Estatuto de los Trabajadores). The online
// assignment exists for workers about to be dados de alta; the exceptions
// (minors in public shows) go through CASIA.
const DefaultMinAge = 16

// MaxAge is the oldest plausible age, in years, of a person asking for an NSS.
const MaxAge = 120

// DefaultPolicy accepts DNI only, with the minimum age DefaultMinAge.
func DefaultPolicy(cat Catalogue) Policy {
	return Policy{DocumentTypes: []ident.DocumentType{ident.DocumentDNI}, Catalogue: cat, MinAge: DefaultMinAge}
}

// accepts reports whether the policy accepts documents of type t.
func (p Policy) accepts(t ident.DocumentType) bool {
	if len(p.DocumentTypes) == 0 {
		return t == ident.DocumentDNI
	}
	return slices.Contains(p.DocumentTypes, t)
}

// acceptedList renders the accepted types for a message ("DNI", "DNI o NIE").
func (p Policy) acceptedList() string {
	ts := p.DocumentTypes
	if len(ts) == 0 {
		ts = []ident.DocumentType{ident.DocumentDNI}
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " o ")
}

// Field length limits (runes).
const (
	maxNameLen    = 50
	maxViaLen     = 100
	maxShortField = 10
)

// Validate checks every rule of the seed on req and returns the normalised
// person, or an errs.Invalid error whose Fields name every failing field at
// once (JSON-pointer-like names such as "address.codigoPostal", reasons in
// Spanish). now is the instant of the request; the birth date is judged
// against its calendar day in Europe/Madrid.
//
// The rules:
//   - every identification field is mandatory;
//   - documentType is DNI or NIE and accepted by the policy; the document
//     number has a correct control letter;
//   - a DNI is issued only to Spanish nationals, so with a DNI the
//     nationality must be ESP; a NIE is issued only to foreigners, so with
//     a NIE it must not be ESP;
//   - names are letters with spaces, hyphens, apostrophes and dots, at most
//     50 characters;
//   - birthDate is a real date, before today, at most MaxAge years ago and
//     at least Policy.MinAge years ago;
//   - sex is hombre or mujer; nationality an ISO 3166-1 alpha-3 code;
//   - mobilePhone is a Spanish mobile and phoneConsent is true (the
//     worker's express consent);
//   - address (and notificationAddress, when given): tipoVia in the
//     catalogue, nombreVia, codigoPostal and localidad mandatory; the postal
//     code is 5 digits whose first two are a province (01–52), the province
//     of the NSS; localidad is one of the catalogue's localities of that
//     postal code (a locality may belong to a municipality of a
//     neighbouring province: the catalogue says which pairs exist, so no
//     further province check is made); numero, piso and puerta optional
//     and short;
//   - exactly one of email (a valid address) and emailDeclined: true.
func Validate(req Request, policy Policy, now time.Time) (Person, error) {
	const op errs.Op = "nss.Validate"
	var f errs.Fields
	p := Person{PhoneConsent: req.PhoneConsent, EmailDeclined: req.EmailDeclined}

	// Identification.
	docType, err := ident.ParseDocumentType(req.DocumentType)
	switch {
	case err != nil:
		f.Add("documentType", reason(err))
	case !policy.accepts(docType):
		f.Add("documentType", fmt.Sprintf("la asignación de NSS en línea solo admite %s; para otros documentos, solicítelo a través de CASIA", policy.acceptedList()))
	default:
		p.DocumentType = docType
	}
	if strings.TrimSpace(req.DocumentNumber) == "" {
		f.Add("documentNumber", "el número de documento es obligatorio")
	} else if docType != "" {
		doc, err := ident.ParseDocument(string(docType), req.DocumentNumber)
		if err != nil {
			f.Add("documentNumber", reason(err))
		} else {
			p.DocumentNumber = doc.Number
		}
	}
	p.FirstName = name(&f, "firstName", "el nombre", req.FirstName)
	p.Surname1 = name(&f, "surname1", "el primer apellido", req.Surname1)
	p.Surname2 = name(&f, "surname2", "el segundo apellido", req.Surname2)

	if strings.TrimSpace(req.BirthDate) == "" {
		f.Add("birthDate", "la fecha de nacimiento es obligatoria")
	} else if bd, err := ident.ParseDate(req.BirthDate); err != nil {
		f.Add("birthDate", reason(err))
	} else if r := birthDateProblem(bd, calendar.New().DateOf(now), policy.MinAge); r != "" {
		f.Add("birthDate", r)
	} else {
		p.BirthDate = bd
	}

	switch s := strings.ToLower(strings.TrimSpace(req.Sex)); s {
	case SexMale, SexFemale:
		p.Sex = s
	case "":
		f.Add("sex", "el sexo es obligatorio")
	default:
		f.Add("sex", "el sexo debe ser hombre o mujer")
	}

	if c, err := ident.ParseCountry(req.Nationality); err != nil {
		f.Add("nationality", reason(err))
	} else {
		p.Nationality = c.String()
		switch {
		case docType == ident.DocumentDNI && c != ident.Spain():
			f.Add("nationality", "el DNI solo se expide a personas de nacionalidad española: la nacionalidad debe ser ESP")
		case docType == ident.DocumentNIE && c == ident.Spain():
			f.Add("nationality", "el NIE identifica a personas extranjeras: la nacionalidad no puede ser ESP")
		}
	}

	// Contact.
	if m, err := ident.ParseMobile(req.MobilePhone); err != nil {
		f.Add("mobilePhone", reason(err))
	} else {
		p.MobilePhone = m.String()
	}
	if !req.PhoneConsent {
		f.Add("phoneConsent", "es obligatorio el consentimiento expreso del trabajador al uso del teléfono móvil como medio de identificación y para recibir comunicaciones y avisos")
	}

	// Domicile.
	p.Address = address(&f, "address", req.Address, policy.Catalogue)
	if req.NotificationAddress != nil {
		a := address(&f, "notificationAddress", *req.NotificationAddress, policy.Catalogue)
		p.NotificationAddress = &a
	}

	// Email.
	email := strings.TrimSpace(req.Email)
	switch {
	case email != "" && req.EmailDeclined:
		f.Add("email", "indique un correo electrónico o marque que no desea comunicarlo (emailDeclined), no ambas cosas")
	case email == "" && !req.EmailDeclined:
		f.Add("email", "indique un correo electrónico o marque expresamente que no desea comunicarlo (emailDeclined: true)")
	case email != "":
		if e, err := ident.ParseEmail(email); err != nil {
			f.Add("email", reason(err))
		} else {
			p.Email = e.String()
		}
	}

	if len(f) > 0 {
		return Person{}, errs.E(op, errs.Invalid, "los datos de la asignación de NSS no son válidos", f)
	}
	return p, nil
}

// reason is the user-facing message of a parse error.
func reason(err error) string {
	if m := errs.MessageOf(err); m != "" {
		return m
	}
	return "no es válido"
}

// name validates and normalises a personal name (trimmed, inner spaces
// collapsed, composed to Unicode NFC: "José" typed as e + combining accent
// is the same name as with é), adding a field error when it fails.
func name(f *errs.Fields, field, what, s string) string {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "":
		f.Add(field, what+" es obligatorio")
		return ""
	case !utf8.ValidString(s):
		f.Add(field, what+" contiene caracteres no válidos")
		return ""
	}
	s = norm.NFC.String(s)
	switch {
	case utf8.RuneCountInString(s) > maxNameLen:
		f.Add(field, fmt.Sprintf("%s no puede superar %d caracteres", what, maxNameLen))
		return ""
	}
	letters := 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.' || r == 'ª' || r == 'º':
		default:
			f.Add(field, what+" solo puede contener letras, espacios, guiones, apóstrofos y puntos")
			return ""
		}
	}
	if letters == 0 {
		f.Add(field, what+" debe contener alguna letra")
		return ""
	}
	return s
}

// birthDateProblem returns why bd is not a plausible birth date on today,
// or "".
func birthDateProblem(bd, today calendar.Date, minAge int) string {
	switch {
	case !bd.Before(today):
		return "la fecha de nacimiento debe ser anterior a hoy"
	case ageOn(bd, today) > MaxAge:
		return fmt.Sprintf("la fecha de nacimiento no es verosímil (más de %d años)", MaxAge)
	case minAge > 0 && ageOn(bd, today) < minAge:
		return fmt.Sprintf("la persona debe tener al menos %d años para ser dada de alta como trabajadora", minAge)
	}
	return ""
}

// ageOn is the age in whole years on day of someone born on bd. A person
// born on 29 February turns a year older on 1 March in common years.
func ageOn(bd, day calendar.Date) int {
	age := day.Year - bd.Year
	if day.Month < bd.Month || (day.Month == bd.Month && day.Day < bd.Day) {
		age--
	}
	return age
}

// address validates one domicile, adding field errors under prefix.
func address(f *errs.Fields, prefix string, a Address, cat Catalogue) Address {
	out := Address{}
	at := func(field string) string { return prefix + "." + field }

	switch tv := strings.ToUpper(strings.TrimSpace(a.TipoVia)); {
	case tv == "":
		f.Add(at("tipoVia"), "el tipo de vía es obligatorio")
	case cat == nil:
		f.Add(at("tipoVia"), "no hay catálogo de tipos de vía configurado")
	default:
		if c, ok := cat.TipoVia(tv); ok {
			out.TipoVia = c
		} else {
			f.Add(at("tipoVia"), fmt.Sprintf("el tipo de vía %q no está en el catálogo (por ejemplo CL calle, AV avenida, PZ plaza)", tv))
		}
	}

	out.NombreVia = strings.Join(strings.Fields(a.NombreVia), " ")
	switch {
	case out.NombreVia == "":
		f.Add(at("nombreVia"), "el nombre de la vía es obligatorio")
	case !utf8.ValidString(out.NombreVia) || hasControl(out.NombreVia):
		f.Add(at("nombreVia"), "el nombre de la vía contiene caracteres no válidos")
	case utf8.RuneCountInString(out.NombreVia) > maxViaLen:
		f.Add(at("nombreVia"), fmt.Sprintf("el nombre de la vía no puede superar %d caracteres", maxViaLen))
	}

	for _, o := range []struct {
		field string
		in    string
		out   *string
	}{{"numero", a.Numero, &out.Numero}, {"piso", a.Piso, &out.Piso}, {"puerta", a.Puerta, &out.Puerta}} {
		v := strings.Join(strings.Fields(o.in), " ")
		switch {
		case !utf8.ValidString(v) || hasControl(v):
			f.Add(at(o.field), "contiene caracteres no válidos")
		case utf8.RuneCountInString(v) > maxShortField:
			f.Add(at(o.field), fmt.Sprintf("no puede superar %d caracteres", maxShortField))
		default:
			*o.out = v
		}
	}

	pc, pcErr := ident.ParsePostalCode(a.CodigoPostal)
	if pcErr != nil {
		f.Add(at("codigoPostal"), reason(pcErr))
	} else {
		out.CodigoPostal = pc.String()
	}

	loc := strings.Join(strings.Fields(a.Localidad), " ")
	switch {
	case loc == "":
		f.Add(at("localidad"), "la localidad es obligatoria")
	case pcErr != nil:
		// The postal code is already reported; the localidad cannot be
		// checked without it.
	case cat == nil:
		f.Add(at("localidad"), "no hay catálogo de localidades configurado")
	default:
		if canon, ok := cat.Localidad(pc.String(), loc); ok {
			out.Localidad = canon
		} else {
			f.Add(at("localidad"), fmt.Sprintf("%q no es una de las localidades del código postal %s (provincia de %s); consulte GET /v1/localidades?codigoPostal=%s", loc, pc, pc.ProvinceName(), pc))
		}
	}
	return out
}

// hasControl reports whether s has control characters.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
