package gateway

import (
	"context"
	"net/http"
	"strings"
)

// Role is a permission on top of a bureau's key.
type Role string

const (
	// RoleOffice is the leading group's office (领导小组办公室) and the joint meeting.
	RoleOffice Role = "office"
	// RoleAdmin administers the hub.
	RoleAdmin Role = "admin"
)

// Principal is who a key belongs to.
type Principal struct {
	Bureau string `json:"bureau"`
	Roles  []Role `json:"roles,omitempty"`
}

// Keys resolves bearer keys. Lookup is safe for concurrent use and cheap enough to run on every
// request; it never returns the key itself or its hash.
type Keys interface {
	Lookup(ctx context.Context, key string) (Principal, bool)
}

type principalKey struct{}

func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// authenticate requires a valid bureau key.
func (s *Server) authenticate(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(key) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fangxin"`)
			writeProblem(w, r, problem(http.StatusUnauthorized, "unauthorized", "缺少访问密钥",
				"Missing bearer key", "请在 Authorization 请求头中提供本单位的访问密钥：Bearer <密钥>。",
				FieldError{Field: "Authorization", Rule: "required", Detail: "缺少 Bearer 密钥", DetailEN: "a bearer key is required"}))
			return
		}
		p, ok := s.keys.Lookup(r.Context(), strings.TrimSpace(key))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fangxin", error="invalid_token"`)
			writeProblem(w, r, problem(http.StatusUnauthorized, "unauthorized", "访问密钥无效",
				"Invalid bearer key", "该密钥不存在或已被吊销，请联系管理员重新生成。",
				FieldError{Field: "Authorization", Rule: "valid-key", Detail: "密钥无效", DetailEN: "the key is unknown or revoked"}))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}
