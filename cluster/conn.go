package cluster

import (
	"crypto/rand"
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
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS", zap.Error(err))
			}
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
// TLS is reported as ErrAuth, with the server's words.
func connect(cfg *config, url, role string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := natsOptions(cfg, role)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		if isAuthErr(err) {
			return nil, fmt.Errorf("%w: %s at %s: %w", ErrAuth, role, redact(url), err)
		}
		return nil, fmt.Errorf("cluster: %s cannot connect to %s: %w", role, redact(url), err)
	}
	return nc, nil
}

func isAuthErr(err error) bool {
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "authorization") || strings.Contains(s, "authentication") ||
		strings.Contains(s, "tls") || strings.Contains(s, "certificate")
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
