package consoletest

import (
	"context"

	"github.com/chromedp/chromedp"
)

// Store runs a and keeps its result in dst.
func Store[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := a(ctx, t)
		*dst = v
		return err
	})
}

// Until waits until a JavaScript expression is true in the page (it is re-evaluated
// on every animation frame: a signal, not a sleep).
func Until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return err
	})
}
