package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"lechat/api"
	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// smtpSink is an SMTP server's backend that keeps every message it is given.
type smtpSink struct {
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte   // the message as sent, headers and body
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sink: s}, nil }

func (s *smtpSink) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

type smtpSession struct {
	sink *smtpSink
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.msgs = append(s.sink.msgs, smtpMessage{From: s.from, To: s.to, Data: b})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// startSMTP runs an SMTP server on a free port of 127.0.0.1 until the test ends.
func startSMTP(t *testing.T) (*smtpSink, int) {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "mx.lechat.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("smtp server: %v", err)
		}
	})
	return sink, l.Addr().(*net.TCPAddr).Port
}

// failures wraps a Mailer and keeps its errors, which the service only logs.
type failures struct {
	service.Mailer
	mu   sync.Mutex
	errs []error
}

func (f *failures) Send(ctx context.Context, m model.Mail) error {
	err := f.Mailer.Send(ctx, m)
	if err != nil {
		f.mu.Lock()
		f.errs = append(f.errs, err)
		f.mu.Unlock()
	}
	return err
}

func (f *failures) all() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errs)
}

// entity is one MIME entity: a leaf with its decoded body, or a multipart with
// its parts.
type entity struct {
	mediaType string
	params    map[string]string
	body      []byte
	parts     []entity
}

type headerGetter interface{ Get(string) string }

// parseEntity reads an entity with header h from body, decoding its transfer
// encoding and descending into multipart bodies.
func parseEntity(t *testing.T, h headerGetter, body io.Reader) entity {
	t.Helper()
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ct, err)
	}
	e := entity{mediaType: mt, params: params}
	if strings.HasPrefix(mt, "multipart/") {
		if params["boundary"] == "" {
			t.Fatalf("%s without a boundary", mt)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: the transfer encoding is ours to undo
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", mt, err)
			}
			e.parts = append(e.parts, parseEntity(t, p.Header, p))
		}
		return e
	}
	var r io.Reader
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		t.Fatalf("unknown Content-Transfer-Encoding %q", cte)
	}
	if e.body, err = io.ReadAll(r); err != nil {
		t.Fatalf("decode %s body: %v", mt, err)
	}
	return e
}

// findAlternative returns the first multipart/alternative in e's tree.
func findAlternative(e entity) (entity, bool) {
	if e.mediaType == "multipart/alternative" {
		return e, true
	}
	for _, p := range e.parts {
		if a, ok := findAlternative(p); ok {
			return a, true
		}
	}
	return entity{}, false
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// activationLinks returns the links under publicURL in a decoded text or HTML body.
func activationLinks(body string, isHTML bool, publicURL string) []string {
	var candidates []string
	if isHTML {
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			candidates = append(candidates, html.UnescapeString(m[1]))
		}
	} else {
		candidates = strings.Fields(body)
	}
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, publicURL+"/activate") {
			out = append(out, c)
		}
	}
	return out
}

func TestActivationOverSMTP(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		sink, port := startSMTP(t)
		mailer, err := service.NewSMTPMailer(service.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none",
			From: "LeChat <no-reply@lechat.test>", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		sent := &failures{Mailer: mailer}
		const publicURL = "http://lechat.test"
		acc, err := service.NewAccounts(db, service.AccountsConfig{JWTSecret: servicetest.Secret,
			TokenTTL: time.Hour, ActivationTTL: 24 * time.Hour, ResendCooldown: time.Minute,
			BcryptCost: bcrypt.MinCost, PublicURL: publicURL + "/"}, sent, servicetest.Logger())
		if err != nil {
			t.Fatal(err)
		}
		ts := &testServer{DB: db, Acc: acc}
		ts.URL, ts.Client = startServer(t, api.Options{Log: servicetest.Logger(), Accounts: acc,
			Health: func(context.Context) error { return nil }})

		name := servicetest.Unique("smtp")
		email := name + "@example.com"
		u := ts.register(t, name, email, servicetest.Password, "小明")

		// The mail left during the request: the server has it by now.
		msgs := sink.messages()
		if len(msgs) != 1 {
			t.Fatalf("the SMTP server received %d messages, want 1; mailer errors: %v", len(msgs), sent.all())
		}
		got := msgs[0]
		if got.From != "no-reply@lechat.test" || len(got.To) != 1 || got.To[0] != email {
			t.Errorf("envelope MAIL FROM %q RCPT TO %q, want no-reply@lechat.test and %s", got.From, got.To, email)
		}

		msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
		if err != nil {
			t.Fatalf("parse message: %v\n%s", err, got.Data)
		}
		from, err := mail.ParseAddress(msg.Header.Get("From"))
		if err != nil || from.Name != "LeChat" || from.Address != "no-reply@lechat.test" {
			t.Errorf("From %q (%v), want LeChat <no-reply@lechat.test>", msg.Header.Get("From"), err)
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != email {
			t.Errorf("To %q (%v), want %s", msg.Header.Get("To"), err, email)
		}
		rawSubject := msg.Header.Get("Subject")
		for _, r := range rawSubject {
			if r > 127 {
				t.Errorf("the Subject header is not ASCII: %q", rawSubject)
				break
			}
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
		if want := "激活你的乐聊账号 · Activate your LeChat account"; err != nil || subject != want {
			t.Errorf("Subject %q decodes to %q (%v), want %q", rawSubject, subject, err, want)
		}
		if msg.Header.Get("Date") == "" || msg.Header.Get("Message-ID") == "" {
			t.Errorf("no Date or Message-ID: %v", msg.Header)
		}
		if v := msg.Header.Get("MIME-Version"); v != "1.0" {
			t.Errorf("MIME-Version %q", v)
		}

		alt, ok := findAlternative(parseEntity(t, msg.Header, msg.Body))
		if !ok {
			t.Fatalf("no multipart/alternative in:\n%s", got.Data)
		}
		var text, htmlBody string
		for _, p := range alt.parts {
			if cs := strings.ToLower(p.params["charset"]); cs != "utf-8" {
				t.Errorf("%s part in charset %q, want utf-8", p.mediaType, cs)
			}
			switch p.mediaType {
			case "text/plain":
				text = string(p.body)
			case "text/html":
				htmlBody = string(p.body)
			}
		}
		if text == "" || htmlBody == "" {
			t.Fatalf("the alternative lacks a text/plain or a text/html part:\n%s", got.Data)
		}
		if !strings.Contains(text, "小明，你好！") || !strings.Contains(htmlBody, "小明，你好！") {
			t.Errorf("the parts do not greet 小明 in clear UTF-8:\ntext: %s\nhtml: %s", text, htmlBody)
		}

		textLinks := activationLinks(text, false, publicURL)
		htmlLinks := activationLinks(htmlBody, true, publicURL)
		if len(textLinks) == 0 || len(htmlLinks) == 0 {
			t.Fatalf("activation links: text %q, html %q", textLinks, htmlLinks)
		}
		for _, l := range append(textLinks[1:], htmlLinks...) {
			if l != textLinks[0] {
				t.Errorf("the links differ: text %q, html %q", textLinks, htmlLinks)
			}
		}
		link, err := url.Parse(textLinks[0])
		if err != nil {
			t.Fatalf("parse link %q: %v", textLinks[0], err)
		}
		token := link.Query().Get("token")
		if link.Scheme != "http" || link.Host != "lechat.test" || link.Path != "/activate" ||
			!regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`).MatchString(token) {
			t.Fatalf("link %q, want http://lechat.test/activate?token=…", textLinks[0])
		}

		r := ts.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": token})
		expectStatus(t, r, http.StatusOK)
		var act userEnvelope
		decodeStrict(t, r.Body, &act)
		if act.User.ID != u.ID || !act.User.Activated {
			t.Errorf("activated %+v, want user %d active", act.User, u.ID)
		}
		if res := ts.login(t, email, servicetest.Password); res.User.ID != u.ID {
			t.Errorf("login as user %d, want %d", res.User.ID, u.ID)
		}
		r = ts.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": token})
		expectError(t, r, http.StatusBadRequest, "invalid_request", "token")
		if n := len(sink.messages()); n != 1 {
			t.Errorf("%d messages after activation, want 1", n)
		}
	})
}
