// Command sanxiang-login is the login and consent application of the local platform's
// Ory Hydra: Hydra runs the OAuth 2.0 / OpenID Connect protocol and delegates "who is
// this person" to an application like this one (in a province, the government's unified
// identity system plays this part).
//
// It reads one JSON file holding the sample users (user name, password, subject, groups)
// and the OAuth 2.0 clients to register with Hydra at start (created or updated through
// Hydra's admin API, so a restart with a changed file takes effect). Login checks the
// password and accepts the login with the user's subject; consent is granted for the
// scopes and audiences requested (first-party clients only) and puts the user's groups
// and name into the access and ID tokens, where the tenant service maps groups to roles.
//
// Only the Go standard library is used. Passwords are compared in constant time; the
// users file is for local runs and tests, never a production directory.
package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"time"
)

type user struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Subject  string   `json:"subject"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
}

type config struct {
	Users   []user            `json:"users"`
	Clients []json.RawMessage `json:"clients"`
}

type app struct {
	admin string
	cfg   config
	http  *http.Client
}

var form = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>登录 · Sanxiang</title></head>
<body><h1>三项制度平台 · 登录</h1>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="challenge" value="{{.Challenge}}">
<label>用户名 <input name="username" id="username" autocomplete="username"></label>
<label>密码 <input name="password" id="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="submit">登录</button>
</form></body></html>`))

func main() {
	listen := flag.String("listen", "127.0.0.1:4446", "address to listen on")
	admin := flag.String("hydra-admin", "http://127.0.0.1:4445", "Hydra's admin URL")
	users := flag.String("users", "", "JSON file with users and clients")
	flag.Parse()
	raw, err := os.ReadFile(*users)
	if err != nil {
		log.Fatalf("reading -users: %v", err)
	}
	a := &app{admin: *admin, http: &http.Client{Timeout: 10 * time.Second}}
	if err := json.Unmarshal(raw, &a.cfg); err != nil {
		log.Fatalf("%s: %v", *users, err)
	}
	for _, c := range a.cfg.Clients {
		if err := a.registerClient(c); err != nil {
			log.Fatalf("registering client: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /consent", a.consent)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("login and consent app on %s (Hydra admin %s, %d users)", *listen, *admin, len(a.cfg.Users))
	log.Fatal(srv.ListenAndServe())
}

// registerClient creates the client, or replaces it when it exists.
func (a *app) registerClient(c json.RawMessage) error {
	var id struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(c, &id); err != nil || id.ClientID == "" {
		return fmt.Errorf("a client needs client_id: %s", c)
	}
	status, _, err := a.call("GET", "/admin/clients/"+url.PathEscape(id.ClientID), nil, nil)
	if err != nil {
		return err
	}
	method, path := "POST", "/admin/clients"
	if status == http.StatusOK {
		method, path = "PUT", "/admin/clients/"+url.PathEscape(id.ClientID)
	}
	status, body, err := a.call(method, path, c, nil)
	if err != nil {
		return err
	}
	if status >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, status, body)
	}
	log.Printf("client %s registered (%s)", id.ClientID, method)
	return nil
}

// call sends JSON to Hydra's admin API and decodes the answer into out (if given).
func (a *app) call(method, path string, in any, out any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.admin+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, b, nil
}

type flowRequest struct {
	Skip                         bool     `json:"skip"`
	Subject                      string   `json:"subject"`
	RequestedScope               []string `json:"requested_scope"`
	RequestedAccessTokenAudience []string `json:"requested_access_token_audience"`
}

type redirect struct {
	RedirectTo string `json:"redirect_to"`
}

func (a *app) fail(w http.ResponseWriter, status int, msg string, err error) {
	log.Printf("%s: %v", msg, err)
	http.Error(w, msg, status)
}

func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	if challenge == "" {
		http.Error(w, "login_challenge is missing", http.StatusBadRequest)
		return
	}
	var req flowRequest
	q := "?login_challenge=" + url.QueryEscape(challenge)
	if status, body, err := a.call("GET", "/admin/oauth2/auth/requests/login"+q, nil, &req); err != nil || status != http.StatusOK {
		a.fail(w, http.StatusBadGateway, "Hydra does not know this login request", fmt.Errorf("%v %s", err, body))
		return
	}
	if req.Skip {
		a.acceptLogin(w, r, challenge, req.Subject)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	form.Execute(w, map[string]string{"Challenge": challenge})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	challenge := r.PostForm.Get("challenge")
	name, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	for _, u := range a.cfg.Users {
		if u.Username == name && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			a.acceptLogin(w, r, challenge, u.Subject)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	form.Execute(w, map[string]string{"Challenge": challenge, "Error": "用户名或密码错误 (wrong user name or password)"})
}

func (a *app) acceptLogin(w http.ResponseWriter, r *http.Request, challenge, subject string) {
	var out redirect
	q := "?login_challenge=" + url.QueryEscape(challenge)
	accept := map[string]any{"subject": subject, "remember": false}
	if status, body, err := a.call("PUT", "/admin/oauth2/auth/requests/login/accept"+q, accept, &out); err != nil || status != http.StatusOK {
		a.fail(w, http.StatusBadGateway, "Hydra refused to accept the login", fmt.Errorf("%v %s", err, body))
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

func (a *app) consent(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("consent_challenge")
	q := "?consent_challenge=" + url.QueryEscape(challenge)
	var req flowRequest
	if status, body, err := a.call("GET", "/admin/oauth2/auth/requests/consent"+q, nil, &req); err != nil || status != http.StatusOK {
		a.fail(w, http.StatusBadGateway, "Hydra does not know this consent request", fmt.Errorf("%v %s", err, body))
		return
	}
	var found *user
	for i := range a.cfg.Users {
		if a.cfg.Users[i].Subject == req.Subject {
			found = &a.cfg.Users[i]
		}
	}
	if found == nil {
		http.Error(w, "the signed-in subject is no longer a user", http.StatusForbidden)
		return
	}
	claims := map[string]any{"groups": found.Groups, "name": found.Name, "preferred_username": found.Username}
	accept := map[string]any{
		"grant_scope":                 req.RequestedScope,
		"grant_access_token_audience": req.RequestedAccessTokenAudience,
		"remember":                    false,
		"session":                     map[string]any{"access_token": claims, "id_token": claims},
	}
	var out redirect
	if status, body, err := a.call("PUT", "/admin/oauth2/auth/requests/consent/accept"+q, accept, &out); err != nil || status != http.StatusOK {
		a.fail(w, http.StatusBadGateway, "Hydra refused to accept the consent", fmt.Errorf("%v %s", err, body))
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}
