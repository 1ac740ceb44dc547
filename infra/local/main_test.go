package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server is the real local binary running on a free loopback port.
type server struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
}

// lockedBuffer collects the server's output, written by exec's copying
// goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T, bin, dataDir string, env ...string) *server {
	t.Helper()
	return startWith(t, bin, dataDir, nil, env...)
}

func startWith(t *testing.T, bin, dataDir string, args []string, env ...string) *server {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append(env, fmt.Sprintf("PORT=%d", port), "DATA_DIR="+dataDir, "LOG_LEVEL=WARN",
		"BOOTSTRAP_ADMIN_EMAIL=owner@example.com", "PUBLIC_BASE_URL=")...)
	s := &server{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &lockedBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	for i := 0; i < 1200; i++ {
		if r, err := http.Get(s.base + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start: %s", s.stderr)
	return nil
}

// stop ends the server as an operator would (SIGTERM) and waits for it.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exited with %v: %s", err, s.stderr)
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Error("server did not stop on SIGTERM")
	}
}

func (s *server) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (s *server) login(t *testing.T, password string) string {
	t.Helper()
	status, m := s.call(t, "POST", "/v1/auth/login", "", `{"email":"owner@example.com","password":"`+password+`"}`)
	if status != 200 {
		t.Fatalf("login: %d %v", status, m)
	}
	return m["token"].(string)
}

// TestServerKeepsDataAcrossRestarts runs the product as a newcomer does:
// a first start without a password prints a generated one once; data
// written then is there after a restart, which prints no password again.
func TestServerKeepsDataAcrossRestarts(t *testing.T) {
	bin := buildServer(t)
	data := t.TempDir()

	first := start(t, bin, data)
	m := regexp.MustCompile(`Log in as owner@example.com with the generated password (\S+)`).FindStringSubmatch(first.stderr.String())
	if m == nil {
		t.Fatalf("first start printed no generated password:\n%s", first.stderr)
	}
	password := m[1]
	token := first.login(t, password)
	status, prog := first.call(t, "POST", "/v1/programs", token, `{"name":"Kept","landingUrl":"https://example.com","currency":"USD",
		"startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["signup"],
		"commission":{"type":"flat","amount":1000}}`)
	if status != 201 {
		t.Fatalf("create program: %d %v", status, prog)
	}
	first.stop(t)

	second := start(t, bin, data)
	if strings.Contains(second.stderr.String(), "generated password") {
		t.Fatalf("restart printed a password again:\n%s", second.stderr)
	}
	token = second.login(t, password)
	status, got := second.call(t, "GET", "/v1/programs/"+prog["id"].(string), token, "")
	if status != 200 || got["name"] != "Kept" {
		t.Fatalf("after restart: %d %v", status, got)
	}
	sc := bufio.NewScanner(strings.NewReader(second.stderr.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "is running at") && !strings.Contains(sc.Text(), second.base[len("http://127.0.0.1"):]) {
			t.Errorf("banner does not name the port: %s", sc.Text())
		}
	}
}

func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestPipelineEndToEnd runs the product both ways — embedded (SQLite
// outbox, in-process queue) and AWS-local (DynamoDB Local's stream, the
// stream-router handler, local-aws-sqs, the commission-calculator handler)
// — with every third calculator delivery failing, before or after doing its
// work. Conversions posted to the API must each end as exactly one
// commission of the right amount: nothing lost, nothing doubled.
func TestPipelineEndToEnd(t *testing.T) {
	bin := buildServer(t)
	for _, mode := range []struct {
		name string
		args []string
	}{{"embedded", nil}, {"aws-local", []string{"-aws"}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startWith(t, bin, t.TempDir(), mode.args, "BOOTSTRAP_ADMIN_PASSWORD=pipeline-password", faultEnv+"=3")
			token := s.login(t, "pipeline-password")
			status, prog := s.call(t, "POST", "/v1/programs", token, `{"name":"E2E","landingUrl":"https://example.com","currency":"USD",
				"startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["purchase"],
				"commission":{"type":"percentage","rateBps":1000}}`)
			if status != 201 {
				t.Fatalf("program: %d %v", status, prog)
			}
			pid := prog["id"].(string)
			if status, m := s.call(t, "POST", "/v1/programs/"+pid+"/activate", token, ""); status != 200 {
				t.Fatalf("activate: %d %v", status, m)
			}
			status, ref := s.call(t, "POST", "/v1/programs/"+pid+"/referrers", token, `{"email":"jane@example.com"}`)
			if status != 201 {
				t.Fatalf("referrer: %d %v", status, ref)
			}
			want := map[string]float64{}
			const n = 8
			for i := 1; i <= n; i++ {
				body := fmt.Sprintf(`{"code":%q,"email":"buyer%d@example.org","event":"purchase","amount":%d,"externalId":"order-%d"}`, ref["code"], i, i*1005, i)
				status, c := s.call(t, "POST", "/v1/conversions", token, body)
				if status != 201 {
					t.Fatalf("conversion %d: %d %v", i, status, c)
				}
				// 10 % of i×1005, rounded half away from zero.
				want[c["id"].(string)] = float64((i*1005*1000 + 5000) / 10000)
			}
			got := map[string]float64{}
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) {
				got = commissionsByConversion(t, s, token)
				if len(got) >= n {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			// Give redeliveries time to (wrongly) double something.
			time.Sleep(2 * time.Second)
			got = commissionsByConversion(t, s, token)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("commissions by conversion = %v\nwant %v\nserver log:\n%s", got, want, s.stderr)
			}
			log := s.stderr.String()
			if !strings.Contains(log, "injected fault before handling") || !strings.Contains(log, "injected fault after handling") {
				t.Fatalf("no fault of both kinds was injected:\n%s", log)
			}
		})
	}
}

// commissionsByConversion lists commissions as conversionId → amount; a
// conversion with two commissions fails the test.
func commissionsByConversion(t *testing.T, s *server, token string) map[string]float64 {
	t.Helper()
	status, m := s.call(t, "GET", "/v1/commissions?limit=200", token, "")
	if status != 200 {
		t.Fatalf("list commissions: %d %v", status, m)
	}
	out := map[string]float64{}
	items, _ := m["items"].([]any)
	for _, it := range items {
		c := it.(map[string]any)
		id := c["conversionId"].(string)
		if _, dup := out[id]; dup {
			t.Fatalf("conversion %s has two commissions: %v", id, items)
		}
		out[id] = c["amount"].(map[string]any)["amount"].(float64)
	}
	return out
}
