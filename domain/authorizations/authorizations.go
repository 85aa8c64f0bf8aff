// Package authorizations is the Autorización RED aggregate: the number, the
// usuario principal, the users who act for it, the CCCs it manages and the
// contact email that every email of the engine to the autorización goes to.
// Membership of a user in an autorización comes from here; a token may only
// narrow it.
package authorizations

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"redengine/commands"
	"redengine/domain/ident"
	"redengine/errs"
)

// Category is the stream category: streams are "autorizacion-<number>".
const Category = "autorizacion"

// Event type names.
const (
	TypeRegistered     = "AutorizacionRegistrada"
	TypeContactChanged = "ContactoAutorizacionCambiado"
	TypeUsersChanged   = "UsuariosAutorizacionCambiados"
	TypeCCCsChanged    = "CCCsAutorizacionCambiados"
)

// Registered: an autorización was registered by an administrator.
type Registered struct {
	Number           string   `json:"number"`
	Name             string   `json:"name,omitempty"`
	UsuarioPrincipal string   `json:"usuarioPrincipal"`
	Users            []string `json:"users"`
	CCCs             []string `json:"cccs"`
	ContactEmail     string   `json:"contactEmail,omitempty"`
}

// ContactChanged: the usuario principal set the contact email.
type ContactChanged struct {
	Email string `json:"email"`
}

// UsersChanged: the set of users was replaced (admin).
type UsersChanged struct {
	Users []string `json:"users"`
}

// CCCsChanged: the set of CCCs was replaced (admin).
type CCCsChanged struct {
	CCCs []string `json:"cccs"`
}

// State is an autorización as its events left it.
type State struct {
	Number           string
	Name             string
	UsuarioPrincipal string
	Users            []string // includes the usuario principal
	CCCs             []string
	ContactEmail     string
	Registered       bool
}

// HasUser reports whether sub acts for the autorización.
func (s State) HasUser(sub string) bool { return slices.Contains(s.Users, sub) }

// ManagesCCC reports whether the autorización manages ccc.
func (s State) ManagesCCC(ccc string) bool { return slices.Contains(s.CCCs, ccc) }

// codec is the event codec of the aggregate.
var codec = commands.NewCodec(
	commands.Type[Registered](TypeRegistered, 1),
	commands.Type[ContactChanged](TypeContactChanged, 1),
	commands.Type[UsersChanged](TypeUsersChanged, 1),
	commands.Type[CCCsChanged](TypeCCCsChanged, 1),
)

// Aggregate is the Autorización aggregate for the command pipeline.
func Aggregate() commands.Aggregate[State] {
	return commands.Aggregate[State]{Category: Category, Codec: codec, Evolve: Evolve}
}

// Evolve applies one event.
func Evolve(s State, e commands.Event) State {
	switch ev := e.Data.(type) {
	case Registered:
		s = State{Number: ev.Number, Name: ev.Name, UsuarioPrincipal: ev.UsuarioPrincipal,
			Users: slices.Clone(ev.Users), CCCs: slices.Clone(ev.CCCs), ContactEmail: ev.ContactEmail, Registered: true}
	case ContactChanged:
		s.ContactEmail = ev.Email
	case UsersChanged:
		s.Users = slices.Clone(ev.Users)
	case CCCsChanged:
		s.CCCs = slices.Clone(ev.CCCs)
	}
	return s
}

var numberRE = regexp.MustCompile(`^[0-9A-Z]{1,20}$`)

// RegisterInput is the body of POST /v1/autorizaciones.
type RegisterInput struct {
	Number           string   `json:"number"`
	Name             string   `json:"name,omitempty"`
	UsuarioPrincipal string   `json:"usuarioPrincipal"`
	Users            []string `json:"users"`
	CCCs             []string `json:"cccs"`
	ContactEmail     string   `json:"contactEmail,omitempty"`
}

// NormalizeNumber trims and upper-cases an autorización number and checks
// its form.
func NormalizeNumber(n string) (string, error) {
	n = strings.ToUpper(strings.TrimSpace(n))
	if !numberRE.MatchString(n) {
		return "", errs.E(errs.Op("authorizations.Number"), errs.Invalid,
			errs.FieldError{Field: "number", Reason: "número de autorización: de 1 a 20 letras o cifras"})
	}
	return n, nil
}

// Validate checks a registration and returns it normalised: the usuario
// principal is among the users, users and CCCs are unique and sorted.
func (in RegisterInput) Validate() (Registered, error) {
	var f errs.Fields
	num := strings.ToUpper(strings.TrimSpace(in.Number))
	if !numberRE.MatchString(num) {
		f.Add("number", "número de autorización: de 1 a 20 letras o cifras")
	}
	up := strings.TrimSpace(in.UsuarioPrincipal)
	if up == "" || len(up) > 128 {
		f.Add("usuarioPrincipal", "obligatorio, hasta 128 caracteres")
	}
	users := []string{}
	if up != "" {
		users = append(users, up)
	}
	for i, u := range in.Users {
		u = strings.TrimSpace(u)
		if u == "" || len(u) > 128 {
			f.Add(fmt.Sprintf("users[%d]", i), "usuario vacío o de más de 128 caracteres")
			continue
		}
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	cccs := []string{}
	for i, c := range in.CCCs {
		ccc, err := ident.ParseCCC(c)
		if err != nil {
			f.Add(fmt.Sprintf("cccs[%d]", i), reasonOf(err, "CCC no válido"))
			continue
		}
		if s := ccc.String(); !slices.Contains(cccs, s) {
			cccs = append(cccs, s)
		}
	}
	email := strings.TrimSpace(in.ContactEmail)
	if email != "" {
		e, err := ident.ParseEmail(email)
		if err != nil {
			f.Add("contactEmail", reasonOf(err, "dirección de correo no válida"))
		}
		email = e.String()
	}
	if len(in.Name) > 200 {
		f.Add("name", "hasta 200 caracteres")
	}
	if len(f) > 0 {
		return Registered{}, errs.E(errs.Op("authorizations.Register"), errs.Invalid, f)
	}
	slices.Sort(users)
	slices.Sort(cccs)
	return Registered{Number: num, Name: strings.TrimSpace(in.Name), UsuarioPrincipal: up, Users: users, CCCs: cccs, ContactEmail: email}, nil
}

func reasonOf(err error, fallback string) string {
	if fs := errs.FieldsOf(err); len(fs) > 0 {
		return fs[0].Reason
	}
	if m := errs.MessageOf(err); m != "" {
		return m
	}
	return fallback
}

// Register decides the registration of a new autorización.
func Register(r Registered) commands.Decide[State] {
	return func(s State, _ time.Time) ([]any, error) {
		if s.Registered {
			return nil, errs.E(errs.Op("authorizations.Register"), errs.Precondition,
				fmt.Sprintf("la autorización %s ya está registrada", s.Number))
		}
		return []any{r}, nil
	}
}

// SetContact decides a change of the contact email, only by the usuario
// principal.
func SetContact(actor, email string) commands.Decide[State] {
	return func(s State, _ time.Time) ([]any, error) {
		const op = errs.Op("authorizations.SetContact")
		if !s.Registered {
			return nil, errs.E(op, errs.NotFound, "la autorización no existe")
		}
		if actor != s.UsuarioPrincipal {
			return nil, errs.E(op, errs.Forbidden, "solo el usuario principal puede cambiar los datos de contacto")
		}
		e, err := ident.ParseEmail(email)
		if err != nil {
			return nil, errs.E(op, errs.Invalid, errs.FieldError{Field: "email", Reason: reasonOf(err, "dirección de correo no válida")})
		}
		email = e.String()
		if email == s.ContactEmail {
			return nil, nil
		}
		return []any{ContactChanged{Email: email}}, nil
	}
}

// Membership is what a caller may act for: the autorizaciones whose users
// include the subject, narrowed by the token's claim when it has one.
func Membership(sub string, claim []string, all []State) []State {
	var out []State
	for _, s := range all {
		if !s.HasUser(sub) {
			continue
		}
		if claim != nil && !slices.Contains(claim, s.Number) {
			continue
		}
		out = append(out, s)
	}
	return out
}
