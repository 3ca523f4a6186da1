package cluster

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// authServer starts an embedded server that requires what set puts in its
// config, stopped at the end of the test, and returns its URL.
func authServer(t *testing.T, set func(*config)) string {
	t.Helper()
	cfg := defaultConfig()
	cfg.storeDir = t.TempDir()
	set(&cfg)
	srv, err := startEmbedded(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.shutdown)
	return srv.url()
}

// TestAuthMismatch: a worker whose identity the server does not take, in
// any way (wrong secret, or a kind of credentials the server does not ask
// for), fails Run with ErrAuth, the nats.go error that says why, and the
// server's words.
func TestAuthMismatch(t *testing.T) {
	seed, otherSeed := userSeeds(t)
	tokenURL := authServer(t, func(c *config) { c.token = testToken })
	nkeyURL := authServer(t, func(c *config) { c.nkeySeed = string(seed) })
	userURL := authServer(t, func(c *config) { c.user, c.password = "alice", "pw" })
	for name, tc := range map[string]struct {
		url   string
		opts  []WorkerOption
		cause error
		words string
	}{
		"nkey vs token server":     {tokenURL, []WorkerOption{WithNKeySeed(string(seed))}, nats.ErrNkeysNotSupported, "nkeys not supported"},
		"nkey vs user server":      {userURL, []WorkerOption{WithNKeySeed(string(seed))}, nats.ErrNkeysNotSupported, "nkeys not supported"},
		"token vs nkey server":     {nkeyURL, []WorkerOption{WithToken(testToken)}, nats.ErrAuthorization, "authorization violation"},
		"password vs token server": {tokenURL, []WorkerOption{WithUserPassword("alice", "pw")}, nats.ErrAuthorization, "authorization violation"},
		"password vs nkey server":  {nkeyURL, []WorkerOption{WithUserPassword("alice", "pw")}, nats.ErrAuthorization, "authorization violation"},
		"wrong token":              {tokenURL, []WorkerOption{WithToken("wrong")}, nats.ErrAuthorization, "authorization violation"},
		"wrong nkey":               {nkeyURL, []WorkerOption{WithNKeySeed(string(otherSeed))}, nats.ErrAuthorization, "authorization violation"},
		"wrong password":           {userURL, []WorkerOption{WithUserPassword("alice", "wrong")}, nats.ErrAuthorization, "authorization violation"},
		"no credentials":           {tokenURL, nil, nats.ErrAuthorization, "authorization violation"},
		"TLS vs plain server": {tokenURL, []WorkerOption{WithToken(testToken), WithTLS(&tls.Config{MinVersion: tls.VersionTLS12})},
			nats.ErrSecureConnWanted, "secure connection not available"},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := NewWorker(testReg, append([]WorkerOption{WithURL(tc.url)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Run(waitCtx(t))
			if !errors.Is(err, ErrAuth) || !errors.Is(err, tc.cause) {
				t.Fatalf("Run: %v; want ErrAuth and %v", err, tc.cause)
			}
			if !strings.Contains(strings.ToLower(err.Error()), tc.words) {
				t.Fatalf("Run: %v; does not say %q", err, tc.words)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), string(seed)) {
				t.Fatalf("Run: %v; shows a secret", err)
			}
		})
	}
}

// TestAuthErrClassification: what isAuthErr takes for a refusal of the
// identity offered, and what it leaves to other errors.
func TestAuthErrClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nats.ErrAuthorization, true},
		{nats.ErrNkeysNotSupported, true},
		{nats.ErrNoUserCB, true},
		{nats.ErrSecureConnWanted, true},
		{errors.Join(nats.ErrTLS, errors.New("x509: certificate signed by unknown authority")), true},
		{errors.New("remote error: tls: certificate required"), true},
		{nats.ErrNoServers, false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		{nats.ErrTimeout, false},
	} {
		if got := isAuthErr(tc.err); got != tc.want {
			t.Errorf("isAuthErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// userSeeds returns the seeds of two new NKey users.
func userSeeds(t *testing.T) (seed, other []byte) {
	t.Helper()
	a, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	b, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ = a.Seed()
	other, _ = b.Seed()
	return seed, other
}
