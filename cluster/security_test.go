package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
)

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gofutures test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func TestTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ex := newTestExecutor(t, WithServerTLS(srvTLS), WithTLS(cliTLS))
	ctx := waitCtx(t)
	startWorker(t, ex.URL(), WithTLS(cliTLS))
	f, err := executor.Call(ctx, ex, square, 6)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != 36 {
		t.Fatalf("over TLS: %d, %v", v, err)
	}
	// Without the CA the worker cannot verify the server: refused.
	w, err := NewWorker(testReg, WithURL(ex.URL()), WithToken(testToken), WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(ctx); !errors.Is(err, ErrAuth) {
		t.Fatalf("worker without the CA: %v, want ErrAuth", err)
	}
}

func TestNKeyAndUserPassword(t *testing.T) {
	seed, otherSeed := userSeeds(t)
	for name, tc := range map[string]struct{ good, bad Option }{
		"nkey":     {WithNKeySeed(string(seed)), WithNKeySeed(string(otherSeed))},
		"password": {WithUserPassword("alice", "pw"), WithUserPassword("alice", "wrong")},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := waitCtx(t)
			ex, err := New(ctx, testReg, WithStoreDir(t.TempDir()), tc.good)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ex.Stop(context.Background()) }()
			w, err := NewWorker(testReg, WithURL(ex.URL()), tc.good)
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- w.Run(wctx) }()
			f, err := executor.Call(ctx, ex, square, 2)
			if err != nil {
				t.Fatal(err)
			}
			v, err := f.Result(ctx)
			cancel()
			if werr := <-done; werr != nil || err != nil || v != 4 {
				t.Fatalf("result %d, %v; worker %v", v, err, werr)
			}
			bad, err := NewWorker(testReg, WithURL(ex.URL()), tc.bad)
			if err != nil {
				t.Fatal(err)
			}
			if err := bad.Run(ctx); !errors.Is(err, ErrAuth) {
				t.Fatalf("bad credentials: %v, want ErrAuth", err)
			}
		})
	}
}
