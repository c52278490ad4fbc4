// Command kubelet-streams serves the kubelet's streaming endpoints (exec, attach, port-forward) for the
// pods that kwok runs, and hands every other kubelet request (logs, stats, health) on to kwok.
//
// kwok v0.8.0 already serves exec and port-forward, but two of its behaviours make it unfit for a client's
// streaming tests: it never closes a command's stdin when the client half-closes it (so `cat` never
// returns), and it wraps a command's exit error so the API server reports an internal error instead of
// the exit code. This program uses the kubelet's own streaming library (k8s.io/cri-streaming), which
// speaks SPDY and WebSocket exactly as a kubelet does, and runs the commands on this machine:
//
//   - exec runs the command in --workdir with stdin, stdout, stderr and an optional TTY; stdin EOF
//     closes the command's stdin; a non-zero exit is reported as NonZeroExitCode with the code;
//   - attach connects to the container's main process, a `cat` started on first attach and kept for
//     the life of this program, so what one client writes comes back on its stdout;
//   - port-forward dials 127.0.0.1:<port>, as if the pod's IP were this machine's loopback.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// The kubelet's defaults: connections may sit idle for hours (a `kubectl logs -f` or an interactive
// shell), and the client has 30s to open its streams.
const (
	idleTimeout           = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

func main() {
	listen := flag.String("listen", "127.0.0.1:10250", "address to serve the kubelet API on")
	certFile := flag.String("tls-cert-file", "", "serving certificate")
	keyFile := flag.String("tls-private-key-file", "", "serving key")
	caFile := flag.String("ca-file", "", "CA that signed kwok's serving certificate")
	kwok := flag.String("kwok", "", "kwok's kubelet endpoint, e.g. https://127.0.0.1:10247")
	workDir := flag.String("workdir", ".", "folder in which exec runs commands")
	flag.Parse()

	kwokURL, err := url.Parse(*kwok)
	if err != nil || kwokURL.Host == "" {
		log.Fatalf("--kwok must be a URL, got %q", *kwok)
	}
	toKwok, err := kwokProxy(kwokURL, *caFile)
	if err != nil {
		log.Fatal(err)
	}
	node := &node{workDir: *workDir, consoles: map[string]*console{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/", node.serveExec)
	mux.HandleFunc("/attach/", node.serveAttach)
	mux.HandleFunc("/portForward/", node.servePortForward)
	mux.Handle("/", toKwok)
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	log.Printf("kubelet-streams: serving on https://%s, everything else goes to %s", *listen, kwokURL)
	log.Fatal(server.ListenAndServeTLS(*certFile, *keyFile))
}

func kwokProxy(target *url.URL, caFile string) (http.Handler, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no certificate", caFile)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	// Followed logs are a stream: pass every write on at once.
	proxy.FlushInterval = -1
	return proxy, nil
}

// podPath splits /{verb}/{namespace}/{pod}[/{uid}][/{container}] as the API server sends it. Exec and
// attach name a container (3 or 4 segments after the verb); port-forward does not (2 or 3).
func podPath(path string, withContainer bool) (pod, uid, container string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")[1:]
	switch {
	case withContainer && len(parts) == 3:
		return parts[0] + "/" + parts[1], "", parts[2], true
	case withContainer && len(parts) == 4:
		return parts[0] + "/" + parts[1], parts[2], parts[3], true
	case !withContainer && len(parts) == 2:
		return parts[0] + "/" + parts[1], "", "", true
	case !withContainer && len(parts) == 3:
		return parts[0] + "/" + parts[1], parts[2], "", true
	}
	return "", "", "", false
}

type node struct {
	workDir  string
	mu       sync.Mutex
	consoles map[string]*console
}

func (n *node) serveExec(w http.ResponseWriter, req *http.Request) {
	pod, uid, container, ok := podPath(req.URL.Path, true)
	if !ok {
		http.Error(w, "expected /exec/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	opts, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	command := req.URL.Query()["command"]
	if len(command) == 0 {
		http.Error(w, "no command", http.StatusBadRequest)
		return
	}
	remotecommand.ServeExec(w, req, n, pod, uid, container, command, opts, idleTimeout, streamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

// ExecInContainer runs cmd on this machine, wired to the client's streams.
func (n *node) ExecInContainer(ctx context.Context, pod, _ string, container string, cmd []string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = n.workDir
	c.Env = append(os.Environ(), "KLIENT_POD="+pod, "KLIENT_CONTAINER="+container)
	if tty {
		return runWithTTY(c, in, out, resize)
	}
	if in != nil {
		stdin, err := c.StdinPipe()
		if err != nil {
			return err
		}
		// The client's EOF becomes the command's EOF: that is what ends `cat`.
		go func() {
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	if out != nil {
		c.Stdout = out
	}
	if errOut != nil {
		c.Stderr = errOut
	}
	return exitCode(c.Run())
}

func runWithTTY(c *exec.Cmd, in io.Reader, out io.Writer, resize <-chan remotecommand.TerminalSize) error {
	terminal, err := pty.Start(c)
	if err != nil {
		return err
	}
	defer terminal.Close()
	go func() {
		for size := range resize {
			_ = pty.Setsize(terminal, &pty.Winsize{Rows: size.Height, Cols: size.Width})
		}
	}()
	if in != nil {
		go func() {
			_, _ = io.Copy(terminal, in)
			// A terminal has no half-close: end of input is the EOF character, as when typing Ctrl-D.
			_, _ = terminal.Write([]byte{4})
		}()
	}
	copied := make(chan struct{})
	go func() {
		if out != nil {
			_, _ = io.Copy(out, terminal)
		} else {
			_, _ = io.Copy(io.Discard, terminal)
		}
		close(copied)
	}()
	err = c.Wait()
	// Output the command wrote before exiting is still in the terminal; reading ends with EIO once drained.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return exitCode(err)
}

// exitCode turns a process's non-zero exit into the error type the streaming library reports as
// NonZeroExitCode with the code; anything else (a signal, a failure to start) stays an internal error.
func exitCode(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		return utilexec.CodeExitError{Err: err, Code: exitErr.ExitCode()}
	}
	return err
}

func (n *node) serveAttach(w http.ResponseWriter, req *http.Request) {
	pod, uid, container, ok := podPath(req.URL.Path, true)
	if !ok {
		http.Error(w, "expected /attach/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	opts, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	remotecommand.ServeAttach(w, req, n, pod, uid, container, opts, idleTimeout, streamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

// console is a container's main process: a `cat` whose output goes to every attached client.
type console struct {
	stdin io.WriteCloser
	mu    sync.Mutex
	outs  map[io.Writer]struct{}
}

func (n *node) console(key string) (*console, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.consoles[key]; ok {
		return c, nil
	}
	cmd := exec.Command("cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &console{stdin: stdin, outs: map[io.Writer]struct{}{}}
	go func() {
		buf := make([]byte, 32*1024)
		for {
			k, err := stdout.Read(buf)
			c.mu.Lock()
			for w := range c.outs {
				_, _ = w.Write(buf[:k])
			}
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	n.consoles[key] = c
	return c, nil
}

// AttachContainer connects the client to the container's main process until the client goes away.
func (n *node) AttachContainer(ctx context.Context, pod, _ string, container string, in io.Reader,
	out, _ io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize) error {
	c, err := n.console(pod + "/" + container)
	if err != nil {
		return err
	}
	if out != nil {
		c.mu.Lock()
		c.outs[out] = struct{}{}
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.outs, out)
			c.mu.Unlock()
		}()
	}
	if in != nil {
		// Like a kubelet without stdinOnce: the client closing its stdin detaches it; the
		// container's own stdin stays open for the next client.
		_, _ = io.Copy(c.stdin, in)
		return nil
	}
	<-ctx.Done()
	return nil
}

func (n *node) servePortForward(w http.ResponseWriter, req *http.Request) {
	pod, uid, _, ok := podPath(req.URL.Path, false)
	if !ok {
		http.Error(w, "expected /portForward/{namespace}/{pod}", http.StatusBadRequest)
		return
	}
	opts, err := portforward.NewV4Options(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(w, req, n, pod, uid, opts, idleTimeout, streamCreationTimeout,
		portforward.SupportedProtocols)
}

// PortForward copies between the client's stream and 127.0.0.1:port until both directions end.
func (n *node) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer conn.Close()
	tcp := conn.(*net.TCPConn)
	sent := make(chan struct{})
	go func() {
		_, _ = io.Copy(tcp, stream)
		// The client finished sending: pass the half-close on so the service sees EOF.
		_ = tcp.CloseWrite()
		close(sent)
	}()
	_, err = io.Copy(stream, tcp)
	<-sent
	return err
}
