package cluster

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// embedded is an in-process nats-server with JetStream.
type embedded struct {
	srv    *server.Server
	tmpDir string // removed at shutdown; "" if the user chose the directory
}

// maxPayload is the embedded server's maximum message size: chunks of many
// items travel as one message.
const maxPayload = 8 << 20

// startEmbedded starts the server and waits until it accepts connections.
// cfg must have credentials (New generates a token if none were given).
func startEmbedded(cfg *config) (*embedded, error) {
	host, portStr, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: bad listen address %q: %w", cfg.listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: bad listen port %q: %w", portStr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	e := &embedded{}
	dir := cfg.storeDir
	if dir == "" {
		if e.tmpDir, err = os.MkdirTemp("", "gofutures-jetstream-"); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		dir = e.tmpDir
	}
	opts := &server.Options{
		ServerName: "gofutures-" + cfg.name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: maxPayload,
	}
	switch {
	case cfg.token != "":
		opts.Authorization = cfg.token
	case cfg.user != "":
		opts.Username, opts.Password = cfg.user, cfg.password
	case cfg.nkeySeed != "":
		kp, err := nkeys.FromSeed([]byte(cfg.nkeySeed))
		if err != nil {
			e.cleanup()
			return nil, fmt.Errorf("cluster: bad nkey seed: %w", err)
		}
		pub, _ := kp.PublicKey()
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if cfg.serverTLS != nil {
		opts.TLS = true
		opts.TLSConfig = cfg.serverTLS.Clone()
		opts.TLSTimeout = 2
		opts.TLSVerify = cfg.serverTLS.ClientCAs != nil
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		e.cleanup()
		return nil, fmt.Errorf("cluster: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		e.cleanup()
		return nil, fmt.Errorf("cluster: embedded server not ready after 10s")
	}
	e.srv = srv
	return e, nil
}

// url is the address for other processes.
func (e *embedded) url() string { return e.srv.ClientURL() }

func (e *embedded) shutdown() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
	e.cleanup()
}

func (e *embedded) cleanup() {
	if e.tmpDir != "" {
		_ = os.RemoveAll(e.tmpDir)
	}
}
