package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the same driver as the product's store
)

// bareCode is the one link of the bare server.
const bareCode = "BARE2345"

// bareServer is the yardstick: what a redirect and a conversion cost when
// a server does nothing but the essential work.
type bareServer struct {
	links  map[string]string // code → landing page with ref
	db     *sql.DB
	insert *sql.Stmt
	seq    atomic.Uint64
}

// runBare serves the bare server on a loopback address until SIGINT or
// SIGTERM, printing "listening on http://…" once it accepts connections.
func runBare(args []string) error {
	fs := flag.NewFlagSet("load bare", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	dataDir := fs.String("data", "", "directory for the SQLite file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("-listen %q: give a loopback address and port, such as 127.0.0.1:0", *listen)
	}
	if *dataDir == "" {
		return errors.New("-data is required")
	}
	b, err := openBare(filepath.Join(*dataDir, "bare.db"))
	if err != nil {
		return err
	}
	defer b.db.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: b.handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openBare opens the SQLite file as the product does (WAL, synchronous
// NORMAL, one writer connection) with a one-table schema.
func openBare(path string) (*bareServer, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS conversions (id TEXT PRIMARY KEY, referral_id TEXT NOT NULL, event TEXT NOT NULL,
		amount INTEGER, currency TEXT, external_id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	ins, err := db.Prepare(`INSERT INTO conversions (id, referral_id, event, amount, currency, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &bareServer{links: map[string]string{bareCode: "https://example.com/pricing?ref=" + bareCode}, db: db, insert: ins}, nil
}

func (b *bareServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{code}", func(w http.ResponseWriter, r *http.Request) {
		target, ok := b.links[r.PathValue("code")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "ref", Value: r.PathValue("code"), Path: "/", MaxAge: 30 * 86400, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusFound)
	})
	mux.HandleFunc("POST /v1/conversions", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ReferralID string `json:"referralId"`
			Event      string `json:"event"`
			Amount     *struct {
				Amount   int64  `json:"amount"`
				Currency string `json:"currency"`
			} `json:"amount"`
			ExternalID string `json:"externalId"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Amount == nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		id := "cnv_" + strconv.FormatUint(b.seq.Add(1), 10)
		if _, err := b.insert.ExecContext(r.Context(), id, in.ReferralID, in.Event, in.Amount.Amount, in.Amount.Currency, in.ExternalID,
			time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v1/conversions/"+id)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "referralId": in.ReferralID, "event": in.Event, "amount": in.Amount, "externalId": in.ExternalID})
	})
	return mux
}
