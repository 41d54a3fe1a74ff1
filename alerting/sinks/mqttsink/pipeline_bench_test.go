package mqttsink_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// timedSink records when the inner sink's Deliver returned: for this sink, when
// Mosquitto's PUBACK arrived.
type timedSink struct {
	alerting.Sink
	acked chan keyAt
}

type keyAt struct {
	key string
	at  time.Time
}

func (s *timedSink) Deliver(ctx context.Context, n alerting.Notification) error {
	err := s.Sink.Deliver(ctx, n)
	if err == nil && n.Transition == alerting.Fired {
		s.acked <- keyAt{n.Alarm.Key, time.Now()}
	}
	return err
}

// BenchmarkRuleFireToMosquitto: a rule trigger → alerting → journal commit
// (bbolt fsync) → MQTT sink publish acknowledged by a real Mosquitto, at a steady 200
// alarms/s. Reports p50/p99 of the commit and of the broker's acknowledgement.
func BenchmarkRuleFireToMosquitto(b *testing.B) {
	url := mqttsink.Broker(b)
	client := mqttsink.ConnectClient(b, url, "bench-sink")
	inner, err := mqttsink.New(mqttsink.Config{Name: "staff", TopicPrefix: "bench/" + strconv.FormatInt(time.Now().UnixNano(), 36)}, client, mqttsink.Options{Logger: mqttsink.Quiet})
	if err != nil {
		b.Fatal(err)
	}
	sink := &timedSink{Sink: inner, acked: make(chan keyAt, b.N+1)}
	s := &site.Site{ID: "bench"}
	dir := site.NewDirectory(s, []site.Device{{ID: "cam", Kind: event.KindKitchenCamera}})
	m, _ := startAlerting(b, dir, sink)
	ctx := context.Background()

	starts := make([]time.Time, b.N)
	commits := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond) // 200 alarms/s
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		starts[i] = time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := alerting.Trigger{Rule: "bench", Key: strconv.Itoa(i), Firing: true, Severity: alerting.Major, DeviceID: "cam", Message: "bench"}
			if err := m.Handle(ctx, t); err != nil {
				b.Error(err)
			}
			commits[i] = time.Since(starts[i])
		}()
	}
	acks := make([]time.Duration, 0, b.N)
	for range b.N {
		a := <-sink.acked
		i, _ := strconv.Atoi(a.key)
		acks = append(acks, a.at.Sub(starts[i]))
	}
	wg.Wait()
	b.StopTimer()
	q := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(q(commits, 0.5), "commit-p50-ms")
	b.ReportMetric(q(commits, 0.99), "commit-p99-ms")
	b.ReportMetric(q(acks, 0.5), "puback-p50-ms")
	b.ReportMetric(q(acks, 0.99), "puback-p99-ms")
}
