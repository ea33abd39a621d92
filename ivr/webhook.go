package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxWebhookBody bounds what a webhook's answer may be: a CRM record, not
// a download.
const maxWebhookBody = 1 << 20

// webhook runs a webhook node: the request, then its JSON answer into
// variables. Any failure (transport, timeout, a status other than 2xx, an
// answer that is not JSON) goes to on_error, logged.
func (r *run) webhook(ctx context.Context, n *Node) (step, error) {
	w := n.Webhook
	vars, err := r.callWebhook(ctx, w)
	if err != nil {
		if ctx.Err() != nil {
			return step{}, ctx.Err()
		}
		r.log.Warn("webhook failed", "node", n.ID, "error", err, "next", w.OnError.Node)
		return step{next: w.OnError.Node}, nil
	}
	for k, v := range vars {
		r.vars[k] = v
	}
	r.log.Info("webhook", "node", n.ID, "vars", len(vars))
	return step{next: n.Next.Node}, nil
}

func (r *run) callWebhook(ctx context.Context, w *Webhook) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	u := expand(w.URL, r.vars, url.QueryEscape)
	var body io.Reader
	if w.Method == "POST" {
		body = strings.NewReader(expand(w.Body, r.vars, jsonEscape))
	}
	req, err := http.NewRequestWithContext(ctx, w.Method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range w.Headers {
		req.Header.Set(k, expand(v, r.vars, nil))
	}
	res, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxWebhookBody))
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("%s %s: status %d", w.Method, req.URL.Redacted(), res.StatusCode)
	}
	var doc any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s %s: the answer is not JSON: %v", w.Method, req.URL.Redacted(), err)
		}
	}
	out := map[string]string{}
	for _, a := range w.Set {
		out[a.Name] = jsonPath(doc, a.Value)
	}
	return out, nil
}

// jsonPath looks up a dotted path ("customer.name", "items.0.id") and
// returns the value as text; "" when it is not there.
func jsonPath(doc any, path string) string {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			cur = v[i]
		default:
			return ""
		}
	}
	switch v := cur.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// jsonEscape quotes a value for use inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
