package centre

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

func TestStartDemoKey(t *testing.T) {
	tests := []struct {
		name    string
		cfg     DemoConfig
		wantErr bool
	}{
		{name: "clear text", cfg: DemoConfig{}},
		{name: "hex key", cfg: DemoConfig{Key: "000102030405060708090A0B0C0D0E0F", KeyEncoding: "hex"}},
		{name: "unknown encoding", cfg: DemoConfig{Key: "0001", KeyEncoding: "rot13"}, wantErr: true},
		{name: "bad key", cfg: DemoConfig{Key: "not hex", KeyEncoding: "hex"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d, err := StartDemo(ctx, tt.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("StartDemo: err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			cancel()
			<-done
		})
	}
}
