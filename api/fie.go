package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/clock"
	"redengine/commands"
	"redengine/domain/authorizations"
	"redengine/domain/fiecompany"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/fie/fier"
	"redengine/readmodels"
)

// XLSXType is the media type of the FIER workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxRecordsPerRequest bounds POST /v1/fie/records; files go to
// POST /v1/fie/imports.
const MaxRecordsPerRequest = 10_000

// FIE serves FIE 2.0 ingestion (role inss) and the FIER downloads (users of
// an autorización that manages the CCC, tramitadores, administrators).
type FIE struct {
	Ingest  *fiecompany.Ingester
	Exports *commands.Handler[fiecompany.ExportState]
	Dir     *Directory
	DB      readmodels.Queryer // readmodels.db (a readmodels.Prepared)
	Clock   clock.Clock
	Policy  fiecompany.Policy
	// TTL is how long a download stays available.
	TTL time.Duration
	// FilesDir holds the generated workbooks (<data dir>/fier).
	FilesDir string
	// Wait returns when the FIE read model has reached pos, or an
	// errs.Unavailable error after a bounded wait.
	Wait func(ctx context.Context, pos eventstore.Position) error
	// MaxFileBytes bounds an imported file (REDENGINE_MAX_IMPORT_BODY);
	// zero: the general body limit.
	MaxFileBytes int64
}

var (
	fieWriters  = []auth.Role{auth.INSS}
	fierReaders = []auth.Role{auth.Autorizado, auth.Tramitador, auth.Admin}
)

// Routes of the module.
func (m *FIE) Routes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/fie/imports", Roles: fieWriters, Summary: "Import a FIE 2.0 file", Handler: m.importFile, MaxBody: m.MaxFileBytes},
		{Method: http.MethodPost, Path: "/v1/fie/records", Roles: fieWriters, Summary: "Receive FIE records as JSON", Handler: m.records},
		{Method: http.MethodPost, Path: "/v1/fier/exports", Roles: fierReaders, Summary: "Generate a FIER download for a CCC and dates", Handler: m.createExport},
		{Method: http.MethodGet, Path: "/v1/fier/exports/:id", Roles: fierReaders, Summary: "A FIER download point", Handler: m.getExport},
		{Method: http.MethodGet, Path: "/v1/fier/exports/:id/download", Roles: fierReaders, Summary: "Download the FIER workbook", Handler: m.download},
	}
}

// ImportView is the answer to a file import.
type ImportView struct {
	Hash       string    `json:"hash"`
	FileDate   fie.Date  `json:"fileDate"`
	Companies  int       `json:"companies"`
	Workers    int       `json:"workers"`
	Records    int       `json:"records"`
	Duplicate  bool      `json:"duplicate"`
	Position   string    `json:"position"`
	ImportedAt time.Time `json:"importedAt"`
}

// fileProblem is the problem of a refused FIE file: the usual members plus
// every error with its line, segment and field.
type fileProblem struct {
	Problem
	LineErrors []fie.LineError `json:"lineErrors"`
	Truncated  bool            `json:"truncated,omitempty"`
}

func (m *FIE) importFile(c echo.Context) error {
	const op = errs.Op("api.fie.import")
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || (mt != "text/plain" && mt != "application/octet-stream") {
		return &statusError{status: http.StatusUnsupportedMediaType,
			err: errs.E(op, errs.Invalid, "el fichero FIE se envía como text/plain")}
	}
	meta, err := commandMeta(c, "")
	if err != nil {
		return err
	}
	// The file is parsed and hashed as it arrives: the engine never holds
	// its bytes, and the parse overlaps the upload.
	body := &uploadReader{r: req.Body}
	res, err := m.Ingest.ImportReader(req.Context(), body, meta)
	if body.err != nil {
		var mbe *http.MaxBytesError
		if errors.As(body.err, &mbe) {
			return &statusError{status: http.StatusRequestEntityTooLarge,
				err: errs.E(op, errs.Invalid, fmt.Sprintf("el fichero supera %d bytes (REDENGINE_MAX_IMPORT_BODY)", mbe.Limit))}
		}
		return errs.E(op, errs.Invalid, "no se pudo leer el fichero", body.err)
	}
	var pe *fie.ParseError
	if errors.As(err, &pe) {
		if !body.text {
			return errs.E(op, errs.Invalid, "el fichero FIE está vacío")
		}
		return m.refuse(c, pe)
	}
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, ImportView{Hash: res.Hash, FileDate: res.FileDate, Companies: res.Companies, Workers: res.Workers,
		Records: res.Records, Duplicate: res.Duplicate, Position: res.Position.String(), ImportedAt: res.ImportedAt.UTC()})
}

// uploadReader reads an uploaded file, noting whether it held anything
// but white space and the error that cut it short (not io.EOF).
type uploadReader struct {
	r    io.Reader
	text bool
	err  error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if !u.text && len(bytes.TrimSpace(p[:n])) > 0 {
		u.text = true
	}
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

// refuse answers 400 for a malformed file with every error found.
func (m *FIE) refuse(c echo.Context, pe *fie.ParseError) error {
	msg := fmt.Sprintf("fichero FIE rechazado entero: %d errores; no se ha guardado nada", len(pe.Errors))
	if len(pe.Errors) == 1 {
		msg = "fichero FIE rechazado entero: 1 error; no se ha guardado nada"
	}
	if pe.Truncated {
		msg = fmt.Sprintf("fichero FIE rechazado entero: más de %d errores (se muestran los primeros); no se ha guardado nada", len(pe.Errors))
	}
	err := errs.E(errs.Op("api.fie.import"), errs.Invalid, msg, pe.Fields())
	p := fileProblem{
		Problem:    ProblemOf(err, c.Response().Header().Get(echo.HeaderXRequestID), c.Request().URL.Path),
		LineErrors: pe.Errors,
		Truncated:  pe.Truncated,
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(http.StatusBadRequest)
	return jsonEncode(c.Response(), p)
}

// RecordsView is the answer to POST /v1/fie/records.
type RecordsView struct {
	fiecompany.Counts
	Position string `json:"position"`
}

func (m *FIE) records(c echo.Context) error {
	const op = errs.Op("api.fie.records")
	var raw json.RawMessage
	if err := decodeJSON(c, &raw); err != nil {
		return err
	}
	var recs []fie.Record
	single := false
	switch trimmed := bytes.TrimSpace(raw); {
	case len(trimmed) > 0 && trimmed[0] == '[':
		// Element by element, so that a decoding error names its record
		// ("[3].dit.startDate"), as validation errors do.
		var elems []json.RawMessage
		if err := decodeBytes(trimmed, &elems); err != nil {
			return err
		}
		recs = make([]fie.Record, len(elems))
		var fe errs.Fields
		for i, el := range elems {
			if err := decodeBytes(el, &recs[i]); err != nil {
				fields := errs.FieldsOf(err)
				if len(fields) == 0 {
					fields = errs.Fields{{Field: "", Reason: errs.MessageOf(err)}}
				}
				for _, f := range fields {
					fe.Add(strings.TrimSuffix(fmt.Sprintf("[%d].%s", i, f.Field), "."), f.Reason)
				}
			}
		}
		if len(fe) > 0 {
			return errs.E(op, errs.Invalid, "registros FIE no válidos; no se ha guardado ninguno", fe)
		}
	default:
		var r fie.Record
		if err := decodeBytes(trimmed, &r); err != nil {
			return err
		}
		recs, single = []fie.Record{r}, true
	}
	switch {
	case len(recs) == 0:
		return errs.E(op, errs.Invalid, "la lista de registros está vacía")
	case len(recs) > MaxRecordsPerRequest:
		return errs.E(op, errs.Invalid, fmt.Sprintf("como máximo %d registros por petición; para más, importe un fichero FIE", MaxRecordsPerRequest))
	}
	var fe errs.Fields
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			for _, f := range errs.FieldsOf(err) {
				if single {
					fe.Add(f.Field, f.Reason)
				} else {
					fe.Add(fmt.Sprintf("[%d].%s", i, f.Field), f.Reason)
				}
			}
		}
	}
	// A file may not repeat a worker's process (same fecha de baja of the
	// same NAF in the same company); nor may a list, by the same rule.
	type process struct {
		ccc, naf string
		start    fie.Date
	}
	first := make(map[process]int, len(recs))
	for i := range recs {
		if recs[i].DIT.Start.IsZero() {
			continue
		}
		k := process{recs[i].CCC, recs[i].NAF, recs[i].DIT.Start}
		if j, dup := first[k]; dup {
			fe.Add(fmt.Sprintf("[%d].dit.startDate", i), fmt.Sprintf("proceso repetido: el registro [%d] ya trae la baja del %s de este trabajador en esta empresa", j, k.start))
		} else {
			first[k] = i
		}
	}
	if len(fe) > 0 {
		return errs.E(op, errs.Invalid, "registros FIE no válidos; no se ha guardado ninguno", fe)
	}
	meta, err := commandMeta(c, "")
	if err != nil {
		return err
	}
	res, err := m.Ingest.ReceiveRecords(c.Request().Context(), recs, meta)
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	return created(c, RecordsView{Counts: res.Counts, Position: res.Position.String()})
}

// ExportRequest is the body of POST /v1/fier/exports.
type ExportRequest struct {
	CCC  string `json:"ccc"`
	From string `json:"from"`
	To   string `json:"to"`
	// Authorization is the autorización the user acts for; it may be left
	// out (the first of the user's autorizaciones that manages the CCC).
	Authorization string `json:"authorization,omitempty"`
}

// ExportView is a FIER download point.
type ExportView struct {
	ID            string    `json:"id"`
	CCC           string    `json:"ccc"`
	From          fie.Date  `json:"from"`
	To            fie.Date  `json:"to"`
	Records       int       `json:"records"`
	Authorization string    `json:"authorization,omitempty"`
	DownloadURL   string    `json:"downloadUrl"`
	GeneratedAt   time.Time `json:"generatedAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
	Bytes         int64     `json:"bytes"`
	SHA256        string    `json:"sha256"`
}

func exportView(s fiecompany.ExportState) ExportView {
	x := s.Export
	return ExportView{ID: x.ID, CCC: x.CCC, From: x.From, To: x.To, Records: x.Records, Authorization: x.Authorization,
		DownloadURL: "/v1/fier/exports/" + x.ID + "/download", GeneratedAt: s.GeneratedAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(),
		Bytes: x.Bytes, SHA256: x.SHA256}
}

func (m *FIE) createExport(c echo.Context) error {
	const op = errs.Op("api.fier.export")
	var in ExportRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var fe errs.Fields
	if r := fie.CheckCCC(in.CCC); r != "" {
		fe.Add("ccc", r)
	}
	from, err := fie.ParseDate(in.From)
	if err != nil {
		fe.Add("from", err.Error())
	}
	to, err := fie.ParseDate(in.To)
	if err != nil {
		fe.Add("to", err.Error())
	}
	if len(fe) > 0 {
		return errs.E(op, errs.Invalid, fe)
	}
	ctx := c.Request().Context()
	aut, err := m.access(c, in.CCC, in.Authorization)
	if err != nil {
		return err
	}
	if err := m.Policy.CheckRange(from, to); err != nil {
		return err
	}
	if err := waitForMin(c, m.Wait); err != nil {
		return err
	}
	meta, err := commandMeta(c, aut)
	if err != nil {
		return err
	}
	id := commands.DeriveID(meta.CommandID, fiecompany.ExportCategory)
	if prior, err := m.Exports.Load(ctx, id); err != nil {
		return err
	} else if prior.State.Generated {
		written(c, prior.Position, true)
		return created(c, exportView(prior.State))
	}
	n, err := readmodels.FIECount(ctx, m.DB, in.CCC, from, to)
	if err != nil {
		return err
	}
	if err := m.Policy.CheckCount(n); err != nil {
		return err
	}
	now := m.Clock.Now()
	m.sweep(now)
	expires := now.Add(m.TTL)
	// The file's name starts with its expiry, so sweep needs no lookups.
	file := strconv.FormatInt(expires.Unix(), 10) + "-" + id + ".xlsx"
	size, sum, rows, err := m.writeWorkbook(ctx, file, in.CCC, from, to, now)
	if err != nil {
		return err
	}
	res, err := m.Exports.Handle(ctx, id, meta, fiecompany.Generate(m.Policy, fiecompany.ExportGenerated{
		ID: id, CCC: in.CCC, From: from, To: to, Records: rows, Authorization: aut,
		File: file, Bytes: size, SHA256: sum, ExpiresAt: expires,
	}))
	if err != nil {
		os.Remove(filepath.Join(m.FilesDir, file))
		return err
	}
	written(c, res.Position, res.Duplicate)
	return created(c, exportView(res.State))
}

// writeWorkbook writes the FIER workbook of the query to FilesDir/file
// (through a temporary file, synced, then renamed) and returns its size,
// SHA-256 and number of rows. The rows are checked against the policy again:
// the read model may have moved since they were counted.
func (m *FIE) writeWorkbook(ctx context.Context, file, ccc string, from, to fie.Date, now time.Time) (int64, string, int, error) {
	const op = errs.Op("api.fier.write")
	if err := os.MkdirAll(m.FilesDir, 0o750); err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, "no se puede crear el directorio de descargas", err)
	}
	tmp, err := os.CreateTemp(m.FilesDir, file+".*.tmp")
	if err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, "no se puede crear el fichero de descarga", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	limit := 0
	if m.Policy.MaxRecords > 0 {
		limit = m.Policy.MaxRecords + 1
	}
	rows := readmodels.FIERecordsOnly(readmodels.FIERecords(ctx, m.DB, ccc, from, to, limit))
	n, err := fier.WriteFIER(bw, rows, fier.Meta{CCC: ccc, From: from, To: to, GeneratedAt: now})
	if err != nil {
		return 0, "", 0, err
	}
	if err := m.Policy.CheckCount(n); err != nil {
		return 0, "", 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(m.FilesDir, file)); err != nil {
		return 0, "", 0, errs.E(op, errs.Unavailable, err)
	}
	return cw.n, hex.EncodeToString(h.Sum(nil)), n, nil
}

// sweep removes the workbooks that expired before now (their names start
// with their expiry as Unix seconds) and temporary files left by a crash
// more than a TTL ago. Failures are ignored: the next export tries again.
func (m *FIE) sweep(now time.Time) {
	entries, err := os.ReadDir(m.FilesDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		exp, _, ok := strings.Cut(name, "-")
		if !ok {
			continue
		}
		sec, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			continue
		}
		if strings.HasSuffix(name, ".tmp") {
			sec += int64(m.TTL / time.Second) // a temporary file is named as its workbook would be
		}
		if time.Unix(sec, 0).Before(now) {
			os.Remove(filepath.Join(m.FilesDir, name))
		}
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// access checks that the caller may query ccc and returns the autorización
// it acts for: an autorizado must be a user of an autorización that manages
// the CCC (the named one, or the first such of its own); tramitadores and
// administrators may query any CCC.
func (m *FIE) access(c echo.Context, ccc, requested string) (string, error) {
	const op = errs.Op("api.fier.access")
	p, _ := principalOf(c)
	ctx := c.Request().Context()
	var candidates []string
	if requested != "" {
		n, err := authorizations.NormalizeNumber(requested)
		if err != nil {
			return "", errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization", Reason: "número de autorización no válido"})
		}
		requested = n
		candidates = []string{requested}
	} else {
		nums, err := readmodels.AuthorizationsManagingCCC(ctx, m.DB, ccc)
		if err != nil {
			return "", err
		}
		candidates = nums
	}
	if p.Role != auth.Autorizado {
		if requested == "" {
			return "", nil
		}
		l, err := m.Dir.Handler.Load(ctx, requested)
		if err != nil {
			return "", err
		}
		if !l.State.Registered || !l.State.ManagesCCC(ccc) {
			return "", errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization", Reason: "la autorización no existe o no gestiona el CCC " + ccc})
		}
		return requested, nil
	}
	for _, n := range candidates {
		if p.Autorizaciones != nil && !slices.Contains(p.Autorizaciones, n) {
			continue
		}
		l, err := m.Dir.Handler.Load(ctx, n)
		if err != nil {
			return "", err
		}
		if l.State.Registered && l.State.HasUser(p.Subject) && l.State.ManagesCCC(ccc) {
			return n, nil
		}
	}
	if requested != "" {
		return "", errs.E(op, errs.Forbidden, "no actúa por una autorización "+requested+" que gestione el CCC "+ccc)
	}
	return "", errs.E(op, errs.Forbidden, "ninguna autorización del usuario gestiona el CCC "+ccc)
}

// loadExport returns a download point the caller may see.
func (m *FIE) loadExport(c echo.Context) (commands.Loaded[fiecompany.ExportState], error) {
	const op = errs.Op("api.fier.load")
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return commands.Loaded[fiecompany.ExportState]{}, errs.E(op, errs.NotFound, "la descarga no existe")
	}
	l, err := m.Exports.Load(c.Request().Context(), id)
	if err != nil {
		return l, err
	}
	if !l.State.Generated {
		return l, errs.E(op, errs.NotFound, "la descarga no existe")
	}
	if _, err := m.access(c, l.State.Export.CCC, ""); err != nil {
		return l, err
	}
	return l, nil
}

func (m *FIE) getExport(c echo.Context) error {
	l, err := m.loadExport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, exportView(l.State))
}

func (m *FIE) download(c echo.Context) error {
	const op = errs.Op("api.fier.download")
	l, err := m.loadExport(c)
	if err != nil {
		return err
	}
	x := l.State.Export
	path := filepath.Join(m.FilesDir, filepath.Base(x.File))
	if l.State.Expired(m.Clock.Now()) {
		os.Remove(path)
		return &statusError{status: http.StatusGone, err: errs.E(op, errs.NotFound,
			fmt.Sprintf("la descarga caducó el %s; haga una nueva consulta", x.ExpiresAt.UTC().Format(time.RFC3339)))}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &statusError{status: http.StatusGone, err: errs.E(op, errs.NotFound, "el fichero de descarga ya no está disponible; haga una nueva consulta")}
	}
	if err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	defer f.Close()
	h := c.Response().Header()
	name := fmt.Sprintf("FIER_%s_%s_%s.xlsx", x.CCC, x.From.FIE(), x.To.FIE())
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set(echo.HeaderContentLength, strconv.FormatInt(x.Bytes, 10))
	h.Set("ETag", `"`+x.SHA256+`"`)
	h.Set("Cache-Control", "private, no-store")
	return c.Stream(http.StatusOK, XLSXType, f)
}
