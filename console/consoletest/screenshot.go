package consoletest

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// Screenshot saves the viewport as file (recompressed PNG) in the directory dir
// returns when the action runs, once the page's images and fonts are in.
func Screenshot(dir func() string, file string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// wait for images (the snapshot) and fonts, by signal rather than by time
		if _, err := chromedp.Poll[bool](`[...document.images].every(i => i.complete) && document.fonts.status === "loaded"`)(ctx, t); err != nil {
			return err
		}
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
			return err
		}
		if err := os.MkdirAll(dir(), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir(), file), out.Bytes(), 0o644)
	})
}
