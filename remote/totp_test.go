package remote

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestPasswordGrantTOTP signs in to a realm with two-factor sign-in: with the base32
// secret (a code made per sign-in, so a later sign-in works too), with a one-time code,
// and refused without one, with the server's own message.
func TestPasswordGrantTOTP(t *testing.T) {
	t.Parallel()
	const secret = "JBSWY3DPEHPK3PXP"
	c := fakestac.NewCDSE(fakestac.CDSEOptions{TOTPSecret: secret})
	defer c.Close()
	base := AuthConfig{Type: AuthPassword, TokenURL: c.TokenURL, ClientID: fakestac.CDSEClientID,
		Username: c.Username, Password: c.Password}
	ctx := context.Background()

	withSecret := base
	withSecret.TOTP = secret
	tokens, err := NewTokens(withSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Token(ctx); err != nil {
		t.Fatalf("sign-in with the TOTP secret: %v", err)
	}

	code, err := totpCode(secret, time.Now())
	if err != nil || len(code) != 6 {
		t.Fatalf("totpCode = %q, %v", code, err)
	}
	withCode := base
	withCode.TOTP = code
	tokens, _ = NewTokens(withCode, nil)
	if _, err := tokens.Token(ctx); err != nil {
		t.Fatalf("sign-in with a one-time code: %v", err)
	}

	tokens, _ = NewTokens(base, nil)
	_, err = tokens.Token(ctx)
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" || !errors.Is(err, ErrDenied) {
		t.Fatalf("sign-in without a code: %v, want invalid_grant", err)
	}
	if c.Token.Granted("password") != 2 {
		t.Errorf("%d password grants, want 2", c.Token.Granted("password"))
	}
}

func TestTOTPCodeInput(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"123456", "123456", false},
		{" 12345678 ", "12345678", false},
		{"not base32!", "", true},
	} {
		got, err := totpCode(tc.in, time.Unix(59, 0))
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("totpCode(%q) = %q, %v", tc.in, got, err)
		}
	}
	// RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
	if got, _ := totpCode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", time.Unix(59, 0)); got != "287082" {
		t.Errorf("RFC 6238 vector: %q, want 287082", got)
	}
}
