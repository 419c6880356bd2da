// Command dp-harness benchmarks kubelet device plugins side by side. It plays
// kubelet's part with the upstream client and server types of
// k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1: it serves the Registration
// service on <dir>/kubelet.sock, and for every Register it dials the plugin's
// socket, asks GetDevicePluginOptions and opens ListAndWatch, as kubelet's
// device manager does. It measures
//
//   - lists: per plugin start, the time to each Register, the time from
//     Register to the first ListAndWatch message, that message's size and
//     device count, the plugin's resident memory; then the time to
//     re-register and re-list after simulated kubelet restarts (every socket
//     in the directory removed, kubelet.sock served again);
//   - allocate: Allocate latency for several plugins started together, each
//     in its own directory, called in interleaved batches so all see the same
//     machine load.
//
// Usage: dp-harness -config FILE. The config is JSON (see config below);
// results are JSON on stdout, progress on stderr. Test tooling only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

type pluginSpec struct {
	Name    string   `json:"name"`
	Dir     string   `json:"dir"`
	Command []string `json:"command"`
	// Resources that must register and list before the plugin counts as ready.
	Resources []string `json:"resources"`
}

type listRun struct {
	Label    string     `json:"label"`
	Plugin   pluginSpec `json:"plugin"`
	Restarts int        `json:"restarts"`
}

type allocatePlugin struct {
	pluginSpec
	Resource string `json:"resource"`
}

type allocateRun struct {
	Calls   int              `json:"calls"`
	Devices int              `json:"devices"`
	Warmup  int              `json:"warmup"`
	Batch   int              `json:"batch"`
	Plugins []allocatePlugin `json:"plugins"`
}

type config struct {
	ReadyTimeoutSeconds int          `json:"readyTimeoutSeconds"`
	Lists               []listRun    `json:"lists"`
	Allocate            *allocateRun `json:"allocate"`
}

type resourceResult struct {
	Resource string `json:"resource"`
	// From process start to the Register call arriving.
	RegisterMs float64 `json:"registerMs"`
	// From Register to the first ListAndWatch message fully received.
	FirstListMs float64 `json:"firstListMs"`
	ListBytes   int     `json:"listBytes"`
	Devices     int     `json:"devices"`
	Healthy     int     `json:"healthy"`
	ListError   string  `json:"listError,omitempty"`
}

type listResult struct {
	Label     string           `json:"label"`
	Plugin    string           `json:"plugin"`
	Resources []resourceResult `json:"resources"`
	// Resident memory once every resource listed.
	RSSBytes int64 `json:"rssBytes"`
	// Per restart: kubelet.sock back to every resource re-registered and re-listed.
	RestartMs []float64 `json:"restartMs"`
	// Restarts after which the plugin did not re-register within the timeout (the run stops restarting it).
	RestartMissed int    `json:"restartMissed"`
	RestartError  string `json:"restartError,omitempty"`
}

type allocateResult struct {
	Plugin        string  `json:"plugin"`
	Resource      string  `json:"resource"`
	Calls         int     `json:"calls"`
	Devices       int     `json:"devices"`
	P50Ms         float64 `json:"p50Ms"`
	P90Ms         float64 `json:"p90Ms"`
	P99Ms         float64 `json:"p99Ms"`
	MaxMs         float64 `json:"maxMs"`
	MeanMs        float64 `json:"meanMs"`
	ResponseBytes int     `json:"responseBytes"`
	RSSBytes      int64   `json:"rssBytes"`
	// Plugin process CPU time (user+system, all threads) per measured call.
	CPUMsPerCall float64 `json:"cpuMsPerCall"`
}

type results struct {
	Lists    []listResult     `json:"lists"`
	Allocate []allocateResult `json:"allocate"`
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dp-harness: "+format+"\n", args...)
}

// ---- kubelet stand-in ----

type endpoint struct {
	resource     string
	registeredAt time.Time
	conn         *grpc.ClientConn
	client       pluginapi.DevicePluginClient
	firstListAt  time.Time
	listBytes    int
	devices      []*pluginapi.Device
	listErr      error
}

type kubelet struct {
	pluginapi.UnimplementedRegistrationServer
	dir string

	mu        sync.Mutex
	server    *grpc.Server
	endpoints map[string]*endpoint
	changed   chan struct{}
}

func newKubelet(dir string) *kubelet {
	return &kubelet{dir: dir, endpoints: map[string]*endpoint{}, changed: make(chan struct{}, 1)}
}

func (k *kubelet) socket() string { return filepath.Join(k.dir, "kubelet.sock") }

func (k *kubelet) notify() {
	select {
	case k.changed <- struct{}{}:
	default:
	}
}

// start removes every socket in the directory (as kubelet's registration
// server does on start, the signal for plugins to re-register) and serves
// Registration on kubelet.sock.
func (k *kubelet) start() error {
	if err := os.MkdirAll(k.dir, 0o750); err != nil {
		return err
	}
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type()&os.ModeSocket != 0 {
			_ = os.Remove(filepath.Join(k.dir, e.Name()))
		}
	}
	lis, err := net.Listen("unix", k.socket())
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(s, k)
	k.mu.Lock()
	k.server = s
	k.endpoints = map[string]*endpoint{}
	k.mu.Unlock()
	go func() { _ = s.Serve(lis) }()
	return nil
}

func (k *kubelet) stop() {
	k.mu.Lock()
	s := k.server
	eps := k.endpoints
	k.server = nil
	k.endpoints = map[string]*endpoint{}
	k.mu.Unlock()
	if s != nil {
		s.Stop()
	}
	for _, ep := range eps {
		_ = ep.conn.Close()
	}
}

// Register follows kubelet's device manager: validate, connect to the
// plugin's socket synchronously, then keep a ListAndWatch stream open.
func (k *kubelet) Register(ctx context.Context, r *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	now := time.Now()
	if r.Version != pluginapi.Version {
		return nil, fmt.Errorf("unsupported device plugin API version %q", r.Version)
	}
	conn, err := grpc.NewClient("unix:"+filepath.Join(k.dir, r.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client := pluginapi.NewDevicePluginClient(conn)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.GetDevicePluginOptions(cctx, &pluginapi.Empty{}, grpc.WaitForReady(true)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("cannot connect to %s: %w", r.Endpoint, err)
	}
	ep := &endpoint{resource: r.ResourceName, registeredAt: now, conn: conn, client: client}
	k.mu.Lock()
	if old := k.endpoints[r.ResourceName]; old != nil {
		_ = old.conn.Close()
	}
	k.endpoints[r.ResourceName] = ep
	k.mu.Unlock()
	go k.listAndWatch(ep)
	return &pluginapi.Empty{}, nil
}

func (k *kubelet) listAndWatch(ep *endpoint) {
	stream, err := ep.client.ListAndWatch(context.Background(), &pluginapi.Empty{})
	for err == nil {
		var msg *pluginapi.ListAndWatchResponse
		msg, err = stream.Recv()
		if err != nil {
			break
		}
		k.mu.Lock()
		if ep.firstListAt.IsZero() {
			ep.firstListAt = time.Now()
		}
		ep.listBytes = proto.Size(msg)
		ep.devices = msg.Devices
		k.mu.Unlock()
		k.notify()
	}
	k.mu.Lock()
	if ep.firstListAt.IsZero() {
		ep.listErr = err
	}
	k.mu.Unlock()
	k.notify()
}

// waitListed waits until every resource registered and listed (or failed to).
func (k *kubelet) waitListed(resources []string, deadline time.Time) (map[string]endpoint, error) {
	for {
		k.mu.Lock()
		out := map[string]endpoint{}
		for _, r := range resources {
			if ep := k.endpoints[r]; ep != nil && (!ep.firstListAt.IsZero() || ep.listErr != nil) {
				out[r] = *ep
			}
		}
		k.mu.Unlock()
		if len(out) == len(resources) {
			return out, nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, fmt.Errorf("resources %v not all registered and listed in time (got %d)", resources, len(out))
		}
		select {
		case <-k.changed:
		case <-time.After(min(wait, 50*time.Millisecond)):
		}
	}
}

func (k *kubelet) endpoint(resource string) *endpoint {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.endpoints[resource]
}

// ---- plugin processes ----

// tail keeps the last bytes a process wrote, for diagnostics.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = t.buf[len(t.buf)-8192:]
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

type plugin struct {
	spec    pluginSpec
	cmd     *exec.Cmd
	output  *tail
	started time.Time
	exited  chan struct{}
}

func startPlugin(spec pluginSpec) (*plugin, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("plugin " + spec.Name + " has no command")
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	out := &tail{}
	// Output goes through pipes that are drained, as a container runtime's log pipe would.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &plugin{spec: spec, cmd: cmd, output: out, exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *plugin) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *plugin) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cpuTime is the process's user+system time (all threads) from /proc/<pid>/stat.
func (p *plugin) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on every Linux ABI Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss reads VmRSS of the plugin process (unshare and sh exec into the plugin, so the pid is the plugin's).
func (p *plugin) rss() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

type running struct {
	plugin  *plugin
	kubelet *kubelet
	ready   map[string]endpoint
}

func launch(spec pluginSpec, timeout time.Duration) (*running, error) {
	k := newKubelet(spec.Dir)
	if err := k.start(); err != nil {
		return nil, fmt.Errorf("kubelet stand-in for %s: %w", spec.Name, err)
	}
	p, err := startPlugin(spec)
	if err != nil {
		k.stop()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-p.exited:
			k.notify()
		case <-done:
		}
	}()
	ready, err := k.waitListed(spec.Resources, time.Now().Add(timeout))
	close(done)
	if err == nil && !p.alive() {
		err = errors.New("exited")
	}
	if err != nil {
		p.stop()
		k.stop()
		return nil, fmt.Errorf("%s: %w\n--- output (tail) ---\n%s", spec.Name, err, p.output.String())
	}
	return &running{plugin: p, kubelet: k, ready: ready}, nil
}

func (r *running) close() {
	r.plugin.stop()
	r.kubelet.stop()
}

func resourceResults(r *running) []resourceResult {
	var out []resourceResult
	for _, name := range r.plugin.spec.Resources {
		ep := r.ready[name]
		rr := resourceResult{
			Resource:    name,
			RegisterMs:  ms(ep.registeredAt.Sub(r.plugin.started)),
			FirstListMs: ms(ep.firstListAt.Sub(ep.registeredAt)),
			ListBytes:   ep.listBytes,
			Devices:     len(ep.devices),
		}
		for _, d := range ep.devices {
			if d.Health == pluginapi.Healthy {
				rr.Healthy++
			}
		}
		if ep.listErr != nil {
			rr.ListError = ep.listErr.Error()
			rr.FirstListMs = 0
		}
		out = append(out, rr)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// How long a plugin gets to re-register after a simulated kubelet restart before it counts as missed.
const restartTimeout = 30 * time.Second

func runList(run listRun, timeout time.Duration) (listResult, error) {
	logf("list: %s (%s)", run.Label, run.Plugin.Name)
	r, err := launch(run.Plugin, timeout)
	if err != nil {
		return listResult{}, err
	}
	defer r.close()
	res := listResult{Label: run.Label, Plugin: run.Plugin.Name, Resources: resourceResults(r), RSSBytes: r.plugin.rss()}
	for i := 0; i < run.Restarts; i++ {
		// Kubelet restarts are seconds apart; back-to-back restarts within milliseconds of a
		// registration would only test a plugin's window between Register and watching its socket.
		time.Sleep(time.Second)
		r.kubelet.stop()
		if err := r.kubelet.start(); err != nil {
			return res, err
		}
		t0 := time.Now()
		_, err := r.kubelet.waitListed(run.Plugin.Resources, t0.Add(restartTimeout))
		if err == nil && !r.plugin.alive() {
			err = errors.New("plugin exited")
		}
		if err != nil {
			res.RestartMissed++
			res.RestartError = fmt.Sprintf("restart %d: %v", i+1, err)
			logf("%s: %s", run.Label, res.RestartError)
			break
		}
		res.RestartMs = append(res.RestartMs, ms(time.Since(t0)))
	}
	return res, nil
}

func percentile(sorted []float64, p float64) float64 {
	i := int(p / 100 * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func runAllocate(a *allocateRun, timeout time.Duration) ([]allocateResult, error) {
	type target struct {
		spec     allocatePlugin
		run      *running
		client   pluginapi.DevicePluginClient
		request  *pluginapi.AllocateRequest
		samples  []float64
		respSize int
		cpu      time.Duration
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.run.close()
		}
	}()
	for _, spec := range a.Plugins {
		logf("allocate: starting %s", spec.Name)
		r, err := launch(spec.pluginSpec, timeout)
		if err != nil {
			return nil, err
		}
		t := &target{spec: spec, run: r}
		targets = append(targets, t)
		ep := r.kubelet.endpoint(spec.Resource)
		if ep == nil {
			return nil, fmt.Errorf("%s did not register %s", spec.Name, spec.Resource)
		}
		var ids []string
		for _, d := range ep.devices {
			if d.Health == pluginapi.Healthy && len(ids) < a.Devices {
				ids = append(ids, d.ID)
			}
		}
		if len(ids) < a.Devices {
			return nil, fmt.Errorf("%s advertises only %d healthy %s devices, %d needed", spec.Name, len(ids), spec.Resource, a.Devices)
		}
		t.client = ep.client
		t.request = &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: ids}}}
	}
	call := func(t *target) (float64, error) {
		// No deadline, as kubelet's device manager calls Allocate.
		t0 := time.Now()
		resp, err := t.client.Allocate(context.Background(), t.request)
		d := time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("%s Allocate: %w", t.spec.Name, err)
		}
		if len(resp.ContainerResponses) != 1 || len(resp.ContainerResponses[0].Devices) == 0 {
			return 0, fmt.Errorf("%s Allocate returned no device specs: %v", t.spec.Name, resp)
		}
		t.respSize = proto.Size(resp)
		return float64(d.Nanoseconds()) / 1e6, nil
	}
	for _, t := range targets {
		for i := 0; i < a.Warmup; i++ {
			if _, err := call(t); err != nil {
				return nil, err
			}
		}
	}
	logf("allocate: %d calls x %d devices per plugin, interleaved batches of %d", a.Calls, a.Devices, a.Batch)
	for done := 0; done < a.Calls; done += a.Batch {
		for _, t := range targets {
			c0 := t.run.plugin.cpuTime()
			for i := 0; i < a.Batch && done+i < a.Calls; i++ {
				v, err := call(t)
				if err != nil {
					return nil, err
				}
				t.samples = append(t.samples, v)
			}
			t.cpu += t.run.plugin.cpuTime() - c0
		}
	}
	var out []allocateResult
	for _, t := range targets {
		s := append([]float64(nil), t.samples...)
		sort.Float64s(s)
		sum := 0.0
		for _, v := range s {
			sum += v
		}
		out = append(out, allocateResult{
			Plugin: t.spec.Name, Resource: t.spec.Resource, Calls: len(s), Devices: a.Devices,
			P50Ms: percentile(s, 50), P90Ms: percentile(s, 90), P99Ms: percentile(s, 99), MaxMs: s[len(s)-1], MeanMs: sum / float64(len(s)),
			ResponseBytes: t.respSize, RSSBytes: t.run.plugin.rss(), CPUMsPerCall: ms(t.cpu) / float64(len(s)),
		})
	}
	return out, nil
}

func main() {
	configPath := flag.String("config", "", "JSON config file")
	flag.Parse()
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "usage: dp-harness -config FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cfg config
	if err := json.Unmarshal(data, &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "config %s: %v\n", *configPath, err)
		os.Exit(2)
	}
	timeout := time.Duration(max(cfg.ReadyTimeoutSeconds, 10)) * time.Second
	var res results
	for _, run := range cfg.Lists {
		r, err := runList(run, timeout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dp-harness:", err)
			os.Exit(1)
		}
		res.Lists = append(res.Lists, r)
	}
	if cfg.Allocate != nil {
		r, err := runAllocate(cfg.Allocate, timeout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dp-harness:", err)
			os.Exit(1)
		}
		res.Allocate = r
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
