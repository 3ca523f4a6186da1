package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"go.uber.org/zap"
)

// natsOptions returns the client options for cfg's credentials and TLS.
func natsOptions(cfg *config, role string) ([]nats.Option, error) {
	log := cfg.logger
	opts := []nats.Option{
		nats.Name(cfg.name + "-" + role),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // our own Close
			}
			// err is nil when the server closed the connection cleanly
			// (a restart): still a lost server, and worth a warning.
			log.Warn("lost the connection to NATS; reconnecting (published messages are buffered meanwhile)",
				zap.String("role", role), zap.Error(err))
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Debug("reconnect attempt failed", zap.String("role", role), zap.Error(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", zap.String("url", nc.ConnectedUrl())) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS error", zap.String("subject", subj), zap.Error(err))
		}),
	}
	switch {
	case cfg.token != "":
		opts = append(opts, nats.Token(cfg.token))
	case cfg.user != "":
		opts = append(opts, nats.UserInfo(cfg.user, cfg.password))
	case cfg.nkeySeed != "":
		kp, err := nkeys.FromSeed([]byte(cfg.nkeySeed))
		if err != nil {
			return nil, fmt.Errorf("cluster: bad nkey seed: %w", err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("cluster: bad nkey seed: %w", err)
		}
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	}
	if cfg.tls != nil {
		opts = append(opts, nats.Secure(cfg.tls.Clone()))
	}
	return opts, nil
}

// connect dials url with cfg's options. A refusal of the credentials or of
// TLS is reported as ErrAuth, with the identity offered and the server's
// words.
func connect(cfg *config, url, role string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := natsOptions(cfg, role)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		if isAuthErr(err) {
			return nil, fmt.Errorf("%w: %s at %s with %s: %w%s", ErrAuth, role, redact(url), offered(cfg), err, authHint(err))
		}
		return nil, fmt.Errorf("cluster: %s cannot connect to %s: %w", role, redact(url), err)
	}
	return nc, nil
}

// authErrs are the errors of nats.go that mean the server did not accept
// the identity offered, or that client and server disagree on how to prove
// it (nkeys, TLS).
var authErrs = []error{
	nats.ErrAuthorization,      // wrong token, user/password or nkey; or none offered
	nats.ErrAuthExpired,        // credentials that expired
	nats.ErrAuthRevoked,        // credentials that were revoked
	nats.ErrAccountAuthExpired, // an account that expired
	nats.ErrNkeysNotSupported,  // an nkey offered to a server that asks for none
	nats.ErrNoUserCB,           // a server that asks for a user JWT we do not have
	nats.ErrUserButNoSigCB,     // a user JWT without a key to sign the challenge
	nats.ErrNkeyButNoSigCB,     // an nkey without a key to sign the challenge
	nats.ErrSecureConnRequired, // the server requires TLS, the client does not offer it
	nats.ErrSecureConnWanted,   // TLS configured, the server does not offer it
	nats.ErrTLS,                // the TLS handshake failed (certificate refused either way)
}

// isAuthErr reports whether err, from nats.Connect, is a refusal of the
// identity offered (see authErrs). Errors that nats.go has no sentinel for
// are matched by their words: a TLS alert from the server ("remote error:
// tls: ...") and certificate verification failures.
func isAuthErr(err error) bool {
	for _, target := range authErrs {
		if errors.Is(err, target) {
			return true
		}
	}
	var (
		verr  *tls.CertificateVerificationError
		uaerr x509.UnknownAuthorityError
		herr  x509.HostnameError
		cerr  x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &uaerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "remote error: tls:") || strings.Contains(s, "x509:") ||
		strings.Contains(s, "secure connection - tls required")
}

// offered describes the identity cfg offers, without secrets.
func offered(cfg *config) string {
	var id string
	switch {
	case cfg.token != "":
		id = "a token"
	case cfg.user != "":
		id = fmt.Sprintf("user %q and a password", cfg.user)
	case cfg.nkeySeed != "":
		id = "an nkey"
		if kp, err := nkeys.FromSeed([]byte(cfg.nkeySeed)); err == nil {
			if pub, err := kp.PublicKey(); err == nil {
				id = "nkey " + pub
			}
		}
	default:
		id = "no credentials"
	}
	if cfg.tls != nil {
		id += ", over TLS"
	}
	return id
}

// authHint explains the refusals whose nats.go words do not say what to change.
func authHint(err error) string {
	switch {
	case errors.Is(err, nats.ErrNkeysNotSupported):
		return " (the server does not take nkeys: it expects a token, a user and password, or nothing)"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return " (WithTLS was given, but the server does not offer TLS)"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return " (the server requires TLS: use WithTLS)"
	}
	return ""
}

// redact hides credentials written into a URL.
func redact(url string) string {
	if i := strings.Index(url, "@"); i >= 0 {
		if j := strings.Index(url, "://"); j >= 0 && j < i {
			return url[:j+3] + "***" + url[i:]
		}
		return "***" + url[i:]
	}
	return url
}

// randomToken returns 32 random hex digits.
func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
